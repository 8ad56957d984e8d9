/* svilm-train eval --task probe|probe-noun|vqa: downstream heads on frozen features.
 *
 * probe: the paper's linear probe (UCF101 / HMDB51 action recognition) on the synthetic
 *   corpus: the motion of a scene's first object (8 classes: left, right, up, down, still,
 *   rotating, growing, bouncing) from the frozen clip embedding of the scene's frames.
 *   A multinomial logistic regression fit on --train-split, measured on --split.
 * probe-noun: the same probe on what the object is (13 nouns: circle ... bird) in scenes of
 *   one object: does the clip embedding hold the object's shape, not only its colour?
 * vqa: the paper's video QA (MSRVTT-QA style, a BUTD fusion head): for every object of a
 *   scene, "what does the <noun phrase> do?" answered with its motion, from the frozen clip
 *   embedding v and question embedding q: h = relu(W_v v + b_v) * relu(W_q q + b_q),
 *   answer = argmax (W_o h + b_o).  Scenes with several objects make the question matter.
 *
 * Both heads train with Adam on the whole training set at once (full batch), from a fixed
 * seed; accuracy is printed next to the majority-class baseline of the training answers.
 */
#include "eval.h"
#include "sv-synth.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const motions[] = { "left",  "right",    "up",      "down",
                                       "still", "rotating", "growing", "bouncing" };
G_STATIC_ASSERT (G_N_ELEMENTS (motions) == SV_EVAL_N_MOTIONS);
#define MAX_CLASSES 16

int
sv_eval_n_labels (gboolean noun)
{
  return noun ? (int) sv_synth_n_nouns () : SV_EVAL_N_MOTIONS;
}

const char *
sv_eval_label_name (gboolean noun, int c)
{
  return c < 0 || c >= sv_eval_n_labels (noun) ? NULL : noun ? sv_synth_nouns[c] : motions[c];
}

static gboolean
one_object_scene (const SvEvalTruth *t, guint scene)
{
  guint n = 0;
  for (guint o = 0; o < t->objects->len; o++)
    n += ((SvEvalObject *) g_ptr_array_index (t->objects, o))->scene == scene;
  return n == 1;
}

int
sv_eval_label (gboolean noun, gboolean one_object, const SvEvalTruth *t, const SvEvalObject *ob)
{
  if (ob->scene != 0 || ((noun || one_object) && !one_object_scene (t, 0)))
    return -1;
  if (!noun)
    return sv_eval_motion_class (ob->motion);
  if (!ob->noun)
    return -1;
  for (int c = 0; c < sv_eval_n_labels (TRUE); c++)
    if (g_str_equal (ob->noun, sv_synth_nouns[c]))
      return c;
  return -1;
}

int
sv_eval_motion_class (const char *m)
{
  for (int c = 0; c < SV_EVAL_N_MOTIONS; c++)
    if (m && g_str_equal (m, motions[c]))
      return c;
  return -1;
}

int
sv_eval_majority (GArray *train_y, GArray *test_y, int n_classes, double *accuracy)
{
  guint *counts = g_new0 (guint, n_classes);
  for (guint i = 0; i < train_y->len; i++)
    counts[g_array_index (train_y, int, i)]++;
  int major = 0;
  for (int c = 1; c < n_classes; c++)
    if (counts[c] > counts[major])
      major = c;
  guint right = 0;
  for (guint i = 0; i < test_y->len; i++)
    right += g_array_index (test_y, int, i) == major;
  *accuracy = 100.0 * right / MAX (test_y->len, 1);
  g_free (counts);
  return major;
}

const char *
sv_eval_motion_name (int c)
{
  return c >= 0 && c < SV_EVAL_N_MOTIONS ? motions[c] : NULL;
}

/* examples: a video feature (and for vqa a question feature) with its answer */
typedef struct {
  guint dim, n;
  GArray *v, *q; /* float, n x dim */
  GArray *y;     /* int */
} Examples;

static void
examples_init (Examples *ex, guint dim)
{
  ex->dim = dim;
  ex->n = 0;
  ex->v = g_array_new (FALSE, FALSE, sizeof (float));
  ex->q = g_array_new (FALSE, FALSE, sizeof (float));
  ex->y = g_array_new (FALSE, FALSE, sizeof (int));
}

static void
examples_clear (Examples *ex)
{
  g_array_unref (ex->v);
  g_array_unref (ex->q);
  g_array_unref (ex->y);
}

/* the examples of every video of items: scene 0's clip, its objects' labels (for nouns,
 * scenes of one object only) */
