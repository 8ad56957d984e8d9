/* svilm-train eval: the paper's downstream tasks on a corpus with ground truth.
 *
 *   svilm-train eval --model M --data MANIFEST --task retrieval|grounding|scenecut
 *                    [--split test] [--json OUT] [--limit N] [--device D]
 *
 * See docs/evaluation.md for the protocols and the JSON written.
 */
#include "config.h"
#include "eval.h"
#include "sv-train-cmds.h"

#include <gst/gst.h>
#include <stdio.h>
#include <unistd.h>

#define CMD "eval"

void
sv_eval_json_double (JsonBuilder *b, const char *key, double v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_double_value (b, v);
}

void
sv_eval_json_int (JsonBuilder *b, const char *key, gint64 v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, v);
}

void
sv_eval_json_string (JsonBuilder *b, const char *key, const char *v)
{
  json_builder_set_member_name (b, key);
  if (v)
    json_builder_add_string_value (b, v);
  else
    json_builder_add_null_value (b);
}

void
sv_eval_progress (SvEval *ev, const char *what, guint done, guint total)
{
  static gint64 last;
  if (ev->quiet || !isatty (fileno (stderr)))
    return;
  gint64 now = g_get_monotonic_time ();
  if (done < total && now - last < G_USEC_PER_SEC / 4)
    return;
  last = now;
  fprintf (stderr, "\r%s: %u/%u", what, done, total);
  if (done >= total)
    fprintf (stderr, "\r\033[K");
  fflush (stderr);
}

gboolean
sv_eval_decode_item (SvEval *ev, const SvEvalItem *it, SvEvalFrames *frames)
{
  g_autoptr (GError) error = NULL;
  if (sv_eval_decode (ev->model, it->uri, frames, &error))
    return TRUE;
  if (!ev->quiet)
    fprintf (stderr, "svilm-train eval: skipping %s: cannot decode it: %s\n", it->video,
             error->message);
  return FALSE;
}

GPtrArray *
sv_eval_open_split (const char *cmd, const char *model_path, const char *manifest,
                    const char *split, guint limit, int *rc)
{
  g_autoptr (GError) error = NULL;
  *rc = 0;
  if (model_path && !g_file_test (model_path, G_FILE_TEST_EXISTS)) {
    *rc = sv_train_fail (cmd, SV_TRAIN_EXIT_FAILURE, "the model %s does not exist.", model_path);
    return NULL;
  }
  guint n_other = 0;
  GPtrArray *items = sv_eval_manifest_load (manifest, split, limit, &n_other, &error);
  if (!items) {
    *rc =
        sv_train_fail (cmd, SV_TRAIN_EXIT_FAILURE, "cannot read the manifest: %s.", error->message);
    return NULL;
  }
  if (items->len == 0) {
    /* the hint only where other splits hold videos: an empty manifest needs none */
    *rc =
        sv_train_fail (cmd, SV_TRAIN_EXIT_FAILURE, "the manifest %s has no video in split '%s'%s.",
                       manifest, split, n_other ? " (use --split all, or name another split)" : "");
    g_ptr_array_unref (items);
    return NULL;
  }
  return items;
}

static gboolean
write_json (JsonNode *root, const char *path, GError **error)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  g_autofree char *withnl = g_strconcat (text, "\n", NULL);
  if (g_strcmp0 (path, "-") == 0) {
    fputs (withnl, stdout);
    return TRUE;
  }
  return g_file_set_contents (path, withnl, -1, error);
}

