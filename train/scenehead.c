/* svilm-train scenehead: trains a model's scene head on a corpus with known transitions.
 *
 *   svilm-train scenehead --model M --data MANIFEST --out OUT [--split train] [--limit N]
 *                         [--hidden 128] [--epochs 12] [--lr 1e-3] [--batch 256] [--seed 1]
 *                         [--flashes 0.5] [--no-pixel-cues]
 *
 * The encoder stays frozen: every video of the split is cut into the windows svilmscenecut
 * encodes (the model's clip length, every token slice), and each window's temporal
 * features (one unit-length vector per token slice) are kept.  The head
 * (svilm-core/sv-scene-head.h) then learns, for every pair of slices i < k of a window,
 * whether a transition lies between them: pair (i, k) is positive when the centre of a
 * true transition (sv_eval_transition: the middle frame of a dissolve or fade, the first
 * frame of the new scene for a cut) falls from the frame before slice i + 1 starts to the
 * frame after slice k starts.  For neighbours that is "the boundary is within a frame of
 * the transition", which is the boundary svilmscenecut should report; for pairs further
 * apart it is "different scenes", which is what its flash filter asks.  The corpus has no
 * camera flashes, so with --flashes P each video gives, with chance P, one more window: a
 * copy of one of its windows with 1 to 3 frames blown towards white (labels unchanged: a
 * flash is not a transition).  Unless --no-pixel-cues the head also reads each pair's pixel
 * cues (sv_scene_head_window_cues: motion-aligned thumbnail, colour-histogram and texture
 * differences of the frames around it), computed from the same frames.  Cross-entropy,
 * AdamW at a constant learning rate, windows shuffled each epoch.  OUT is the model with
 * the head added (or replaced): the same encoders, tokenizer and config plus scene_hidden.
 */
#include "eval.h"
#include "sv-backend.h"
#include "sv-model.h"
#include "sv-optim.h"
#include "sv-scene-head.h"
#include "sv-train-cmds.h"

#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CMD "scenehead"

/* the windows of a split: features and pair labels */
typedef struct {
  guint Nt, D, pairs, n_cues;
  GArray *features; /* float [n x Nt x D] */
  GArray *cues;     /* float [n x pairs x n_cues]: pixel cues of each pair */
  GArray *labels;   /* float [n x pairs], 0 or 1 */
  guint n, videos, positives, skipped, flashed;
} Windows;

/* Camera flashes, which the corpus does not have: a window of L frames (1 to 3) blown
 * towards white, up then down, peak 0.5 to 0.9.  Blending prepared frames towards a
 * prepared white frame is the same as blending the pixels (the preparation is affine). */
typedef struct {
  double prob; /* per video: one extra window with a flash */
  float *white, *window;
  gsize floats;
  SvRng rng;
} Flashes;

static void
flash_window (Flashes *fl, const float *const *frames, guint T, const float **out)
{
  guint len = 1 + sv_rng_below (&fl->rng, 3), at = sv_rng_below (&fl->rng, T - len + 1);
  float peak = 0.5f + 0.4f * sv_rng_uniform (&fl->rng);
  for (guint t = 0; t < T; t++) {
    float *dst = fl->window + (gsize) t * fl->floats;
    double a = 0.0;
    if (t >= at && t < at + len) /* a triangle over the flash's frames */
      a = peak * (1.0 - fabs ((double) (t - at) - (len - 1) / 2.0) / (len / 2.0 + 0.5));
    for (gsize j = 0; j < fl->floats; j++)
      dst[j] = frames[t][j] + (float) a * (fl->white[j] - frames[t][j]);
    out[t] = dst;
  }
}

/* pair (i, k) of a window starting at source frame `first` is positive when a transition's
 * centre lies in [start of slice i + 1 - 1, start of slice k + 1] (see the top comment) */
static void
label_window (const SvEvalTruth *t, guint first, guint T, guint Nt, float *labels)
{
  guint tt = T / Nt; /* frames a slice: full windows are encoded frame for frame */
  for (guint i = 0; i < Nt; i++)
    for (guint k = i + 1; k < Nt; k++) {
      gint64 lo = (gint64) first + (i + 1) * tt - 1;
      gint64 hi = (gint64) first + k * tt + 1;
      float y = 0.0f;
      for (guint b = 0; b < t->boundaries->len; b++) {
        const SvEvalBoundary *bd = &g_array_index (t->boundaries, SvEvalBoundary, b);
        gint64 c = sv_eval_transition (bd->frame, bd->length, 0).frame;
        if (c >= lo && c <= hi)
          y = 1.0f;
      }
      labels[sv_scene_head_pair_index ((int) Nt, (int) i, (int) k)] = y;
    }
}

