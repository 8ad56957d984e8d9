/* svilm-train pretrain: training options and the CONFIG file. */
#include "pretrain-options.h"

#include "sv-error.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

typedef enum { F_STR, F_INT, F_INT64, F_DOUBLE, F_BOOL } FieldType;

typedef struct {
  const char *key;
  FieldType type;
  size_t offset;
  const char *help, *arg;
} Field;

#define F(k, t, h, a)                                                                              \
  {                                                                                                \
#k, t, offsetof(SvTrainOptions, k), h, a                                                       \
  }
static const Field fields[] = {
  F (data, F_STR, "Training manifest (JSON lines, CSV, WebVid CSV, MSR-VTT JSON)", "MANIFEST"),
  F (split, F_STR,
     "Use the entries of this split and those without one; 'all': every entry "
     "(default train)",
     "NAME"),
  F (video_dir, F_STR, "Where MSR-VTT and WebVid videos are (default: the manifest's directory)",
     "DIR"),
  F (steps, F_INT64, "Optimiser steps in the whole run (default: from --epochs)", "N"),
  F (epochs, F_DOUBLE, "Passes over the data when --steps is not given (default 10)", "E"),
  F (batch, F_INT, "Videos per batch, at least 2 (default 16)", "B"),
  F (accum, F_INT,
     "Batches per step and process, their gradients averaged (default 1; with N MPI processes "
     "a step is N x ACCUM batches)",
     "ACCUM"),
  F (optim, F_STR, "Optimiser: sgd (momentum 0.9, the paper's) or adamw (default sgd)", "NAME"),
  F (lr, F_DOUBLE, "Peak learning rate (default: sgd 0.1, adamw 0.001)", "LR"),
  F (min_lr, F_DOUBLE, "Learning rate at the end of the cosine decay (default 0)", "LR"),
  F (warmup_ratio, F_DOUBLE, "Fraction of the steps of linear warm-up (default 0.05)", "R"),
  F (weight_decay, F_DOUBLE, "Weight decay (default: sgd 1e-4, adamw 0.05)", "WD"),
  F (momentum, F_DOUBLE, "SGD momentum (default 0.9)", "M"),
  F (beta2, F_DOUBLE,
     "AdamW's second-moment decay (default 0.999; 0.98 or 0.95 forget the large gradients "
     "of the first steps sooner)",
     "B2"),
  F (clip_grad, F_DOUBLE, "Clip the global gradient norm to this (default 0: no clipping)", "N"),
  F (seed, F_INT64,
     "Seed of the initialisation, data order, augmentation and cut-and-paste "
     "(default 1)",
     "S"),
  F (loss_temporal, F_DOUBLE, "Weight of the temporal grouping loss, 0 = off (default 1)", "W"),
  F (loss_grounding, F_DOUBLE, "Weight of the spatial grounding loss, 0 = off (default 1)", "W"),
  F (loss_contrast, F_DOUBLE, "Weight of the global contrastive loss, 0 = off (default 1)", "W"),
  F (loss_csal, F_DOUBLE,
     "Weight of STGT's cross-similarity alignment loss (contrastive with soft targets), "
     "0 = off (default 0)",
     "W"),
  F (loss_within, F_DOUBLE,
     "Weight of grounding within a video: the pooled groups of each of a video's noun "
     "phrases must match that phrase better than the caption's other phrases (ours, "
     "docs/training.md), 0 = off (default 0)",
     "W"),
  F (contrast_warmup, F_INT64,
     "Steps of plain contrastive training first (whole videos, no temporal grouping or "
     "grounding loss) before the S-ViLM objective (default 0)",
     "N"),
  F (hard_negatives, F_INT,
     "Fill each batch with groups of K videos whose captions share the most rare words, "
     "hard negatives for each other (K must divide --batch; default 0: random batches)",
     "K"),
  F (text_negatives, F_INT,
     "Negative captions a caption: copies with a noun or a motion swapped for another "
     "(from the --swaps vocabulary), more wrong answers in the contrastive loss's "
     "video->text term (default 0: none; docs/training.md)",
     "Q"),
  F (mirror_pairs, F_DOUBLE,
     "Odds that the second sample of a pair in a batch is the mirror image of the first, with "
     "left and right swapped in its caption, when that caption says left or right: a hard "
     "negative that differs only in direction (ours, docs/training.md; default 0: off)",
     "P"),
  F (side_negatives, F_DOUBLE,
     "Odds that a caption that says left or right has its mirrored copy (the sides swapped) "
     "as its first negative caption (needs --text-negatives; default 0)",
     "P"),
  F (loss_separate, F_DOUBLE,
     "Weight of holding each caption's negatives apart from it in the text space: "
     "max(0, cos - M)^2 (ours, docs/training.md; needs --text-negatives), 0 = off (default 0)",
     "W"),
  F (separate_margin, F_DOUBLE,
     "The cosine below which a negative caption is apart enough (default 0.5)", "M"),
  F (loss_words, F_DOUBLE,
     "Weight of predicting the caption's words from the clip embedding (ours, "
     "docs/training.md; needs a model config with \"word_head\": true), 0 = off (default 0)",
     "W"),
  F (words_weighting, F_STR,
     "What each of a caption's words counts in --loss-words' target: uniform (default) or "
     "idf (its inverse document frequency over the training captions: \"a\" and \"the\" "
     "about 0)",
     "HOW"),
  F (separate_which, F_STR,
     "Which negative captions --loss-separate holds apart: all (default) or sides (only the "
     "mirrored copies of --side-negatives)",
     "WHICH"),
  F (separate_from, F_INT64, "The step at which --loss-separate starts (default 0: the first)",
     "STEP"),
  F (swaps, F_STR,
     "Swap vocabulary of --text-negatives (default: swaps.json next to the manifest, as "
     "'svilm-train synth' writes it)",
     "FILE"),
  F (augment, F_BOOL, "No temporal jitter, random crop or flip (centre frames, whole picture)",
     NULL),
  F (cut_paste, F_BOOL,
     "No cut-and-paste: each video stays whole and is its own positive (an ablation; needs "
     "--loss-temporal 0)",
     NULL),
  F (threads, F_INT, "Compute threads, 0 = all cores (default 0)", "N"),
  F (workers, F_INT, "Video decoding threads (default 2)", "N"),
  F (prefetch, F_INT, "Clips decoded ahead (default 2 batches, at most 512 MiB)", "N"),
  F (checkpoint_every, F_INT, "Save a checkpoint every N steps (default 500)", "N"),
  F (keep, F_INT, "Keep the last K checkpoints (default 3)", "K"),
  F (log_every, F_INT, "Print a line every N steps when not on a terminal (default 10)", "N"),
  F (device, F_STR, "Compute device: cpu, vulkan, vulkan:N or auto (default cpu)", "DEVICE"),
  F (tokenizer, F_STR,
     "Tokenizer JSON written by 'svilm-train tokenizer' (default: learnt from the manifest)",
     "FILE"),
};
#undef F

