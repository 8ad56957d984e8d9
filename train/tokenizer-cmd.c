/* svilm-train tokenizer: learn the subword vocabulary of a manifest's captions.
 *
 *   svilm-train tokenizer --data MANIFEST [--vocab N] [--out FILE]
 *
 * Writes the tokenizer JSON that `svilm-train pretrain --tokenizer FILE` starts from (and
 * that checkpoints carry in their metadata); without --out, prints it.  The texts are the
 * ones pretrain learns from when it is given no tokenizer (sv_train_learn_tokenizer).
 */
#include "pretrain.h"
#include "sv-model-config.h"
#include "sv-train-cmds.h"

#include <stdio.h>

int
sv_train_cmd_tokenizer (int argc, char **argv)
{
  g_autofree char *data = NULL, *split = NULL, *out = NULL, *video_dir = NULL;
  int vocab = 0;
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data,
      "Manifest (JSON lines, CSV, WebVid CSV, MSR-VTT JSON)", "MANIFEST" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
      "Use the entries of this split and those without one; 'all': every entry (default train)",
      "NAME" },
    { "video-dir", 0, 0, G_OPTION_ARG_FILENAME, &video_dir,
      "Where MSR-VTT and WebVid videos are (only for reading the manifest)", "DIR" },
    { "vocab", 'n', 0, G_OPTION_ARG_INT, &vocab,
      "At most N tokens, specials included (default: the tiny preset's)", "N" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the tokenizer JSON here (default: stdout)",
      "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, "Learns a byte-pair subword vocabulary from a manifest's "
                                     "captions and noun phrases.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  if (rc)
    return rc;
  if (!data)
    return sv_train_fail ("tokenizer", SV_TRAIN_EXIT_USAGE, "--data MANIFEST is required");
  if (argc > 1)
    return sv_train_fail ("tokenizer", SV_TRAIN_EXIT_USAGE, "unexpected argument '%s'", argv[1]);
  if (vocab == 0) {
    SvModelConfig tiny;
    sv_model_config_preset (&tiny, "tiny", NULL);
    vocab = tiny.vocab;
  }
  if (vocab < 16 || vocab > 1 << 20)
    return sv_train_fail ("tokenizer", SV_TRAIN_EXIT_USAGE,
                          "--vocab must be between 16 and 1048576");

  g_autoptr (GError) error = NULL;
  SvDatasetOptions dopt = { .split = split ? split : "train", .video_dir = video_dir };
  SvDataset *ds = sv_dataset_load (data, &dopt, &error);
  if (!ds)
    return sv_train_fail ("tokenizer", SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  SvTokenizer *tok = sv_train_learn_tokenizer (ds, (guint) vocab, &error);
  guint n = ds->items->len;
  sv_dataset_free (ds);
  if (!tok)
    return sv_train_fail ("tokenizer", SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  g_autofree char *json = sv_tokenizer_to_json (tok);
  guint size = sv_tokenizer_vocab_size (tok);
  sv_tokenizer_free (tok);
  if (!out) {
    puts (json);
    return 0;
  }
  /* temp file + rename: an interrupted write leaves no half tokenizer behind */
  if (!g_file_set_contents (out, json, -1, &error))
    return sv_train_fail ("tokenizer", SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  printf ("%s: %u tokens learnt from %u captions\n", out, size, n);
  return 0;
}