static gboolean
collect (SvEval *ev, GPtrArray *items, gboolean vqa, gboolean noun, Examples *ex, const char *what,
         GError **error)
{
  for (guint i = 0; i < items->len; i++) {
    sv_eval_progress (ev, what, i, items->len);
    SvEvalItem *it = g_ptr_array_index (items, i);
    if (!it->truth)
      continue;
    g_autoptr (SvEvalTruth) t = sv_eval_truth_load (it->truth, NULL);
    if (!t || t->scenes->len == 0)
      continue;
    SvEvalFrames fr;
    if (!sv_eval_decode_item (ev, it, &fr))
      continue;
    SvEvalScene *sc = &g_array_index (t->scenes, SvEvalScene, 0);
    guint first = MIN (sc->start, fr.n - 1), n = MAX (MIN (sc->end, fr.n), first + 1) - first;
    g_autoptr (SvilmClip) clip = svilm_model_encode_prepared (ev->model, fr.ptr + first, n, error);
    sv_eval_frames_clear (&fr);
    if (!clip)
      return FALSE;
    gsize d = 0;
    const float *emb = svilm_clip_get_embedding (clip, &d);
    g_return_val_if_fail (d == ex->dim, FALSE);
    for (guint o = 0; o < t->objects->len; o++) {
      SvEvalObject *ob = g_ptr_array_index (t->objects, o);
      int c = sv_eval_label (noun, ev->one_object, t, ob);
      if (c < 0)
        continue;
      if (vqa) {
        g_autofree char *question = g_strdup_printf ("what does the %s do?", ob->phrase);
        gsize qd = 0;
        g_autofree float *q = svilm_model_encode_text (ev->model, question, &qd, error);
        if (!q)
          return FALSE;
        g_array_append_vals (ex->q, q, (guint) MIN (qd, ex->dim));
      }
      g_array_append_vals (ex->v, emb, ex->dim);
      g_array_append_val (ex->y, c);
      ex->n++;
      if (!vqa)
        break; /* the probe: one label a clip, the first object's */
    }
  }
  return TRUE;
}

/* every feature standardised with the training set's mean and deviation (frozen
 * embeddings sit in a narrow cone: a head sees their differences only once centred) */
static void
standardise (GArray *train, GArray *test, guint dim)
{
  guint n = train->len / dim;
  double *mean = g_new0 (double, dim), *var = g_new0 (double, dim);
  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < dim; j++)
      mean[j] += g_array_index (train, float, (gsize) i *dim + j) / n;
  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < dim; j++) {
      double d = g_array_index (train, float, (gsize) i *dim + j) - mean[j];
      var[j] += d * d / n;
    }
  GArray *sets[2] = { train, test };
  for (int s = 0; s < 2; s++)
    for (guint k = 0; k < sets[s]->len; k++) {
      float *x = &g_array_index (sets[s], float, k);
      *x = (float) ((*x - mean[k % dim]) / sqrt (var[k % dim] + 1e-12));
    }
  g_free (mean);
  g_free (var);
}

/* ---- a small head trained with Adam (host code: a few thousand examples) ---- */

typedef struct {
  guint n;
  float *w, *g, *m, *v;
} Param;

static void
param_init (Param *p, guint n, double scale, GRand *r)
{
  p->n = n;
  p->w = g_new (float, n);
  p->g = g_new0 (float, n);
  p->m = g_new0 (float, n);
  p->v = g_new0 (float, n);
  for (guint i = 0; i < n; i++)
    p->w[i] = (float) (scale * (g_rand_double (r) * 2 - 1));
}

static void
param_clear (Param *p)
{
  g_free (p->w);
  g_free (p->g);
  g_free (p->m);
  g_free (p->v);
}

static void
adam (Param *p, int t, double lr, double wd)
{
  const double b1 = 0.9, b2 = 0.999, c1 = 1 - pow (b1, t), c2 = 1 - pow (b2, t);
  for (guint i = 0; i < p->n; i++) {
    p->m[i] = (float) (b1 * p->m[i] + (1 - b1) * p->g[i]);
    p->v[i] = (float) (b2 * p->v[i] + (1 - b2) * p->g[i] * p->g[i]);
    p->w[i] -= (float) (lr * ((p->m[i] / c1) / (sqrt (p->v[i] / c2) + 1e-8) + wd * p->w[i]));
    p->g[i] = 0.0f;
  }
}

typedef struct {
  guint dim, hidden;
  int n_classes;        /* at most MAX_CLASSES */
  gboolean fusion;      /* vqa: the BUTD fusion; probe: logits = W_o v + b_o */
  Param wv, bv, wq, bq; /* fusion only */
  Param wo, bo;
} Head;

