/* svilm-train eval --task finetune|finetune-noun: the paper's fine-tuned action recognition
 * (UCF101 / HMDB51) on the synthetic corpus.  The video encoder and a linear head on its clip
 * embedding are trained end to end on the motion of a scene's first object (8 classes:
 * the probe's labels), or (finetune-noun) on what the object of a one-object first scene is
 * (13 nouns: can this encoder learn shapes from labels at all?), then measured on --split.  The
 * probe (eval-probe.c) keeps the encoder frozen; the difference between the two says how much the
 * pre-trained features hold and how much a little supervision can still move them.
 *
 * Training: the model file's weights (a copy: the file is not changed), AdamW, batches of
 * FT_BATCH clips (a batch wraps around a smaller set), --finetune-epochs passes over the training
 * examples in a fixed shuffled order, Gumbel noise in the grouping blocks as in pre-training;
 * cosine decay after a 5 % warm-up.  logits = W (sqrt(E) f_v) + b: f_v has unit length, the scale
 * gives the head inputs of unit size per component.  Measured without noise (inference mode), on
 * the CPU backend.
 */
#include "eval.h"

#include "sv-backend.h"
#include "sv-model.h"
#include "sv-ops.h"
#include "sv-optim.h"
#include "sv-rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FT_BATCH 16
#define FT_MAX_CLASSES 16
#define FT_LR_HEAD 1e-3

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    if (!(expr))                                                                                   \
      goto fail;                                                                                   \
  } while (0)

/* clips [n, T, H, W, 3] of the model's input with their labels */
typedef struct {
  guint n;
  gsize floats; /* one clip */
  GArray *x;    /* float */
  GArray *y;    /* int */
} Clips;

/* the clip of every video's first scene (T frames sampled as the elements sample them),
 * labelled with the scene's first object's motion or (noun) what it is */
static gboolean
collect (SvEval *ev, GPtrArray *items, guint T, gboolean noun, Clips *out, const char *what)
{
  gsize frame = svilm_model_get_frame_floats (ev->model);
  out->floats = frame * T;
  for (guint i = 0; i < items->len; i++) {
    sv_eval_progress (ev, what, i, items->len);
    SvEvalItem *it = g_ptr_array_index (items, i);
    if (!it->truth)
      continue;
    g_autoptr (SvEvalTruth) t = sv_eval_truth_load (it->truth, NULL);
    if (!t || t->scenes->len == 0)
      continue;
    int label = -1;
    for (guint o = 0; o < t->objects->len; o++) {
      SvEvalObject *ob = g_ptr_array_index (t->objects, o);
      if (ob->scene == 0) {
        label = sv_eval_label (noun, ev->one_object, t, ob);
        break;
      }
    }
    if (label < 0)
      continue;
    SvEvalFrames fr;
    if (!sv_eval_decode_item (ev, it, &fr))
      continue;
    SvEvalScene *sc = &g_array_index (t->scenes, SvEvalScene, 0);
    guint first = MIN (sc->start, fr.n - 1), n = MAX (MIN (sc->end, fr.n), first + 1) - first;
    for (guint k = 0; k < T; k++)
      g_array_append_vals (out->x, fr.ptr[first + svilm_clip_source_frame (k, n, T)],
                           (guint) frame);
    g_array_append_val (out->y, label);
    out->n++;
    sv_eval_frames_clear (&fr);
  }
  return TRUE;
}

/* the encoder's training activations and the head, for batches of B clips */
typedef struct {
  SvModel *m;
  int B, C, E;
  SvVarSet *acts, *head;
  SvVideoActs va;
  SvBlockScratch scratch;
  SvVar w, b;              /* head [C, E], [C] */
  SvVar feat, logits;      /* [B, E] = sqrt(E) f_v, [B, C] */
  SvTensor probs, targets; /* [B, C] */
  SvVar loss;              /* [1] */
} Finetune;

static void
finetune_clear (Finetune *f)
{
  sv_var_set_free (f->acts);
  sv_var_set_free (f->head);
}