/* encodes one window and appends its features and labels */
static gboolean
add_window (SvEval *ev, const SvEvalTruth *t, const float *const *frames, guint first, guint T,
            Windows *w, float *lab, GError **error)
{
  g_autoptr (SvilmClip) clip = svilm_model_encode_prepared (ev->model, frames, T, error);
  if (!clip)
    return FALSE;
  guint ns = 0, dim = 0;
  const float *f = svilm_clip_get_temporal_features (clip, &ns, &dim);
  w->D = dim;
  g_array_append_vals (w->features, f, ns * dim);
  if (w->n_cues > 0) {
    guint H = 0, W = 0;
    svilm_model_get_clip_size (ev->model, &W, &H);
    float *cues = g_new (float, (gsize) w->pairs * w->n_cues);
    float *scratch = g_new (float, sv_scene_head_window_cues_scratch ((int) ns));
    sv_scene_head_window_cues (frames, (int) T, (int) H, (int) W, (int) ns, scratch, cues);
    g_array_append_vals (w->cues, cues, w->pairs * w->n_cues);
    g_free (cues);
    g_free (scratch);
  }
  label_window (t, first, T, ns, lab);
  g_array_append_vals (w->labels, lab, w->pairs);
  for (guint p = 0; p < w->pairs; p++)
    w->positives += lab[p] > 0.5f;
  w->n++;
  return TRUE;
}

static gboolean
collect (SvEval *ev, guint stride, Flashes *fl, Windows *w, GError **error)
{
  guint T = svilm_model_get_clip_frames (ev->model), gt = 1;
  svilm_model_get_grid (ev->model, &gt, NULL, NULL);
  w->Nt = gt;
  w->pairs = (guint) sv_scene_head_n_pairs ((int) gt);
  w->features = g_array_new (FALSE, FALSE, sizeof (float));
  w->cues = g_array_new (FALSE, FALSE, sizeof (float));
  w->labels = g_array_new (FALSE, FALSE, sizeof (float));
  float *lab = g_new (float, w->pairs);
  gboolean ok = TRUE;
  for (guint v = 0; v < ev->items->len && ok; v++) {
    sv_eval_progress (ev, "features", v, ev->items->len);
    SvEvalItem *it = g_ptr_array_index (ev->items, v);
    g_autoptr (GError) e = NULL;
    g_autoptr (SvEvalTruth) t = it->truth ? sv_eval_truth_load (it->truth, &e) : NULL;
    SvEvalFrames fr;
    if (!t || !sv_eval_decode_item (ev, it, &fr)) {
      if (e && !ev->quiet)
        fprintf (stderr, "svilm-train scenehead: skipping %s: %s\n", it->video, e->message);
      w->skipped++;
      continue;
    }
    /* full windows only: the partial window at the end of a stream is rare */
    guint n_windows = 0;
    for (guint first = 0; first + T <= fr.n && ok; first += stride, n_windows++)
      ok = add_window (ev, t, fr.ptr + first, first, T, w, lab, error);
    /* a flashed copy of one of them: a flash is not a transition, the labels stay */
    if (ok && n_windows > 0 && fl->prob > 0 && sv_rng_uniform (&fl->rng) < fl->prob) {
      guint first = sv_rng_below (&fl->rng, n_windows) * stride;
      const float **frames = g_new (const float *, T);
      flash_window (fl, fr.ptr + first, T, frames);
      ok = add_window (ev, t, frames, first, T, w, lab, error);
      g_free (frames);
      w->flashed++;
    }
    w->videos++;
    sv_eval_frames_clear (&fr);
  }
  sv_eval_progress (ev, "features", ev->items->len, ev->items->len);
  g_free (lab);
  return ok;
}

/* copies one parameter's values (same element count) through the host */
static gboolean
copy_var (SvVar *dst, const SvVar *src, GError **error)
{
  float *buf = g_new (float, MAX (src->x.numel, 1));
  gboolean ok = sv_tensor_download (&src->x, buf, src->x.numel * 4, error) &&
                sv_tensor_upload (&dst->x, buf, dst->x.numel * 4, error);
  g_free (buf);
  return ok;
}