#define AT(o, f, T) ((T *) ((char *) (o) + (f)->offset))

static gboolean
is_set (const SvTrainOptions *o, const Field *f)
{
  switch (f->type) {
  case F_STR:
    return *AT (o, f, char *) != NULL;
  case F_INT:
    return *AT (o, f, int) != G_MININT;
  case F_INT64:
    return *AT (o, f, gint64) != G_MININT64;
  case F_DOUBLE:
    return !isnan (*AT (o, f, double));
  case F_BOOL:
    return *AT (o, f, gboolean) != -1;
  }
  return FALSE;
}

void
sv_train_options_unset (SvTrainOptions *o)
{
  memset (o, 0, sizeof *o);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
    const Field *f = &fields[i];
    switch (f->type) {
    case F_STR:
      *AT (o, f, char *) = NULL;
      break;
    case F_INT:
      *AT (o, f, int) = G_MININT;
      break;
    case F_INT64:
      *AT (o, f, gint64) = G_MININT64;
      break;
    case F_DOUBLE:
      *AT (o, f, double) = NAN;
      break;
    case F_BOOL:
      *AT (o, f, gboolean) = -1;
      break;
    }
  }
}

void
sv_train_options_defaults (SvTrainOptions *o)
{
  sv_train_options_unset (o);
  o->split = g_strdup ("train");
  o->optim = g_strdup ("sgd");
  o->device = g_strdup ("cpu");
  o->steps = 0;
  o->epochs = 10;
  o->batch = 16;
  o->accum = 1;
  o->min_lr = 0;
  o->warmup_ratio = 0.05;
  o->momentum = 0.9;
  o->beta2 = 0.999;
  o->clip_grad = 0;
  o->seed = 1;
  o->loss_temporal = o->loss_grounding = o->loss_contrast = 1;
  o->loss_csal = o->loss_within = 0;
  o->augment = TRUE;
  o->cut_paste = TRUE;
  o->contrast_warmup = 0;
  o->hard_negatives = 0;
  o->text_negatives = 0;
  o->mirror_pairs = 0;
  o->side_negatives = 0;
  o->loss_separate = 0;
  o->separate_margin = 0.5;
  o->separate_which = g_strdup ("all");
  o->separate_from = 0;
  o->loss_words = 0;
  o->words_weighting = g_strdup ("uniform");
  o->threads = 0;
  o->workers = 2;
  o->prefetch = 0;
  o->checkpoint_every = 500;
  o->keep = 3;
  o->log_every = 10;
  /* lr, weight_decay: unset = the optimiser's default; video_dir, data: unset */
}