static gboolean
finetune_init (Finetune *f, SvModel *m, int C, GError **error)
{
  const SvModelConfig *c = &m->cfg;
  int B = FT_BATCH, E = c->embed_dim;
  memset (f, 0, sizeof *f);
  f->m = m;
  f->B = B;
  f->C = C;
  f->E = E;
  f->acts = sv_var_set_new (m->backend);
  f->head = sv_var_set_new (m->backend);
  if (!sv_video_acts_plan (f->acts, &f->va, c, B, TRUE, error) ||
      !sv_var_plan (f->acts, &f->feat, SV_INIT_ZERO, SV_SHAPE (B, E), error, "ft.feat") ||
      !sv_var_plan (f->acts, &f->logits, SV_INIT_ZERO, SV_SHAPE (B, C), error, "ft.logits") ||
      !sv_var_plan (f->acts, &f->loss, SV_INIT_ZERO, SV_SHAPE (1), error, "ft.loss") ||
      !sv_arena_alloc (f->acts->x, &f->probs, SV_F32, SV_SHAPE (B, C), "ft.probs", error) ||
      !sv_arena_alloc (f->acts->x, &f->targets, SV_F32, SV_SHAPE (B, C), "ft.targets", error))
    return FALSE;
  int64_t att = 0;
  for (int l = 0; l < c->v_depth; l++)
    att = MAX (att, sv_block_scratch_floats (&f->va.blocks[l]));
  if (!sv_arena_alloc (f->acts->x, &f->scratch.att, SV_F32, 1, &att, "ft.scratch.att", error) ||
      !sv_arena_alloc (f->acts->x, &f->scratch.assign, SV_F32, SV_SHAPE (B * c->n_groups),
                       "ft.scratch.assign", error) ||
      !sv_var_set_commit (f->acts, error) || !sv_video_acts_init (&f->va, c, error))
    return FALSE;
  if (!sv_var_plan (f->head, &f->w, SV_INIT_NORMAL, SV_SHAPE (C, E), error, "head.weight") ||
      !sv_var_plan (f->head, &f->b, SV_INIT_ZERO, SV_SHAPE (C), error, "head.bias") ||
      !sv_var_set_commit (f->head, error))
    return FALSE;
  SvRng rng;
  sv_rng_seed (&rng, 1);
  return sv_var_set_init (f->head, &rng, error);
}

/* logits of clips [B, T, H, W, 3]: training with Gumbel noise from (seed, step) */
static gboolean
forward (Finetune *f, const float *clips, gboolean training, guint64 step, GError **error)
{
  const SvModelConfig *c = &f->m->cfg;
  if (!sv_tensor_upload (&f->va.video, clips, f->va.video.numel * sizeof (float), error))
    return FALSE;
  if (training && !sv_video_acts_set_noise (&f->va, c, NULL, step, error))
    return FALSE;
  return sv_video_forward (&f->m->video, &f->va, c, training, error) &&
         sv_scale_forward (&f->feat.x, &f->va.fv.x, sqrtf ((float) f->E), error) &&
         sv_linear_forward (&f->logits.x, &f->feat.x, &f->w.x, &f->b.x, error);
}

/* cross-entropy of the last forward against labels y[B], and every gradient */
static gboolean
backward (Finetune *f, const int *y, float *loss, GError **error)
{
  float *t = g_new0 (float, (gsize) f->B * f->C), one = 1.0f;
  for (int i = 0; i < f->B; i++)
    t[i * f->C + y[i]] = 1.0f;
  gboolean ok = sv_tensor_upload (&f->targets, t, sizeof (float) * f->B * f->C, error);
  g_free (t);
  if (!ok || !sv_var_set_zero_grad (f->acts, error) ||
      !sv_var_set_zero_grad (f->m->params, error) || !sv_var_set_zero_grad (f->head, error) ||
      !sv_softmax_xent_forward (&f->loss.x, &f->probs, &f->logits.x, &f->targets, error) ||
      !sv_tensor_download (&f->loss.x, loss, sizeof *loss, error) ||
      !sv_tensor_upload (&f->loss.d, &one, sizeof one, error) ||
      !sv_softmax_xent_backward (&f->logits.d, &f->loss.d, &f->probs, &f->targets, error) ||
      !sv_linear_backward (&f->feat.d, &f->w.d, &f->b.d, &f->logits.d, &f->feat.x, &f->w.x,
                           error) ||
      !sv_scale_backward (&f->va.fv.d, &f->feat.d, sqrtf ((float) f->E), error))
    return FALSE;
  return sv_video_backward (&f->m->video, &f->va, &f->m->cfg, &f->scratch, error);
}