static void
head_init (Head *h, guint dim, int n_classes, gboolean fusion, GRand *r)
{
  h->dim = dim;
  h->n_classes = n_classes;
  h->fusion = fusion;
  h->hidden = fusion ? 256 : dim;
  if (fusion) {
    param_init (&h->wv, h->hidden * dim, 1.0 / sqrt (dim), r);
    param_init (&h->bv, h->hidden, 0.0, r);
    param_init (&h->wq, h->hidden * dim, 1.0 / sqrt (dim), r);
    param_init (&h->bq, h->hidden, 0.0, r);
  }
  param_init (&h->wo, (guint) n_classes * h->hidden, 1.0 / sqrt (h->hidden), r);
  param_init (&h->bo, (guint) n_classes, 0.0, r);
}

static void
head_clear (Head *h)
{
  if (h->fusion) {
    param_clear (&h->wv);
    param_clear (&h->bv);
    param_clear (&h->wq);
    param_clear (&h->bq);
  }
  param_clear (&h->wo);
  param_clear (&h->bo);
}

/* logits [n_classes] of one example; with grad (dlogits), accumulates the gradients */
static void
head_pass (Head *h, const float *v, const float *q, float *logits, const float *dlogits)
{
  guint H = h->hidden, D = h->dim;
  float *a = g_newa (float, H), *b = g_newa (float, H), *hid = g_newa (float, H);
  if (h->fusion) {
    for (guint k = 0; k < H; k++) {
      double sa = h->bv.w[k], sb = h->bq.w[k];
      for (guint j = 0; j < D; j++) {
        sa += h->wv.w[k * D + j] * v[j];
        sb += h->wq.w[k * D + j] * q[j];
      }
      a[k] = sa > 0 ? (float) sa : 0.0f;
      b[k] = sb > 0 ? (float) sb : 0.0f;
      hid[k] = a[k] * b[k];
    }
  } else {
    memcpy (hid, v, sizeof (float) * H);
  }
  if (!dlogits) {
    for (guint c = 0; c < (guint) h->n_classes; c++) {
      double s = h->bo.w[c];
      for (guint k = 0; k < H; k++)
        s += h->wo.w[c * H + k] * hid[k];
      logits[c] = (float) s;
    }
    return;
  }
  float *dhid = g_newa (float, H);
  memset (dhid, 0, sizeof (float) * H);
  for (guint c = 0; c < (guint) h->n_classes; c++) {
    h->bo.g[c] += dlogits[c];
    for (guint k = 0; k < H; k++) {
      h->wo.g[c * H + k] += dlogits[c] * hid[k];
      dhid[k] += dlogits[c] * h->wo.w[c * H + k];
    }
  }
  if (!h->fusion)
    return;
  for (guint k = 0; k < H; k++) {
    float da = a[k] > 0 ? dhid[k] * b[k] : 0.0f, db = b[k] > 0 ? dhid[k] * a[k] : 0.0f;
    h->bv.g[k] += da;
    h->bq.g[k] += db;
    for (guint j = 0; j < D; j++) {
      h->wv.g[k * D + j] += da * v[j];
      h->wq.g[k * D + j] += db * q[j];
    }
  }
}

static int
predict (Head *h, const float *v, const float *q)
{
  float logits[MAX_CLASSES];
  head_pass (h, v, q, logits, NULL);
  int best = 0;
  for (int c = 1; c < h->n_classes; c++)
    if (logits[c] > logits[best])
      best = c;
  return best;
}

/* full-batch Adam on the mean cross-entropy; returns the final training loss */
static double
train (Head *h, const Examples *ex, int epochs, double lr, double wd)
{
  double loss = 0.0;
  for (int e = 1; e <= epochs; e++) {
    loss = 0.0;
    for (guint i = 0; i < ex->n; i++) {
      const float *v = &g_array_index (ex->v, float, (gsize) i * ex->dim);
      const float *q = h->fusion ? &g_array_index (ex->q, float, (gsize) i * ex->dim) : NULL;
      float logits[MAX_CLASSES], d[MAX_CLASSES];
      int C = h->n_classes;
      head_pass (h, v, q, logits, NULL);
      float mx = logits[0];
      for (int c = 1; c < C; c++)
        mx = MAX (mx, logits[c]);
      double z = 0.0;
      for (int c = 0; c < C; c++)
        z += exp (logits[c] - mx);
      int y = g_array_index (ex->y, int, i);
      loss += (log (z) + mx - logits[y]) / ex->n;
      for (int c = 0; c < C; c++)
        d[c] = (float) ((exp (logits[c] - mx) / z - (c == y)) / ex->n);
      head_pass (h, v, q, logits, d);
    }
    if (h->fusion) {
      adam (&h->wv, e, lr, wd);
      adam (&h->bv, e, lr, 0.0);
      adam (&h->wq, e, lr, wd);
      adam (&h->bq, e, lr, 0.0);
    }
    adam (&h->wo, e, lr, wd);
    adam (&h->bo, e, lr, 0.0);
  }
  return loss;
}