void
sv_train_options_merge (SvTrainOptions *dst, const SvTrainOptions *src)
{
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
    const Field *f = &fields[i];
    if (!is_set (src, f))
      continue;
    switch (f->type) {
    case F_STR:
      g_free (*AT (dst, f, char *));
      *AT (dst, f, char *) = g_strdup (*AT (src, f, char *));
      break;
    case F_INT:
      *AT (dst, f, int) = *AT (src, f, int);
      break;
    case F_INT64:
      *AT (dst, f, gint64) = *AT (src, f, gint64);
      break;
    case F_DOUBLE:
      *AT (dst, f, double) = *AT (src, f, double);
      break;
    case F_BOOL:
      *AT (dst, f, gboolean) = *AT (src, f, gboolean);
      break;
    }
  }
}

void
sv_train_options_clear (SvTrainOptions *o)
{
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (fields[i].type == F_STR)
      g_clear_pointer (AT (o, &fields[i], char *), g_free);
}

char *
sv_train_options_to_json (const SvTrainOptions *o)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
    const Field *f = &fields[i];
    if (!is_set (o, f))
      continue;
    json_builder_set_member_name (b, f->key);
    switch (f->type) {
    case F_STR:
      json_builder_add_string_value (b, *AT (o, f, char *));
      break;
    case F_INT:
      json_builder_add_int_value (b, *AT (o, f, int));
      break;
    case F_INT64:
      json_builder_add_int_value (b, *AT (o, f, gint64));
      break;
    case F_DOUBLE:
      json_builder_add_double_value (b, *AT (o, f, double));
      break;
    case F_BOOL:
      json_builder_add_boolean_value (b, *AT (o, f, gboolean));
      break;
    }
  }
  json_builder_end_object (b);
  JsonNode *root = json_builder_get_root (b);
  char *s = json_to_string (root, FALSE);
  json_node_unref (root);
  g_object_unref (b);
  return s;
}