/* batch k of an order: FT_BATCH example indices (the last batch wraps around) */
static void
batch_of (const guint *order, guint n, guint k, guint *idx)
{
  for (int i = 0; i < FT_BATCH; i++)
    idx[i] = order[((gsize) k * FT_BATCH + i) % n];
}

static void
gather (const Clips *cl, const guint *idx, float *clips, int *y)
{
  for (int i = 0; i < FT_BATCH; i++) {
    memcpy (clips + (gsize) i * cl->floats, &g_array_index (cl->x, float, idx[i] * cl->floats),
            cl->floats * sizeof (float));
    y[i] = g_array_index (cl->y, int, idx[i]);
  }
}

/* accuracy in % of the examples of cl, in inference mode */
static gboolean
measure (Finetune *f, const Clips *cl, double *acc, GError **error)
{
  guint *order = g_new (guint, cl->n), idx[FT_BATCH], right = 0;
  float *clips = g_new (float, cl->floats *FT_BATCH), logits[FT_BATCH * FT_MAX_CLASSES];
  int y[FT_BATCH];
  gboolean ok = TRUE;
  for (guint i = 0; i < cl->n; i++)
    order[i] = i;
  for (guint k = 0; ok && k * FT_BATCH < cl->n; k++) {
    batch_of (order, cl->n, k, idx);
    gather (cl, idx, clips, y);
    ok = forward (f, clips, FALSE, 0, error) &&
         sv_tensor_download (&f->logits.x, logits, sizeof (float) * FT_BATCH * f->C, error);
    for (int i = 0; ok && i < FT_BATCH && k * FT_BATCH + i < cl->n; i++) {
      int best = 0;
      for (int j = 1; j < f->C; j++)
        if (logits[i * f->C + j] > logits[i * f->C + best])
          best = j;
      right += best == y[i];
    }
  }
  *acc = 100.0 * right / MAX (cl->n, 1);
  g_free (order);
  g_free (clips);
  return ok;
}