int
sv_train_cmd_eval (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *data = NULL, *task = NULL, *split = NULL, *json = NULL;
  g_autofree char *device = NULL, *ffmpeg = NULL, *ground_clip = NULL, *train_split = NULL;
  g_autofree char *ranks = NULL;
  int limit = 0, window = 0, stride = 0, tolerance = 2, min_scene = 3, train_limit = 1000;
  int gradual_gap = SVILM_GRADUAL_GAP;
  double threshold = -1.0, scdet_threshold = 10.0, dsl_temp = 100.0, gradual_threshold = -1.0;
  double phrase_weight = 0.5, finetune_lr = 1e-4;
  int finetune_epochs = 6;
  gboolean quiet = FALSE, flash_filter = TRUE, one_object = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The model (required)", "M" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data,
      "JSON-lines manifest, e.g. svilm-train synth's manifest.jsonl (required)", "MANIFEST" },
    { "task", 't', 0, G_OPTION_ARG_STRING, &task,
      "retrieval, grounding, scenecut, probe, probe-noun, vqa, finetune or finetune-noun "
      "(required)",
      "TASK" },
    { "split", 's', 0, G_OPTION_ARG_STRING, &split,
      "Evaluate the videos of this split (default test; \"all\": every video)", "SPLIT" },
    { "json", 'o', 0, G_OPTION_ARG_FILENAME, &json, "Write the results as JSON to OUT (- : stdout)",
      "OUT" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "At most N videos (default: all)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "auto (default), cpu, vulkan or vulkan:N",
      "D" },
    { "dsl-temperature", 0, 0, G_OPTION_ARG_DOUBLE, &dsl_temp,
      "retrieval: dual-softmax temperature (default 100)", "T" },
    { "phrase-weight", 0, 0, G_OPTION_ARG_DOUBLE, &phrase_weight,
      "retrieval: weight of the noun phrases' match with the group tokens in the +phrases rows "
      "(default 0.5)",
      "W" },
    { "ranks", 0, 0, G_OPTION_ARG_FILENAME, &ranks,
      "retrieval: write each caption's text->video rank and first video to FILE (JSON lines), "
      "for error analysis",
      "FILE" },
    { "finetune-epochs", 0, 0, G_OPTION_ARG_INT, &finetune_epochs,
      "finetune, finetune-noun: passes over the training examples (default 6)", "N" },
    { "finetune-lr", 0, 0, G_OPTION_ARG_DOUBLE, &finetune_lr,
      "finetune, finetune-noun: the encoder's peak learning rate (default 1e-4)", "LR" },
    { "clip", 0, 0, G_OPTION_ARG_STRING, &ground_clip,
      "grounding: ground each phrase in its scene's frames (scene, default) or in the whole "
      "video (video)",
      "scene|video" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window,
      "scenecut: frames a window (default: the model's clip length)", "F" },
    { "stride", 0, 0, G_OPTION_ARG_INT, &stride,
      "scenecut: frames between windows (default: one token slice, as svilmscenecut)", "F" },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold,
      "scenecut: the svilm operating point (default: svilmscenecut's, 0.25 for a model with "
      "a scene head and 0.2 without)",
      "X" },
    { "scdet-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &scdet_threshold,
      "scenecut: ffmpeg scdet's operating point (default 10, its default)", "X" },
    { "tolerance", 0, 0, G_OPTION_ARG_INT, &tolerance,
      "scenecut: frames a cut may be off (default 2)", "F" },
    { "min-scene-length", 0, 0, G_OPTION_ARG_INT, &min_scene,
      "scenecut: frames from one predicted cut to the next (default 3)", "F" },
    { "no-flash-filter", 0, G_OPTION_FLAG_REVERSE, G_OPTION_ARG_NONE, &flash_filter,
      "scenecut: score boundaries by the change across them only (svilmscenecut "
      "flash-filter=false)",
      NULL },
    { "gradual-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &gradual_threshold,
      "scenecut: the gradual detector's threshold on wide scores (default: svilmscenecut's, "
      "0.5 for a model with a scene head, off without; 0: off)",
      "X" },
    { "gradual-gap", 0, 0, G_OPTION_ARG_INT, &gradual_gap,
      "scenecut: frames around a gradual cut without another cut (default 16)", "F" },
    { "ffmpeg", 0, 0, G_OPTION_ARG_FILENAME, &ffmpeg,
      "scenecut: the ffmpeg program for the scdet baseline (default ffmpeg; none: skip it)",
      "PROG" },
    { "train-split", 0, 0, G_OPTION_ARG_STRING, &train_split,
      "probe, vqa, finetune (and -noun): fit the head on this split (default train)", "SPLIT" },
    { "train-limit", 0, 0, G_OPTION_ARG_INT, &train_limit,
      "probe, vqa, finetune (and -noun): at most N training videos (default 1000)", "N" },
    { "one-object", 0, 0, G_OPTION_ARG_NONE, &one_object,
      "probe, vqa, finetune: motions of scenes of one object only (default: the first object "
      "of every first scene)",
      NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but the results and errors",
      NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (
      ctx, "Measures a model on a corpus with ground truth (docs/evaluation.md):\n"
           "  retrieval  text->video and video->text R@1/5/10, MedR, MnR, with and without\n"
           "             dual-softmax re-ranking\n"
           "  grounding  pointing game, with the centre-point and random baselines\n"
           "  scenecut   precision, recall and F1 of scene cuts (2-frame tolerance), with\n"
           "             ffmpeg's scdet filter on the same videos\n"
           "  probe      linear probe on frozen clip embeddings: an object's motion (8 classes)\n"
           "  probe-noun the same on what a one-object scene's object is (13 nouns)\n"
           "  vqa        video QA with a fusion head: \"what does the <phrase> do?\"\n"
           "  finetune   the encoder and a linear head trained end to end on the probe's motions\n"
           "  finetune-noun the same on probe-noun's nouns");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  if (rc)
    return rc;
  if (argc > 1)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "unexpected argument '%s'.", argv[1]);
  if (!task)
    return sv_train_fail (
        CMD, SV_TRAIN_EXIT_USAGE,
        "--task is required: retrieval, grounding, scenecut, probe, probe-noun, vqa, finetune or "
        "finetune-noun.");
  JsonNode *(*run) (SvEval *, GError **) = NULL;
  if (g_str_equal (task, "retrieval"))
    run = sv_eval_retrieval;
  else if (g_str_equal (task, "grounding"))
    run = sv_eval_grounding;
  else if (g_str_equal (task, "scenecut"))
    run = sv_eval_scenecut;
  else if (g_str_equal (task, "probe"))
    run = sv_eval_probe;
  else if (g_str_equal (task, "probe-noun"))
    run = sv_eval_probe_noun;
  else if (g_str_equal (task, "finetune-noun"))
    run = sv_eval_finetune_noun;
  else if (g_str_equal (task, "vqa"))
    run = sv_eval_vqa;
  else if (g_str_equal (task, "finetune"))
    run = sv_eval_finetune;
  else
    return sv_train_fail (
        CMD, SV_TRAIN_EXIT_USAGE,
        "unknown task '%s' (expected retrieval, grounding, scenecut, probe, probe-noun, vqa, "
        "finetune or finetune-noun).",
        task);
  gboolean head = run == sv_eval_probe || run == sv_eval_probe_noun || run == sv_eval_vqa ||
                  run == sv_eval_finetune || run == sv_eval_finetune_noun;
  if (finetune_epochs < 1 || finetune_epochs > 1000 || !(finetune_lr > 0 && finetune_lr < 1))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--finetune-epochs must be 1 to 1000 and --finetune-lr in (0, 1).");
  if (train_limit < 0)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--train-limit cannot be negative.");
  if (!model_path)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--model is required.");
  if (!data)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--data (a manifest) is required.");
  if (limit < 0 || window < 0 || stride < 0 || tolerance < 0 || min_scene < 0 || gradual_gap < 0)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--limit, --window, --stride, --tolerance, --min-scene-length and "
                          "--gradual-gap cannot be negative.");
  if (!(dsl_temp > 0))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--dsl-temperature must be positive.");
  if (!(phrase_weight >= 0 && phrase_weight <= 100))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--phrase-weight must be within 0..100.");
  if (ground_clip && !g_str_equal (ground_clip, "scene") && !g_str_equal (ground_clip, "video"))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--clip must be scene or video (got '%s').",
                          ground_clip);

  gst_init (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) items =
      sv_eval_open_split (CMD, model_path, data, split ? split : "test", (guint) limit, &rc);
  if (!items)
    return rc;
  g_autoptr (GPtrArray) train_items = NULL;
  if (head) {
    guint unused = 0;
    train_items = sv_eval_manifest_load (data, train_split ? train_split : "train",
                                         (guint) train_limit, &unused, &error);
    if (!train_items)
      return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot read the manifest: %s.",
                            error->message);
  }
  g_autoptr (SvilmModel) model = svilm_model_load (model_path, device ? device : "auto", &error);
  if (!model)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot load the model: %s", error->message);

  SvEval ev = {
    .model = model,
    .model_path = model_path,
    .manifest = data,
    .split = split ? split : "test",
    .items = items,
    .train_items = train_items,
    .train_split = train_split ? train_split : "train",
    .quiet = quiet,
    .one_object = one_object,
    .dsl_temperature = dsl_temp,
    .phrase_weight = phrase_weight,
    .ranks = ranks,
    .finetune_epochs = (guint) finetune_epochs,
    .finetune_lr = finetune_lr,
    .ground_clip = ground_clip ? ground_clip : "scene",
    .window = (guint) window,
    .stride = (guint) stride,
    .tolerance = (guint) tolerance,
    .min_scene_length = (guint) min_scene,
    .threshold = threshold,
    .scdet_threshold = scdet_threshold,
    .flash_filter = flash_filter,
    .gradual_threshold =
        gradual_threshold >= 0.0 ? gradual_threshold : svilm_model_get_gradual_threshold (model),
    .gradual_gap = (guint) gradual_gap,
    .ffmpeg = ffmpeg ? ffmpeg : "ffmpeg",
  };
  if (!quiet)
    fprintf (stderr, "svilm-train eval: %s on %u videos of split '%s' of %s, model %s on %s\n",
             task, items->len, ev.split, data, model_path, svilm_model_get_device_name (model));
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (JsonNode) result = run (&ev, &error);
  if (!result)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  if (!quiet)
    fprintf (stderr, "svilm-train eval: %s done in %.1f s\n", task, seconds);

  if (json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    sv_eval_json_string (b, "task", task);
    sv_eval_json_string (b, "model", model_path);
    sv_eval_json_string (b, "model_id", svilm_model_get_id (model));
    sv_eval_json_string (b, "device", svilm_model_get_device_name (model));
    sv_eval_json_string (b, "data", data);
    sv_eval_json_string (b, "split", ev.split);
    sv_eval_json_int (b, "videos", items->len);
    sv_eval_json_double (b, "seconds", seconds);
    sv_eval_json_string (b, "version", VERSION);
    json_builder_set_member_name (b, task);
    json_builder_add_value (b, g_steal_pointer (&result));
    json_builder_end_object (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    if (!write_json (root, json, &error))
      return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot write %s: %s", json,
                            error->message);
  }
  return 0;
}