static gboolean
set_from_node (SvTrainOptions *o, const Field *f, JsonNode *n)
{
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  switch (f->type) {
  case F_STR:
    if (t != G_TYPE_STRING)
      return FALSE;
    g_free (*AT (o, f, char *));
    *AT (o, f, char *) = g_strdup (json_node_get_string (n));
    return TRUE;
  case F_INT:
    if (t != G_TYPE_INT64 || json_node_get_int (n) < G_MININT + 1 ||
        json_node_get_int (n) > G_MAXINT)
      return FALSE;
    *AT (o, f, int) = (int) json_node_get_int (n);
    return TRUE;
  case F_INT64:
    if (t != G_TYPE_INT64)
      return FALSE;
    *AT (o, f, gint64) = json_node_get_int (n);
    return TRUE;
  case F_DOUBLE:
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
      return FALSE;
    *AT (o, f, double) = json_node_get_double (n);
    return TRUE;
  case F_BOOL:
    if (t != G_TYPE_BOOLEAN)
      return FALSE;
    *AT (o, f, gboolean) = json_node_get_boolean (n);
    return TRUE;
  }
  return FALSE;
}

static gboolean
options_from_object (SvTrainOptions *o, JsonObject *obj, const char *origin, GError **error)
{
  static const char *const type_names[] = { "a string", "an integer", "an integer", "a number",
                                            "true or false" };
  GList *members = json_object_get_members (obj);
  gboolean ok = TRUE;
  for (GList *m = members; m && ok; m = m->next) {
    const char *key = m->data;
    const Field *f = NULL;
    for (guint i = 0; i < G_N_ELEMENTS (fields) && !f; i++)
      if (g_str_equal (fields[i].key, key))
        f = &fields[i];
    if (!f) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: unknown training option \"%s\"", origin,
                   key);
      ok = FALSE;
    } else if (!set_from_node (o, f, json_object_get_member (obj, key))) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: training option \"%s\" must be %s",
                   origin, key, type_names[f->type]);
      ok = FALSE;
    }
  }
  g_list_free (members);
  return ok;
}

gboolean
sv_train_options_from_json (SvTrainOptions *o, const char *json, const char *origin, GError **error)
{
  JsonParser *p = json_parser_new ();
  gboolean ok = FALSE;
  if (!json_parser_load_from_data (p, json, -1, error)) {
    g_prefix_error (error, "%s: ", origin);
  } else if (!json_parser_get_root (p) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: training options are not an object",
                 origin);
  } else {
    ok = options_from_object (o, json_node_get_object (json_parser_get_root (p)), origin, error);
  }
  g_object_unref (p);
  return ok;
}

