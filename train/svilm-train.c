/* svilm-train: training, evaluation and data tools for svilm models.
 *
 *   svilm-train COMMAND [OPTION...]
 *
 * Each command parses its own options (GOptionContext); see `svilm-train --help`.
 */
#include "config.h"
#include "sv-backend.h"
#include "sv-train-cmds.h"
#include "pretrain.h"
#include "sv-nouns.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv);
} SvTrainCommand;

/* add new commands here (kept in the order `--help` lists them) */
static const SvTrainCommand commands[] = {
  { "synth", "Render a synthetic video-caption corpus with ground truth", sv_train_cmd_synth },
  { "nouns", "Print the noun phrases chosen from a caption", sv_train_cmd_nouns },
  { "pretrain", "Pre-train a model (cut-and-paste, grouping, grounding, contrastive)",
    sv_train_cmd_pretrain },
  { "tokenizer", "Learn the subword vocabulary of a manifest's captions", sv_train_cmd_tokenizer },
  { "eval", "Measure a model: retrieval, grounding (pointing game), scene cuts",
    sv_train_cmd_eval },
  { "scenehead", "Train a model's scene head on a corpus with known transitions",
    sv_train_cmd_scenehead },
  { "extract", "Write per-snippet clip features for G-TAD (temporal action localisation)",
    sv_train_cmd_extract },
  { "plot", "Draw the loss and metric curves of a training run to a PNG", sv_train_cmd_plot },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage:\n  svilm-train COMMAND [OPTION...]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'svilm-train COMMAND --help' for the options of a command.\n"
                "Other options:\n  -h, --help   Show this help\n  --version    Show the version\n");
}

int
sv_train_fail (const char *cmd, int code, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "svilm-train %s: %s\n", cmd, msg);
  return code;
}

int
sv_train_parse_options (GOptionContext *ctx, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  const char *cmd = (*argv)[0];
  if (!g_option_context_parse (ctx, argc, argv, &error)) {
    fprintf (stderr, "svilm-train %s: %s\nTry 'svilm-train %s --help'.\n", cmd, error->message,
             cmd);
    return SV_TRAIN_EXIT_USAGE;
  }
  return 0;
}

/* ---- nouns ------------------------------------------------------------------------------ */

int
sv_train_cmd_nouns (int argc, char **argv)
{
  int k = 2;
  const GOptionEntry entries[] = {
    { "k", 'k', 0, G_OPTION_ARG_INT, &k, "At most K noun phrases (default 2, as the paper)", "K" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("CAPTION");
  g_option_context_set_summary (ctx, "Prints the noun phrases that spatial grounding uses for "
                                     "CAPTION, one per line, best first.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  if (rc)
    return rc;
  if (argc < 2)
    return sv_train_fail ("nouns", SV_TRAIN_EXIT_USAGE,
                          "a caption is required, e.g. svilm-train nouns \"a dog runs\".");
  if (k < 1 || k > 64)
    return sv_train_fail ("nouns", SV_TRAIN_EXIT_USAGE, "--k must be from 1 to 64 (got %d).", k);

  /* several words without quotes are one caption */
  g_autofree char *caption = g_strjoinv (" ", argv + 1);
  g_autoptr (GError) error = NULL;
  SvNounChunker *nc = sv_noun_chunker_new (&error);
  if (!nc)
    return sv_train_fail ("nouns", SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  g_auto (GStrv) phrases = sv_noun_chunker_phrases (nc, caption, k, &error);
  sv_noun_chunker_free (nc);
  if (!phrases)
    return sv_train_fail ("nouns", SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  for (char **p = phrases; *p; p++)
    printf ("%s\n", *p);
  return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  sv_prefer_passive_threads (argv);
  setlocale (LC_ALL, "");
  if (argc < 2) {
    usage (stderr);
    return SV_TRAIN_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (g_str_equal (name, "--help") || g_str_equal (name, "-h") || g_str_equal (name, "help")) {
    if (g_str_equal (name, "help") && argc > 2) {
      name = argv[2]; /* `svilm-train help synth` is `svilm-train synth --help` */
      for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
        if (g_str_equal (commands[i].name, name)) {
          g_autofree char *prg = g_strconcat ("svilm-train ", name, NULL);
          g_set_prgname (prg);
          char *args[] = { (char *) name, (char *) "--help", NULL };
          return commands[i].run (2, args);
        }
    } else {
      usage (stdout);
      return 0;
    }
  } else if (g_str_equal (name, "--version")) {
    printf ("svilm-train %s\n", VERSION);
    return 0;
  } else {
    for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
      if (g_str_equal (commands[i].name, name)) {
        g_autofree char *prg = g_strconcat ("svilm-train ", name, NULL);
        g_set_prgname (prg);
        return commands[i].run (argc - 1, argv + 1);
      }
  }
  fprintf (stderr, "svilm-train: unknown command '%s'; run 'svilm-train --help' for the list.\n",
           name);
  return SV_TRAIN_EXIT_USAGE;
}