/* copies every parameter of src that dst has by name (the encoders; not the head) */
static gboolean
copy_params (SvModel *dst, SvModel *src, GError **error)
{
  for (guint i = 0; i < sv_var_set_len (dst->params); i++) {
    const char *name = sv_var_set_name (dst->params, i);
    if (g_str_has_prefix (name, "scene."))
      continue;
    SvVar *s = sv_var_set_find (src->params, name), *d = sv_var_set_get (dst->params, i);
    if (!s || s->x.numel != d->x.numel) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "parameter %s differs", name);
      return FALSE;
    }
    if (!copy_var (d, s, error))
      return FALSE;
  }
  return TRUE;
}

typedef struct {
  int hidden, epochs, batch;
  double lr, weight_decay;
  guint64 seed;
  gboolean quiet;
} HeadOptions;

/* trains the head's parameters hp (in hs) on the windows; batch = windows a step */
static gboolean
train_head (const SvModelConfig *cfg, SvVarSet *hs, SvSceneHeadParams *hp, const Windows *w,
            const HeadOptions *o, GError **error)
{
  SvBackend *be = sv_backend_cpu ();
  SvVarSet *as = sv_var_set_new (be);
  SvSceneHeadActs a;
  SvOptimizer *opt = NULL;
  guint nb = MIN ((guint) o->batch, w->n), rows = nb * w->pairs;
  int in = sv_scene_head_inputs ((int) w->Nt, (int) w->D, (int) w->n_cues);
  float *x = g_new (float, (gsize) rows *in), *y = g_new (float, (gsize) rows * 2);
  float *probs = g_new (float, (gsize) rows * 2);
  uint32_t *order = g_new (uint32_t, w->n);
  SvRng rng;
  sv_rng_seed (&rng, o->seed ^ 0x5ce9e4eadULL);
  gboolean ok =
      sv_scene_head_acts_plan (as, &a, cfg, (int) rows, error) && sv_var_set_commit (as, error);
  SvOptimConfig oc;
  sv_optim_config_init (&oc, SV_OPTIM_ADAMW);
  oc.weight_decay = (float) o->weight_decay;
  if (ok)
    ok = (opt = sv_optim_new (hs, &oc, error)) != NULL;
  for (guint i = 0; i < w->n; i++)
    order[i] = i;
  const float *feat = (const float *) w->features->data, *lab = (const float *) w->labels->data;
  const float *cues = (const float *) w->cues->data;
  gsize fstride = (gsize) w->Nt * w->D;
  for (int ep = 0; ok && ep < o->epochs; ep++) {
    sv_rng_shuffle (&rng, order, w->n);
    double loss_sum = 0.0;
    guint steps = 0, correct = 0, seen = 0;
    /* whole batches only: the passes have a fixed size */
    for (guint s = 0; ok && s + nb <= w->n; s += nb) {
      for (guint b = 0; b < nb; b++) {
        guint win = order[s + b];
        for (guint i = 0; i < w->Nt; i++)
          for (guint k = i + 1; k < w->Nt; k++) {
            guint p = (guint) sv_scene_head_pair_index ((int) w->Nt, (int) i, (int) k);
            gsize r = (gsize) b * w->pairs + p;
            const float *c = w->n_cues ? cues + ((gsize) win * w->pairs + p) * w->n_cues : NULL;
            sv_scene_head_pair_input (feat + win * fstride, (int) w->Nt, (int) w->D, (int) i,
                                      (int) k, c, (int) w->n_cues, x + r * in);
            float t = lab[(gsize) win * w->pairs + p];
            y[2 * r] = 1.0f - t;
            y[2 * r + 1] = t;
          }
      }
      float loss = 0.0f;
      ok = sv_tensor_upload (&a.x, x, (gsize) rows * in * 4, error) &&
           sv_tensor_upload (&a.targets, y, (gsize) rows * 2 * 4, error) &&
           sv_var_set_zero_grad (hs, error) && sv_scene_head_forward (hp, &a, error) &&
           sv_scene_head_backward (hp, &a, error) &&
           sv_optim_step (opt, (float) o->lr, NULL, error) &&
           sv_tensor_download (&a.loss.x, &loss, sizeof loss, error) &&
           sv_tensor_download (&a.probs, probs, (gsize) rows * 2 * 4, error);
      loss_sum += loss;
      steps++;
      for (guint r = 0; ok && r < rows; r++) {
        correct += (probs[2 * r + 1] > 0.5f) == (y[2 * r + 1] > 0.5f);
        seen++;
      }
    }
    if (ok && !o->quiet)
      fprintf (stderr, "svilm-train scenehead: epoch %d/%d: loss %.4f, pairs right %.2f %%\n",
               ep + 1, o->epochs, loss_sum / MAX (steps, 1u), 100.0 * correct / MAX (seen, 1u));
  }
  if (opt)
    sv_optim_free (opt);
  sv_var_set_free (as);
  g_free (order);
  g_free (x);
  g_free (y);
  g_free (probs);
  return ok;
}