gboolean
sv_train_options_validate (const SvTrainOptions *o, GError **error)
{
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, __VA_ARGS__);                               \
      return FALSE;                                                                                \
    }                                                                                              \
  } while (0)
  CHECK (o->batch >= 2,
         "the batch must have at least 2 videos (cut-and-paste pairs them), "
         "not %d.",
         o->batch);
  CHECK (o->accum >= 1 && o->accum <= 4096, "--accum must be between 1 and 4096.");
  CHECK (o->steps >= 0, "--steps must not be negative.");
  CHECK (o->steps > 0 || (isfinite (o->epochs) && o->epochs > 0),
         "--epochs must be positive when --steps is not given.");
  CHECK (isnan (o->lr) || (isfinite (o->lr) && o->lr >= 0), "--lr must be a number >= 0.");
  CHECK (isfinite (o->min_lr) && o->min_lr >= 0, "--min-lr must be a number >= 0.");
  CHECK (o->warmup_ratio >= 0 && o->warmup_ratio <= 1, "--warmup-ratio must be in [0, 1].");
  CHECK (isnan (o->weight_decay) || (isfinite (o->weight_decay) && o->weight_decay >= 0),
         "--weight-decay must be >= 0.");
  CHECK (o->momentum >= 0 && o->momentum < 1, "--momentum must be in [0, 1).");
  CHECK (o->beta2 >= 0 && o->beta2 < 1, "--beta2 must be in [0, 1).");
  CHECK (o->clip_grad >= 0 && isfinite (o->clip_grad), "--clip-grad must be >= 0.");
  CHECK (o->seed >= 0, "--seed must not be negative.");
  CHECK (isfinite (o->loss_temporal) && isfinite (o->loss_grounding) &&
             isfinite (o->loss_contrast) && isfinite (o->loss_csal) && isfinite (o->loss_within) &&
             o->loss_temporal >= 0 && o->loss_grounding >= 0 && o->loss_contrast >= 0 &&
             o->loss_csal >= 0 && o->loss_within >= 0,
         "loss weights must be finite and >= 0.");
  CHECK (
      o->loss_within == 0 || o->loss_grounding > 0,
      "--loss-within pools the groups as the grounding loss does: it needs --loss-grounding > 0.");
  CHECK (o->contrast_warmup >= 0, "--contrast-warmup must not be negative.");
  CHECK (o->hard_negatives >= 0 && (o->hard_negatives < 2 || o->batch % o->hard_negatives == 0),
         "--hard-negatives must divide --batch (0 or 1: random batches).");
  CHECK (o->text_negatives >= 0 && o->text_negatives <= 64,
         "--text-negatives must be between 0 and 64.");
  CHECK (o->mirror_pairs >= 0 && o->mirror_pairs <= 1, "--mirror-pairs must be within 0..1.");
  CHECK (o->mirror_pairs == 0 || o->batch % 2 == 0,
         "--mirror-pairs puts a clip and its mirror image in one batch: --batch must be even.");
  CHECK (o->side_negatives >= 0 && o->side_negatives <= 1 &&
             (o->side_negatives == 0 || o->text_negatives > 0),
         "--side-negatives must be within 0..1, and needs --text-negatives.");
  CHECK (isfinite (o->loss_separate) && o->loss_separate >= 0 &&
             (o->loss_separate == 0 || o->text_negatives > 0),
         "--loss-separate must be finite and >= 0, and needs --text-negatives.");
  CHECK (g_str_equal (o->separate_which, "all") ||
             (g_str_equal (o->separate_which, "sides") && o->side_negatives > 0),
         "--separate-which must be all or sides (sides needs --side-negatives).");
  CHECK (o->separate_from >= 0, "--separate-from must not be negative.");
  CHECK (isfinite (o->loss_words) && o->loss_words >= 0, "--loss-words must be finite and >= 0.");
  CHECK (g_str_equal (o->words_weighting, "uniform") || g_str_equal (o->words_weighting, "idf"),
         "--words-weighting must be uniform or idf.");
  CHECK (isfinite (o->separate_margin) && o->separate_margin >= -1 && o->separate_margin <= 1,
         "--separate-margin must be a cosine, between -1 and 1.");
  CHECK (o->cut_paste || o->loss_temporal == 0,
         "--no-cut-paste leaves no scene change to group: it needs --loss-temporal 0.");
  CHECK (o->loss_temporal + o->loss_grounding + o->loss_contrast + o->loss_csal > 0,
         "at least one loss term must have a positive weight.");
  CHECK (o->threads >= 0 && o->workers >= 1 && o->prefetch >= 0,
         "--threads must be >= 0, --workers >= 1 and --prefetch >= 0.");
  CHECK (o->checkpoint_every >= 1 && o->keep >= 1 && o->log_every >= 1,
         "--checkpoint-every, --keep and --log-every must be at least 1.");
  CHECK (g_ascii_strcasecmp (o->optim, "sgd") == 0 || g_ascii_strcasecmp (o->optim, "adamw") == 0,
         "--optim must be sgd or adamw, not \"%s\".", o->optim);
  return TRUE;
#undef CHECK
}

static gboolean
is_preset (const char *s)
{
  return g_str_equal (s, "tiny") || g_str_equal (s, "small") || g_str_equal (s, "base");
}