static JsonNode *
run_finetune (SvEval *ev, gboolean noun, GError **error)
{
  JsonNode *result = NULL;
  Clips tr = { 0 }, te = { 0 };
  Finetune f = { 0 };
  SvModel *m = NULL;
  SvOptimizer *opt_enc = NULL, *opt_head = NULL;
  float *clips = NULL;
  guint *order = NULL;
  if (!ev->train_items || ev->train_items->len == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "finetune needs training videos: none in split '%s'", ev->train_split);
    return NULL;
  }
  m = sv_model_load_full (ev->model_path, sv_backend_cpu (), TRUE, error);
  if (!m)
    return NULL;
  guint T = (guint) m->cfg.frames;
  tr.x = g_array_new (FALSE, FALSE, sizeof (float));
  tr.y = g_array_new (FALSE, FALSE, sizeof (int));
  te.x = g_array_new (FALSE, FALSE, sizeof (float));
  te.y = g_array_new (FALSE, FALSE, sizeof (int));
  collect (ev, ev->train_items, T, noun, &tr, "decoding training videos");
  collect (ev, ev->items, T, noun, &te, "decoding evaluation videos");
  guint n_classes = (guint) sv_eval_n_labels (noun);
  g_assert (n_classes <= FT_MAX_CLASSES);
  if (tr.n < n_classes || te.n == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "finetune: too few examples with a %s in the ground truth (%u to train, at "
                 "least %u needed; %u to measure)",
                 noun ? "noun in a scene of one object" : "motion", tr.n, n_classes, te.n);
    goto fail;
  }
  TRY (finetune_init (&f, m, (int) n_classes, error));
  SvOptimConfig oc;
  sv_optim_config_init (&oc, SV_OPTIM_ADAMW);
  oc.max_grad_norm = 1.0f;
  TRY ((opt_enc = sv_optim_new (m->params, &oc, error)));
  TRY ((opt_head = sv_optim_new (f.head, &oc, error)));

  guint per_epoch = (tr.n + FT_BATCH - 1) / FT_BATCH;
  gint64 steps = (gint64) per_epoch * ev->finetune_epochs;
  SvLrSchedule s_enc, s_head;
  sv_lr_schedule_init (&s_enc, (float) ev->finetune_lr, steps);
  sv_lr_schedule_init (&s_head, (float) FT_LR_HEAD, steps);
  order = g_new (guint, tr.n);
  clips = g_new (float, tr.floats *FT_BATCH);
  GRand *r = g_rand_new_with_seed (1);
  double first_loss = 0.0, last_loss = 0.0;
  guint n_first = 0, n_last = 0;
  gint64 step = 0;
  for (int e = 0; e < (int) ev->finetune_epochs; e++) {
    for (guint i = 0; i < tr.n; i++)
      order[i] = i;
    for (guint i = tr.n - 1; i > 0; i--) { /* Fisher-Yates */
      guint j = (guint) g_rand_int_range (r, 0, (gint32) i + 1), tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
    for (guint k = 0; k < per_epoch; k++, step++) {
      sv_eval_progress (ev, "fine-tuning", (guint) step, (guint) steps);
      guint idx[FT_BATCH];
      int y[FT_BATCH];
      float loss = 0.0f;
      double gn = 0.0;
      batch_of (order, tr.n, k, idx);
      gather (&tr, idx, clips, y);
      if (!forward (&f, clips, TRUE, (guint64) step, error) || !backward (&f, y, &loss, error) ||
          !sv_optim_step (opt_enc, sv_lr_at (&s_enc, step), &gn, error) ||
          !sv_optim_step (opt_head, sv_lr_at (&s_head, step), &gn, error)) {
        g_rand_free (r);
        goto fail;
      }
      if (e == 0) {
        first_loss += loss;
        n_first++;
      }
      if (e == (int) ev->finetune_epochs - 1) {
        last_loss += loss;
        n_last++;
      }
    }
  }
  g_rand_free (r);
  sv_eval_progress (ev, "fine-tuning", (guint) steps, (guint) steps);
  double acc_train = 0.0, acc = 0.0;
  TRY (measure (&f, &tr, &acc_train, error));
  TRY (measure (&f, &te, &acc, error));
  first_loss /= MAX (n_first, 1);
  last_loss /= MAX (n_last, 1);

  printf ("fine-tuning (encoder + linear head, %s, %u classes): "
          "%u examples to train (split %s), %u to measure (split %s)\n",
          noun             ? "noun of a one-object scene's object"
          : ev->one_object ? "motion of a one-object scene's object"
                           : "motion of a scene's first object",
          n_classes, tr.n, ev->train_split, te.n, ev->split);
  printf ("  %u epochs of batches of %d (%" G_GINT64_FORMAT " steps), AdamW lr %g (encoder) / "
          "%g (head); mean loss first epoch %.3f, last %.3f\n",
          ev->finetune_epochs, FT_BATCH, steps, ev->finetune_lr, FT_LR_HEAD, first_loss, last_loss);
  double base = 0.0;
  int major = sv_eval_majority (tr.y, te.y, (int) n_classes, &base);
  printf ("  accuracy %.1f %% (training set %.1f %%)\n", acc, acc_train);
  printf ("  majority answer (\"%s\") %.1f %%, chance %.1f %%\n", sv_eval_label_name (noun, major),
          base, 100.0 / n_classes);
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  sv_eval_json_int (b, "train_examples", tr.n);
  sv_eval_json_int (b, "examples", te.n);
  sv_eval_json_int (b, "steps", steps);
  sv_eval_json_double (b, "accuracy", acc);
  sv_eval_json_double (b, "train_accuracy", acc_train);
  sv_eval_json_double (b, "loss_first_epoch", first_loss);
  sv_eval_json_double (b, "loss_last_epoch", last_loss);
  sv_eval_json_double (b, "majority_accuracy", base);
  sv_eval_json_double (b, "chance", 100.0 / n_classes);
  json_builder_end_object (b);
  result = json_builder_get_root (b);
  g_object_unref (b);
fail:
  g_free (order);
  g_free (clips);
  sv_optim_free (opt_enc);
  sv_optim_free (opt_head);
  if (f.acts)
    finetune_clear (&f);
  sv_model_free (m);
  g_array_unref (tr.x);
  g_array_unref (tr.y);
  g_array_unref (te.x);
  g_array_unref (te.y);
  return result;
}

JsonNode *
sv_eval_finetune (SvEval *ev, GError **error)
{
  return run_finetune (ev, FALSE, error);
}

JsonNode *
sv_eval_finetune_noun (SvEval *ev, GError **error)
{
  return run_finetune (ev, TRUE, error);
}