int
sv_train_cmd_scenehead (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *data = NULL, *out = NULL, *split = NULL, *device = NULL;
  int limit = 0, stride = 0, hidden = 128, epochs = 12, batch = 256, seed = 1;
  double lr = 1e-3, wd = 0.01, flashes = 0.5;
  gboolean quiet = FALSE, pixel_cues = TRUE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The trained model (required)", "M" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data,
      "JSON-lines manifest with ground truth (svilm-train synth's manifest.jsonl; required)",
      "MANIFEST" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "Write the model with its scene head here "
      "(required; may be --model)",
      "OUT" },
    { "split", 's', 0, G_OPTION_ARG_STRING, &split, "Train on this split (default train)",
      "SPLIT" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "At most N videos (default: all)", "N" },
    { "stride", 0, 0, G_OPTION_ARG_INT, &stride,
      "Frames between windows (default: one token slice, as svilmscenecut)", "F" },
    { "hidden", 0, 0, G_OPTION_ARG_INT, &hidden, "Hidden units of the head (default 128)", "H" },
    { "no-pixel-cues", 0, G_OPTION_FLAG_REVERSE, G_OPTION_ARG_NONE, &pixel_cues,
      "Read the temporal features only, not the frames' pixel and colour-histogram "
      "differences too",
      NULL },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Passes over the windows (default 12)", "E" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Windows a step (default 256)", "B" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "AdamW learning rate (default 1e-3)", "LR" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &wd, "AdamW weight decay (default 0.01)", "WD" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Initialisation and shuffling (default 1)", "S" },
    { "flashes", 0, 0, G_OPTION_ARG_DOUBLE, &flashes,
      "Per video, the chance of one more window with a synthetic camera flash, which is not "
      "a transition (default 0.5; 0: none)",
      "P" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device,
      "Encode the windows on auto (default), cpu, vulkan or vulkan:N", "D" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (
      ctx, "Trains a model's scene head: a classifier of pairs of temporal slices (\"is there\n"
           "a scene change between them?\") on the frozen encoder's features, from a corpus\n"
           "with known transitions.  svilmscenecut and `svilm-train eval --task scenecut`\n"
           "score boundaries with it instead of 1 - cos (docs/training.md).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  if (rc)
    return rc;
  if (argc > 1)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "unexpected argument '%s'.", argv[1]);
  if (!model_path || !data || !out)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--model, --data and --out are required.");
  if (limit < 0 || stride < 0 || hidden < 1 || hidden > 4096 || epochs < 1 || batch < 1 ||
      !(lr > 0) || !(wd >= 0) || !(flashes >= 0 && flashes <= 1))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--hidden must be 1..4096, --epochs and --batch positive, --lr "
                          "positive, --limit, --stride and --weight-decay not negative, "
                          "--flashes in [0, 1].");

  gst_init (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) items =
      sv_eval_open_split (CMD, model_path, data, split ? split : "train", (guint) limit, &rc);
  if (!items)
    return rc;
  SvModel *base = sv_model_load_full (model_path, sv_backend_cpu (), FALSE, &error);
  if (!base)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot load the model: %s", error->message);
  g_autoptr (SvilmModel) model = svilm_model_load (model_path, device ? device : "auto", &error);
  if (!model) {
    sv_model_free (base);
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot load the model: %s", error->message);
  }
  guint gt = 1;
  svilm_model_get_grid (model, &gt, NULL, NULL);
  guint step = stride ? (guint) stride : MAX (1u, svilm_model_get_clip_frames (model) / gt);
  SvEval ev = { .model = model, .items = items, .quiet = quiet };
  Windows w = { .n_cues = pixel_cues ? SV_SCENE_PIXEL_CUES : 0 };
  /* a prepared white frame, and room for one flashed window */
  guint mw = 0, mh = 0;
  svilm_model_get_clip_size (model, &mw, &mh);
  Flashes fl = { .prob = flashes, .floats = svilm_model_get_frame_floats (model) };
  sv_rng_seed (&fl.rng, (guint64) seed * 0x9e3779b97f4a7c15ULL + 1);
  fl.white = g_new (float, fl.floats);
  fl.window = g_new (float, fl.floats *svilm_model_get_clip_frames (model));
  guint8 *white_rgb = g_malloc ((gsize) mw * mh * 3);
  memset (white_rgb, 255, (gsize) mw * mh * 3);
  svilm_model_prepare_frame (model, white_rgb, mw, mh, mw * 3, 3, 0, 1, 2, fl.white);
  g_free (white_rgb);
  SvModelConfig cfg = base->cfg;
  cfg.scene_hidden = hidden;
  cfg.scene_cues = pixel_cues ? SV_SCENE_PIXEL_CUES : 0;
  SvVarSet *hs = NULL;
  SvModel *dst = NULL;
  SvSceneHeadParams hp;
  const char *fail = NULL;
  HeadOptions ho = { hidden, epochs, batch, lr, wd, (guint64) seed, quiet };
  gint64 t0 = g_get_monotonic_time ();
  if (gt < 2) {
    fail = "the model's clips have one token slice: there is no boundary to score";
  } else if (!collect (&ev, step, &fl, &w, &error)) {
    fail = "encoding the windows";
  } else if (w.n == 0) {
    fail = "no window to train on: no video of the split could be read with its truth, or "
           "all are shorter than a clip";
  } else if (w.positives == 0) {
    fail = "no transition in the windows: the corpus needs videos with scene changes";
  }
  if (!fail && !quiet)
    fprintf (stderr,
             "svilm-train scenehead: %u windows of %u videos (%u skipped; %u windows with a "
             "flash), %u of %u slice pairs across a transition, in %.1f s\n",
             w.n, w.videos, w.skipped, w.flashed, w.positives, w.n * w.pairs,
             (g_get_monotonic_time () - t0) / 1e6);
  if (!fail) {
    hs = sv_var_set_new (sv_backend_cpu ());
    hs->linear_fan_in = TRUE; /* uniform +-1/sqrt(in), as PyTorch's nn.Linear */
    SvRng rng;
    sv_rng_seed (&rng, (guint64) seed);
    if (!sv_scene_head_params_plan (hs, &hp, &cfg, &error) || !sv_var_set_commit (hs, &error) ||
        !sv_var_set_init (hs, &rng, &error) || !train_head (&cfg, hs, &hp, &w, &ho, &error))
      fail = "training the head";
  }
  if (!fail) {
    dst = sv_model_new (&cfg, sv_backend_cpu (), (guint64) seed, &error);
    if (!dst || !copy_params (dst, base, &error) ||
        !copy_var (&dst->scene.fc1_w, &hp.fc1_w, &error) ||
        !copy_var (&dst->scene.fc1_b, &hp.fc1_b, &error) ||
        !copy_var (&dst->scene.fc2_w, &hp.fc2_w, &error) ||
        !copy_var (&dst->scene.fc2_b, &hp.fc2_b, &error)) {
      fail = "building the model";
    } else {
      sv_model_set_tokenizer (dst, base->tokenizer);
      base->tokenizer = NULL;
      if (!sv_model_save (dst, out, &error))
        fail = "writing the model";
    }
  }
  g_free (fl.white);
  g_free (fl.window);
  if (w.features)
    g_array_unref (w.features);
  if (w.cues)
    g_array_unref (w.cues);
  if (w.labels)
    g_array_unref (w.labels);
  if (hs)
    sv_var_set_free (hs);
  if (dst)
    sv_model_free (dst);
  sv_model_free (base);
  if (fail)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "%s%s%s.", fail, error ? ": " : "",
                          error ? error->message : "");
  if (!quiet)
    fprintf (stderr,
             "svilm-train scenehead: wrote %s (scene head of %d hidden units) in %.1f s; "
             "measure it with svilm-train eval --task scenecut\n",
             out, hidden, (g_get_monotonic_time () - t0) / 1e6);
  return 0;
}