gboolean
sv_train_read_config (const char *config, SvModelConfig *model, SvTrainOptions *train,
                      GError **error)
{
  if (is_preset (config) && !g_file_test (config, G_FILE_TEST_IS_REGULAR))
    return sv_model_config_preset (model, config, error);
  char *text = NULL;
  GError *err = NULL;
  if (!g_file_get_contents (config, &text, NULL, &err)) {
    g_set_error (error, SV_ERROR, SV_ERROR_IO,
                 "cannot read the config %s: %s (a config is tiny, small, base or a JSON file)",
                 config, err->message);
    g_error_free (err);
    return FALSE;
  }
  JsonParser *p = json_parser_new ();
  gboolean ok = FALSE;
  JsonObject *merged = NULL;
  if (!json_parser_load_from_data (p, text, -1, &err)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "the config %s is not valid JSON: %s", config,
                 err->message);
    g_error_free (err);
    goto out;
  }
  JsonNode *root = json_parser_get_root (p);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "the config %s is not a JSON object", config);
    goto out;
  }
  JsonObject *o = json_node_get_object (root);
  const char *preset = json_object_get_string_member_with_default (o, "preset", "tiny");
  SvModelConfig base;
  if (!sv_model_config_preset (&base, preset, error)) {
    g_prefix_error (error, "%s: ", config);
    goto out;
  }
  /* the preset's fields, overridden by the file's */
  char *base_json = sv_model_config_to_json (&base);
  JsonNode *bn = json_from_string (base_json, NULL);
  g_free (base_json);
  merged = json_object_ref (json_node_get_object (bn));
  json_node_unref (bn);
  GList *members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    if (!g_str_equal (m->data, "preset") && !g_str_equal (m->data, "train"))
      json_object_set_member (merged, m->data,
                              json_node_copy (json_object_get_member (o, m->data)));
  g_list_free (members);
  JsonNode *mn = json_node_init_object (json_node_alloc (), merged);
  char *mjson = json_to_string (mn, FALSE);
  json_node_unref (mn);
  ok = sv_model_config_from_json (model, mjson, error);
  g_free (mjson);
  if (!ok) {
    g_prefix_error (error, "%s: ", config);
    goto out;
  }
  JsonNode *tn = json_object_get_member (o, "train");
  if (tn && train) {
    if (!JSON_NODE_HOLDS_OBJECT (tn)) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: \"train\" must be an object", config);
      ok = FALSE;
    } else {
      ok = options_from_object (train, json_node_get_object (tn), config, error);
    }
  }
out:
  if (merged)
    json_object_unref (merged);
  g_object_unref (p);
  g_free (text);
  return ok;
}

GOptionEntry *
sv_train_options_entries (SvTrainOptions *o)
{
  GOptionEntry *e = g_new0 (GOptionEntry, G_N_ELEMENTS (fields) + 2);
  guint n = 0;
  static char names[G_N_ELEMENTS (fields)][32];
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
    const Field *f = &fields[i];
    /* booleans default to true: the flag turns them off (--no-augment) */
    g_snprintf (names[i], sizeof names[i], "%s%s", f->type == F_BOOL ? "no-" : "", f->key);
    g_strdelimit (names[i], "_", '-');
    GOptionEntry *x = &e[n++];
    x->long_name = names[i];
    x->description = f->help;
    x->arg_description = f->arg;
    x->arg_data = (char *) o + f->offset;
    switch (f->type) {
    case F_STR:
      x->arg = G_OPTION_ARG_STRING;
      break;
    case F_INT:
      x->arg = G_OPTION_ARG_INT;
      break;
    case F_INT64:
      x->arg = G_OPTION_ARG_INT64;
      break;
    case F_DOUBLE:
      x->arg = G_OPTION_ARG_DOUBLE;
      break;
    case F_BOOL:
      x->arg = G_OPTION_ARG_NONE;
      x->flags = G_OPTION_FLAG_REVERSE;
      break;
    }
  }
  return e;
}
