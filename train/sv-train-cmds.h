/* svilm-train: the subcommands and what they share.
 *
 * A subcommand is `int sv_train_cmd_NAME (int argc, char **argv)`, called with argv[0] the
 * command's name; it returns the process exit status: 0 on success, 1 when the work failed,
 * 2 for a usage error.  Add it to the table in svilm-train.c and its sources to
 * train/meson.build.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SV_TRAIN_EXIT_FAILURE 1
#define SV_TRAIN_EXIT_USAGE 2

/* Parses a subcommand's options.  On a usage error prints "svilm-train CMD: message" and a
 * hint to stderr and returns SV_TRAIN_EXIT_USAGE; otherwise returns 0 and leaves the
 * positional arguments in argv[1..*argc). */
int sv_train_parse_options (GOptionContext *ctx, int *argc, char ***argv);

/* Prints "svilm-train CMD: message" (formatted) to stderr and returns code. */
int sv_train_fail (const char *cmd, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

int sv_train_cmd_synth (int argc, char **argv);
int sv_train_cmd_nouns (int argc, char **argv);
int sv_train_cmd_eval (int argc, char **argv);
int sv_train_cmd_tokenizer (int argc, char **argv);
int sv_train_cmd_plot (int argc, char **argv);
int sv_train_cmd_extract (int argc, char **argv);
int sv_train_cmd_scenehead (int argc, char **argv);

G_END_DECLS