static double
accuracy (Head *h, const Examples *ex)
{
  guint right = 0;
  for (guint i = 0; i < ex->n; i++) {
    const float *v = &g_array_index (ex->v, float, (gsize) i * ex->dim);
    const float *q = h->fusion ? &g_array_index (ex->q, float, (gsize) i * ex->dim) : NULL;
    right += predict (h, v, q) == g_array_index (ex->y, int, i);
  }
  return ex->n ? 100.0 * right / ex->n : 0.0;
}

static JsonNode *
run_head (SvEval *ev, gboolean vqa, gboolean noun, GError **error)
{
  const char *task = vqa ? "vqa" : noun ? "probe-noun" : "probe";
  int n_labels = sv_eval_n_labels (noun);
  g_assert (n_labels <= MAX_CLASSES);
  if (!ev->train_items || ev->train_items->len == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s needs training videos: none in split '%s'", task, ev->train_split);
    return NULL;
  }
  guint dim = (guint) svilm_model_get_embed_dim (ev->model);
  Examples tr, te;
  examples_init (&tr, dim);
  examples_init (&te, dim);
  JsonNode *result = NULL;
  if (!collect (ev, ev->train_items, vqa, noun, &tr, "encoding training videos", error) ||
      !collect (ev, ev->items, vqa, noun, &te, "encoding evaluation videos", error))
    goto out;
  if (tr.n < (guint) n_labels || te.n == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s: too few examples with a %s in the ground truth (%u to train, %u to "
                 "measure)",
                 task, noun ? "noun in a scene of one object" : "motion", tr.n, te.n);
    goto out;
  }
  double base = 0.0;
  int major = sv_eval_majority (tr.y, te.y, n_labels, &base);

  standardise (tr.v, te.v, dim);
  if (vqa)
    standardise (tr.q, te.q, dim);
  GRand *r = g_rand_new_with_seed (1);
  Head h;
  head_init (&h, dim, n_labels, vqa, r);
  g_rand_free (r);
  double loss = train (&h, &tr, vqa ? 150 : 300, vqa ? 3e-3 : 1e-2, 1e-4);
  double acc_train = accuracy (&h, &tr), acc = accuracy (&h, &te);
  head_clear (&h);

  printf ("%s: %u examples to train (split %s), %u to measure (split %s)\n",
          vqa              ? "video QA (\"what does the <phrase> do?\", 8 motions)"
          : noun           ? "linear probe (noun of a one-object scene's object, 13 classes)"
          : ev->one_object ? "linear probe (motion of a one-object scene's object, 8 classes)"
                           : "linear probe (motion of a scene's first object, 8 classes)",
          tr.n, ev->train_split, te.n, ev->split);
  printf ("  accuracy %.1f %% (training set %.1f %%, final training loss %.3f)\n", acc, acc_train,
          loss);
  printf ("  majority answer (\"%s\") %.1f %%, chance %.1f %%\n", sv_eval_label_name (noun, major),
          base, 100.0 / n_labels);
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  sv_eval_json_int (b, "train_examples", tr.n);
  sv_eval_json_int (b, "examples", te.n);
  sv_eval_json_double (b, "accuracy", acc);
  sv_eval_json_double (b, "train_accuracy", acc_train);
  sv_eval_json_double (b, "majority_accuracy", base);
  sv_eval_json_double (b, "chance", 100.0 / n_labels);
  json_builder_end_object (b);
  result = json_builder_get_root (b);
  g_object_unref (b);
out:
  examples_clear (&tr);
  examples_clear (&te);
  return result;
}

JsonNode *
sv_eval_probe (SvEval *ev, GError **error)
{
  return run_head (ev, FALSE, FALSE, error);
}

JsonNode *
sv_eval_probe_noun (SvEval *ev, GError **error)
{
  return run_head (ev, FALSE, TRUE, error);
}

JsonNode *
sv_eval_vqa (SvEval *ev, GError **error)
{
  return run_head (ev, TRUE, FALSE, error);
}
