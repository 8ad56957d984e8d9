/* svilm-train pretrain: S-ViLM pre-training with cut-and-paste, temporal grouping, spatial
 * grounding and the global contrastive loss (docs/training.md). */
#include "pretrain.h"

#include "checkpoint.h"
#include "cutpaste.h"
#include "dataset.h"
#include "dist.h"
#include "pretrain-options.h"
#include "progress.h"
#include "word-weights.h"
#include "sv-backend.h"
#include "sv-error.h"
#include "sv-train-cmds.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CMD "pretrain"

static volatile sig_atomic_t stop_signal = 0;

static void
on_signal (int sig)
{
  stop_signal = sig;
}

typedef struct {
  SvTrainOptions o;
  char *out, *metrics;
  SvDataset *ds;
  SvBackend *backend;
  SvModel *model;
  SvOptimizer *opt;
  SvTrainPass *pass;
  SvNounChunker *nc;
  /* A step is n_lanes micro-batches of o.batch videos (accum per process x processes);
   * lane g reads data positions g, g + n_lanes, ... and is decoded by process
   * g mod processes, into pf[g / processes] */
  int n_lanes, n_mine;
  SvPrefetch **pf;
  uint64_t *lane_pos; /* [n_lanes] next position of each lane (this process's are live) */
  gboolean leader;    /* process 0: writes checkpoints, metrics and the model */
  float *grads;       /* host copy of the gradients, summed across processes */
  SvCutPaste *cp;
  SvProgress *progress;
  SvLrSchedule sched;
  SvLossWeights w;
  SvTrainState st;
  int64_t start_step, saved_step;
  float *clips, *video, *mask;
  int32_t *ids;
  int *n_phrases;      /* [B] the batch's captions' noun phrase counts (SvSample) */
  float *held;         /* [B*Q] which negatives L_s holds apart (--separate-which sides) */
  gboolean sides_only; /* --separate-which sides */
  float *word_weight;  /* [vocab] L_words' target weights (--words-weighting idf), or NULL */
  float *within;       /* [B*K, K] L_w's targets */
  size_t clip_numel;
  GHashTable *unreadable;        /* item index -> first error (owned) */
  SvHardBatches *hard;           /* --hard-negatives, or NULL */
  SvCaptionNegatives *negatives; /* --text-negatives' swap vocabulary, or NULL */
  guint64 skip_events;
  char *last_checkpoint;
} Trainer;

static void
trainer_clear (Trainer *t)
{
  sv_progress_free (t->progress);
  for (int i = 0; t->pf && i < t->n_mine; i++)
    sv_prefetch_free (t->pf[i]);
  g_free (t->pf);
  sv_hard_batches_free (t->hard);
  sv_caption_negatives_free (t->negatives);
  g_free (t->lane_pos);
  g_free (t->grads);
  g_free (t->st.lanes);
  sv_cutpaste_free (t->cp);
  sv_train_pass_free (t->pass);
  if (t->opt)
    sv_optim_free (t->opt);
  sv_model_free (t->model);
  if (t->nc)
    sv_noun_chunker_free (t->nc);
  sv_dataset_free (t->ds);
  sv_backend_unref (t->backend);
  if (t->unreadable)
    g_hash_table_destroy (t->unreadable);
  g_free (t->clips);
  g_free (t->video);
  g_free (t->mask);
  g_free (t->ids);
  g_free (t->n_phrases);
  g_free (t->held);
  g_free (t->word_weight);
  g_free (t->within);
  g_free (t->out);
  g_free (t->metrics);
  g_free (t->st.options);
  g_free (t->last_checkpoint);
  sv_train_options_clear (&t->o);
}

SvTokenizer *
sv_train_learn_tokenizer (SvDataset *ds, guint vocab, GError **error)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  guint n = ds->items->len, stride = MAX (1u, n / 200000u);
  for (guint i = 0; i < n; i += stride) {
    SvDataItem *it = g_ptr_array_index (ds->items, i);
    g_ptr_array_add (texts, g_strdup (it->caption));
    for (char **p = it->nouns; p && *p; p++)
      g_ptr_array_add (texts, g_strdup (*p));
  }
  for (guint k = 0; k < SV_N_PROMPT_TEMPLATES; k++)
    g_ptr_array_add (texts, sv_prompt_fill (k, "right left"));
  SvTokenizer *tok =
      sv_tokenizer_train ((const char *const *) texts->pdata, texts->len, vocab, error);
  g_ptr_array_unref (texts);
  return tok;
}

/* the tokenizer of a fresh run: --tokenizer FILE, or learnt from the manifest */
static SvTokenizer *
run_tokenizer (Trainer *t, GError **error)
{
  guint vocab = (guint) t->model->cfg.vocab;
  if (!t->o.tokenizer)
    return sv_train_learn_tokenizer (t->ds, vocab, error);
  char *json = NULL;
  if (!g_file_get_contents (t->o.tokenizer, &json, NULL, error))
    return NULL;
  SvTokenizer *tok = sv_tokenizer_from_json (json, error);
  g_free (json);
  if (!tok) {
    g_prefix_error (error, "%s: ", t->o.tokenizer);
    return NULL;
  }
  if (sv_tokenizer_vocab_size (tok) > vocab) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s has %u tokens but the model's vocabulary has %u: learn it with --vocab %u "
                 "or raise \"vocab\" in the config",
                 t->o.tokenizer, sv_tokenizer_vocab_size (tok), vocab, vocab);
    sv_tokenizer_free (tok);
    return NULL;
  }
  return tok;
}

/* every lane's next position, from the processes that read them (collective) */
static gboolean
gather_lanes (Trainer *t, GError **error)
{
  int W = sv_dist_size (), R = sv_dist_rank ();
  uint64_t *all = g_new0 (uint64_t, t->n_lanes);
  for (int g = R; g < t->n_lanes; g += W)
    all[g] = t->lane_pos[g];
  if (!sv_dist_sum_u64 (all, (size_t) t->n_lanes, error)) {
    g_free (all);
    return FALSE;
  }
  g_free (t->st.lanes);
  t->st.n_lanes = (guint) t->n_lanes;
  t->st.lanes = t->n_lanes > 1 ? g_memdup2 (all, sizeof (uint64_t) * t->n_lanes) : NULL;
  t->st.data_position = all[0];
  g_free (all);
  return TRUE;
}

static gboolean
save_checkpoint (Trainer *t, int64_t step, GError **error)
{
  if (!gather_lanes (t, error))
    return FALSE;
  if (!t->leader) {
    t->saved_step = step;
    return TRUE;
  }
  char *written = NULL;
  t->st.step = step;
  GError *err = NULL;
  if (!sv_checkpoint_save (t->out, t->model, t->opt, &t->st, t->o.keep, &written, &err)) {
    if (t->last_checkpoint)
      g_set_error (error, err->domain, err->code, "%s; the previous checkpoint %s is intact",
                   err->message, t->last_checkpoint);
    else
      g_propagate_error (error, g_steal_pointer (&err));
    g_clear_error (&err);
    return FALSE;
  }
  g_free (t->last_checkpoint);
  t->last_checkpoint = written;
  t->saved_step = step;
  return TRUE;
}

/* a flag that is never raised: with several processes, a batch is always completed and
 * they agree on stopping between steps */
static volatile sig_atomic_t never = 0;

/* B samples of lane g into clips/ids/mask; 1 ok, 0 stopped by a signal, -1 error */
static int
next_batch (Trainer *t, int g, double *wait_s, GError **error)
{
  const SvModelConfig *c = &t->model->cfg;
  int B = t->o.batch, K = c->n_nouns, L = c->max_len, Q = t->pass->Q;
  SvPrefetch *pf = t->pf[g / sv_dist_size ()];
  guint consecutive = 0;
  for (int i = 0; i < B; i++) {
    for (;;) {
      SvSample *s = sv_prefetch_next (pf, sv_dist_size () > 1 ? &never : &stop_signal, wait_s);
      if (!s)
        return 0; /* the caller rewinds the lanes: the partial batch is read again on resume */
      t->lane_pos[g] = s->position + (uint64_t) t->n_lanes;
      if (!s->ok) {
        t->skip_events++;
        SvDataItem *it = g_ptr_array_index (t->ds->items, s->item);
        if (!g_hash_table_contains (t->unreadable, GUINT_TO_POINTER (s->item))) {
          g_hash_table_insert (t->unreadable, GUINT_TO_POINTER (s->item), NULL);
          if (t->progress)
            sv_progress_print (t->progress, stderr,
                               "svilm-train pretrain: warning: skipping %s: %s", it->video,
                               s->error);
          else
            g_printerr ("svilm-train pretrain: warning: skipping %s: %s\n", it->video, s->error);
        }
        sv_sample_free (s);
        if (++consecutive >= t->ds->items->len) {
          g_set_error (error, SV_ERROR, SV_ERROR_IO,
                       "none of the %u videos of %s can be read (see the warnings above)",
                       t->ds->items->len, t->ds->path);
          return -1;
        }
        continue;
      }
      consecutive = 0;
      memcpy (t->clips + (size_t) i * t->clip_numel, s->clip, t->clip_numel * sizeof (float));
      /* the batch's text rows (SvTrainBatch): captions, negatives, prompts */
      size_t rows[3] = { (size_t) i, (size_t) B + (size_t) i * Q,
                         (size_t) B * (1 + Q) + (size_t) i * K };
      size_t counts[3] = { 1, (size_t) Q, (size_t) K }, from = 0;
      for (int part = 0; part < 3; part++) {
        memcpy (t->ids + rows[part] * L, s->ids + from * L, counts[part] * L * sizeof (int32_t));
        memcpy (t->mask + rows[part] * L, s->mask + from * L, counts[part] * L * sizeof (float));
        from += counts[part];
      }
      t->n_phrases[i] = s->n_phrases;
      for (int q = 0; q < Q; q++) /* the mirrored copy is always negative 0 */
        t->held[i * Q + q] = (float) (q == 0 && s->side_negative);
      sv_sample_free (s);
      break;
    }
  }
  return 1;
}

static uint64_t
noise_seed (uint64_t seed, int64_t step)
{
  uint64_t z = seed ^ ((uint64_t) step * 0x9E3779B97F4A7C15ull) ^ 0x6A09E667F3BCC908ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* sums the gradients (and loss terms) of every process: each process's are already
 * weighted by 1 / n_lanes, so the sums are the step's means */
static gboolean
sum_across_processes (Trainer *t, float *terms, int n_terms, GError **error)
{
  SvVarSet *ps = t->model->params;
  size_t total = sv_var_set_numel (ps), off = 0;
  if (!t->grads)
    t->grads = g_new (float, total + (size_t) n_terms);
  for (guint i = 0; i < sv_var_set_len (ps); i++) {
    SvVar *v = sv_var_set_get (ps, i);
    if (!sv_tensor_download (&v->d, t->grads + off, v->d.numel * sizeof (float), error))
      return FALSE;
    off += v->d.numel;
  }
  memcpy (t->grads + total, terms, sizeof (float) * n_terms);
  if (!sv_dist_sum_floats (t->grads, total + (size_t) n_terms, error))
    return FALSE;
  memcpy (terms, t->grads + total, sizeof (float) * n_terms);
  off = 0;
  for (guint i = 0; i < sv_var_set_len (ps); i++) {
    SvVar *v = sv_var_set_get (ps, i);
    if (!sv_tensor_upload (&v->d, t->grads + off, v->d.numel * sizeof (float), error))
      return FALSE;
    off += v->d.numel;
  }
  return TRUE;
}

/* one optimiser step over the step's n_lanes micro-batches (this process's share of
 * them): 1 done, 0 stopped before it, -1 error */
static int
train_step (Trainer *t, int64_t step, GError **error)
{
  const SvModelConfig *c = &t->model->cfg;
  int A = t->n_lanes, W = sv_dist_size (), R = sv_dist_rank ();
  gint64 t0 = g_get_monotonic_time ();
  double wait = 0.0;
  /* --contrast-warmup: the first steps are plain contrastive ones (whole videos, no L_t,
   * no L_g), so that the embeddings spread out before the S-ViLM objective starts; the
   * terms on the embeddings alone (L_s, L_words) stay */
  gboolean warm = step < t->o.contrast_warmup;
  SvLossWeights full = t->w;
  if (warm)
    full = (SvLossWeights){ .contrast = t->w.contrast > 0.0f ? t->w.contrast : 1.0f,
                            .separate = t->w.separate,
                            .words = t->w.words };
  if (step < t->o.separate_from)
    full.separate = 0.0f;
  t->cp->off = warm || !t->o.cut_paste;
  /* micro-batch gradients add up: weights / A make the sum the mean */
  SvLossWeights w = { full.temporal / A, full.grounding / A, full.contrast / A, full.csal / A,
                      full.within / A,   full.separate / A,  full.words / A };
  float terms[7] = { 0 }; /* mean loss terms: t, g, c, csal, within, separate, words */
  SvRng rng_at_start = t->st.rng;
  uint64_t *pos_at_start = g_memdup2 (t->lane_pos, sizeof (uint64_t) * A);
  if (!sv_var_set_zero_grad (t->model->params, error))
    goto fail;
  for (int g = 0; g < A; g++) {
    /* every process draws every lane's cut-and-paste, so the RNG stays the same everywhere */
    sv_cutpaste_sample (t->cp, &t->st.rng);
    if (g % W != R)
      continue;
    int r = next_batch (t, g, &wait, error);
    if (r < 0)
      goto fail;
    if (r == 0) { /* stopped: this step never happened */
      t->st.rng = rng_at_start;
      memcpy (t->lane_pos, pos_at_start, sizeof (uint64_t) * A);
      g_free (pos_at_start);
      return 0;
    }
    sv_cutpaste_apply (t->cp, t->clips, t->video, c->tubelet_t, (size_t) c->height * c->width * 3);
    SvTrainBatch b = { .video = t->video,
                       .ids = t->ids,
                       .mask = t->mask,
                       .fg = t->cp->fg,
                       .Wv = t->cp->Wv,
                       .noise = NULL,
                       .noise_seed = noise_seed ((uint64_t) t->o.seed, step * A + g),
                       .within_targets = w.within > 0 ? t->within : NULL,
                       .separate_held = t->sides_only ? t->held : NULL,
                       .word_weight = t->word_weight };
    if (w.within > 0)
      sv_within_targets (t->n_phrases, t->o.batch, c->n_nouns, t->within);
    if (!sv_train_pass_forward (t->pass, &b, &w, error))
      goto fail;
    if (!isfinite (t->pass->loss)) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                   "the loss is not finite at step %" G_GINT64_FORMAT
                   " (t %g g %g c %g csal %g): lower --lr or set --clip-grad",
                   step + 1, t->pass->loss_temporal, t->pass->loss_grounding,
                   t->pass->loss_contrast, t->pass->loss_csal);
      goto fail;
    }
    if (!sv_train_pass_backward (t->pass, &w, error))
      goto fail;
    terms[0] += t->pass->loss_temporal / A;
    terms[1] += t->pass->loss_grounding / A;
    terms[2] += t->pass->loss_contrast / A;
    terms[3] += t->pass->loss_csal / A;
    terms[4] += t->pass->loss_within / A;
    terms[5] += t->pass->loss_separate / A;
    terms[6] += t->pass->loss_words / A;
  }
  g_free (pos_at_start);
  if (W > 1 && !sum_across_processes (t, terms, 7, error))
    return -1;
  float lr = sv_lr_at (&t->sched, step);
  double gnorm = 0.0;
  if (!sv_optim_step (t->opt, lr, &gnorm, error)) {
    g_prefix_error (
        error, "training diverged at step %" G_GINT64_FORMAT " (lower --lr or set --clip-grad): ",
        step + 1);
    return -1;
  }
  if (!t->leader)
    return 1;
  SvProgressStep ps = {
    .step = step + 1,
    .total = t->o.steps,
    .loss = full.temporal * terms[0] + full.grounding * terms[1] + full.contrast * terms[2] +
            full.csal * terms[3] + full.within * terms[4] + full.separate * terms[5] +
            full.words * terms[6],
    .loss_temporal = terms[0],
    .loss_grounding = terms[1],
    .loss_contrast = terms[2],
    .loss_csal = terms[3],
    .loss_within = terms[4],
    .loss_separate = terms[5],
    .loss_words = terms[6],
    .lr = lr,
    .grad_norm = gnorm,
    .step_time = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC,
    .data_wait = wait,
    .batch = t->o.batch * A,
  };
  return sv_progress_step (t->progress, &ps, error) ? 1 : -1;
fail:
  g_free (pos_at_start);
  return -1;
}

/* model, tokenizer, optimiser and state: fresh or from the newest checkpoint */
static gboolean
setup_model (Trainer *t, const char *config, gboolean resume, const SvTrainOptions *cli,
             GError **error)
{
  char *latest = sv_checkpoint_latest (t->out);
  SvModelConfig mc;
  SvTrainOptions file;
  sv_train_options_unset (&file);
  gboolean ok = FALSE;
  if (!resume && latest) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s already has checkpoints (%s); use --resume to continue that run or choose "
                 "another --out",
                 t->out, latest);
    goto out;
  }
  if (resume && latest) {
    t->model = sv_checkpoint_load (latest, t->backend, &t->st, error);
    if (!t->model)
      goto out;
    if (t->st.options && !sv_train_options_from_json (&t->o, t->st.options, latest, error))
      goto out;
    t->start_step = t->saved_step = t->st.step;
    t->last_checkpoint = g_strdup (latest);
  } else if (resume) {
    g_printerr ("svilm-train pretrain: no checkpoint in %s yet: starting from scratch.\n", t->out);
  }
  if (config && !sv_train_read_config (config, &mc, &file, error))
    goto out;
  sv_train_options_merge (&t->o, &file);
  sv_train_options_merge (&t->o, cli);
  if (!t->o.data) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "no manifest: --data MANIFEST is required");
    goto out;
  }
  if (!t->model) {
    if (!config) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "--config is required to start a run");
      goto out;
    }
    t->model = sv_model_new (&mc, t->backend, (guint64) t->o.seed, error);
    if (!t->model)
      goto out;
    sv_rng_seed (&t->st.rng, (uint64_t) t->o.seed ^ 0xC0FFEEull);
  } else if (config) {
    char *a = sv_model_config_to_json (&mc), *b = sv_model_config_to_json (&t->model->cfg);
    if (!g_str_equal (a, b))
      g_printerr ("svilm-train pretrain: note: the model of %s differs from %s; continuing "
                  "with the checkpoint's.\n",
                  latest, config);
    g_free (a);
    g_free (b);
  }
  ok = TRUE;
out:
  sv_train_options_clear (&file);
  g_free (latest);
  return ok;
}

/* two batches ahead, but at most about 512 MiB of decoded clips */
static int
default_prefetch (const Trainer *t)
{
  size_t cap = ((size_t) 512 << 20) / (t->clip_numel * sizeof (float));
  return (int) MIN ((size_t) 2 * t->o.batch, MAX (cap, (size_t) 2 * t->o.workers));
}

static gboolean
setup (Trainer *t, const char *config, gboolean resume, const SvTrainOptions *cli, GError **error)
{
  sv_train_options_defaults (&t->o);
  if (g_mkdir_with_parents (t->out, 0777) != 0 || access (t->out, W_OK) != 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot use the output directory %s: %s", t->out,
                 g_strerror (e));
    return FALSE;
  }
  /* the device is needed before the model: the command line's, else the config's */
  SvTrainOptions early;
  SvModelConfig unused;
  sv_train_options_unset (&early);
  if (config && !cli->device)
    sv_train_read_config (config, &unused, &early, NULL); /* errors: reported below */
  t->leader = sv_dist_rank () == 0;
  if (t->leader)
    sv_checkpoint_remove_temporaries (t->out);
  if (cli->threads != G_MININT)
    sv_set_num_threads (cli->threads);
  t->backend = sv_backend_open (cli->device    ? cli->device
                                : early.device ? early.device
                                               : "cpu",
                                error);
  sv_train_options_clear (&early);
  if (!t->backend || !setup_model (t, config, resume, cli, error) ||
      !sv_train_options_validate (&t->o, error))
    return FALSE;
  sv_set_num_threads (t->o.threads);
  const SvModelConfig *c = &t->model->cfg;
  if (sv_model_config_grid_t (c) < 2) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "cut-and-paste needs at least 2 clips per video (frames / tubelet_t = %d)",
                 sv_model_config_grid_t (c));
    return FALSE;
  }
  SvDatasetOptions dopt = { t->o.split, t->o.video_dir };
  t->ds = sv_dataset_load (t->o.data, &dopt, error);
  if (!t->ds)
    return FALSE;
  int B = t->o.batch, K = c->n_nouns;
  if (t->o.steps == 0)
    t->o.steps = (gint64) ceil (t->o.epochs * t->ds->items->len /
                                ((double) B * t->o.accum * sv_dist_size ()));
  if (t->start_step >= t->o.steps) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "the checkpoint is at step %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                 ": nothing left to train (raise --steps to continue)",
                 t->start_step, t->o.steps);
    return FALSE;
  }
  if (!t->model->tokenizer) {
    SvTokenizer *tok = run_tokenizer (t, error);
    if (!tok)
      return FALSE;
    sv_model_set_tokenizer (t->model, tok);
  }
  gboolean need_nc = FALSE;
  for (guint i = 0; i < t->ds->items->len && !need_nc; i++)
    need_nc = ((SvDataItem *) g_ptr_array_index (t->ds->items, i))->nouns == NULL;
  if (need_nc) {
    GError *err = NULL;
    t->nc = sv_noun_chunker_new (&err);
    if (!t->nc) {
      g_printerr ("svilm-train pretrain: warning: %s; captions without \"nouns\" in the "
                  "manifest are prompted whole.\n",
                  err->message);
      g_error_free (err);
    }
  }
  SvOptimKind kind;
  SvOptimConfig oc;
  if (!sv_optim_kind_from_string (t->o.optim, &kind, error))
    return FALSE;
  sv_optim_config_init (&oc, kind);
  if (!isnan (t->o.weight_decay))
    oc.weight_decay = (float) t->o.weight_decay;
  oc.momentum = (float) t->o.momentum;
  oc.beta2 = (float) t->o.beta2;
  oc.max_grad_norm = (float) t->o.clip_grad;
  if (isnan (t->o.lr))
    t->o.lr = kind == SV_OPTIM_SGD ? SV_OPTIM_SGD_DEFAULT_LR : SV_OPTIM_ADAMW_DEFAULT_LR;
  t->opt = sv_optim_new (t->model->params, &oc, error);
  if (!t->opt ||
      (t->last_checkpoint && !sv_checkpoint_load_optim (t->last_checkpoint, t->opt, error)))
    return FALSE;
  if (sv_optim_get_step (t->opt) != t->start_step) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: the optimiser has done %" G_GINT64_FORMAT
                 " steps but the run %" G_GINT64_FORMAT,
                 t->last_checkpoint, sv_optim_get_step (t->opt), t->start_step);
    return FALSE;
  }
  sv_lr_schedule_init (&t->sched, (float) t->o.lr, t->o.steps);
  t->sched.min_lr = (float) t->o.min_lr;
  t->sched.warmup_ratio = t->o.warmup_ratio;
  t->w = (SvLossWeights){ (float) t->o.loss_temporal, (float) t->o.loss_grounding,
                          (float) t->o.loss_contrast, (float) t->o.loss_csal,
                          (float) t->o.loss_within,   (float) t->o.loss_separate,
                          (float) t->o.loss_words };
  if (t->w.words > 0 && !c->word_head) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "--loss-words needs a model with a word head: put \"word_head\": true in the "
                 "config's model");
    return FALSE;
  }
  t->pass = sv_train_pass_new_negatives (t->model, B, t->o.text_negatives, error);
  if (!t->pass)
    return FALSE;
  t->pass->separate_margin = (float) t->o.separate_margin;
  t->cp = sv_cutpaste_new (B, sv_model_config_grid_t (c));
  t->clip_numel = (size_t) c->frames * c->height * c->width * 3;
  t->clips = g_new (float, t->clip_numel *B);
  t->video = g_new (float, t->clip_numel *B);
  int Q = t->o.text_negatives;
  t->ids = g_new0 (int32_t, (size_t) B * (1 + Q + K) * c->max_len);
  t->mask = g_new0 (float, (size_t) B *(1 + Q + K) * c->max_len);
  t->n_phrases = g_new0 (int, B);
  t->held = g_new0 (float, (size_t) MAX (B * Q, 1));
  t->sides_only = g_str_equal (t->o.separate_which, "sides");
  if (t->w.words > 0 && g_str_equal (t->o.words_weighting, "idf")) {
    const char **captions = g_new (const char *, t->ds->items->len);
    for (guint i = 0; i < t->ds->items->len; i++)
      captions[i] = ((SvDataItem *) g_ptr_array_index (t->ds->items, i))->caption;
    t->word_weight =
        sv_word_idf (t->model->tokenizer, captions, t->ds->items->len, c->max_len, c->vocab, error);
    g_free (captions);
    if (!t->word_weight)
      return FALSE;
  }
  t->within = g_new (float, (size_t) B *K *K);
  t->unreadable = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_free (t->st.options);
  t->st.options = sv_train_options_to_json (&t->o);
  t->metrics = g_build_filename (t->out, "metrics.jsonl", NULL);
  if (t->leader) {
    t->progress = sv_progress_new (t->metrics, t->last_checkpoint ? t->start_step : -1,
                                   t->o.log_every, isatty (STDOUT_FILENO), error);
    if (!t->progress)
      return FALSE;
  }
  /* the lanes: fresh, lane g starts at position g; resumed, where the checkpoint left them */
  int W = sv_dist_size (), R = sv_dist_rank ();
  t->n_lanes = t->o.accum * W;
  t->n_mine = t->o.accum;
  t->lane_pos = g_new (uint64_t, t->n_lanes);
  if (t->last_checkpoint && t->st.n_lanes != (guint) t->n_lanes) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s was written with %u micro-batches a step (--accum x processes) and this run "
                 "makes %d: resume with the same --accum and number of processes",
                 t->last_checkpoint, MAX (t->st.n_lanes, 1u), t->n_lanes);
    return FALSE;
  }
  for (int g = 0; g < t->n_lanes; g++)
    t->lane_pos[g] = !t->last_checkpoint ? (uint64_t) g
                     : t->st.lanes       ? t->st.lanes[g]
                                         : t->st.data_position;
  SvPrefetchConfig pc = {
    .ds = t->ds,
    .cfg = c,
    .tok = t->model->tokenizer,
    .nc = t->nc,
    .seed = (uint64_t) t->o.seed,
    .workers = t->o.workers,
    .depth = t->o.prefetch > 0 ? t->o.prefetch : default_prefetch (t),
    .clip = { .T = c->frames,
              .H = c->height,
              .W = c->width,
              .augment = t->o.augment,
              .crop_min = 0.6f,
              .crop_max = 1.0f,
              .flip_prob = 0.5f,
              .timeout_s = 30.0 },
  };
  if (t->o.hard_negatives > 1) {
    guint n = t->ds->items->len;
    const char **captions = g_new (const char *, MAX (n, 1u));
    for (guint i = 0; i < n; i++)
      captions[i] = ((SvDataItem *) g_ptr_array_index (t->ds->items, i))->caption;
    /* neighbours chosen among the next 256 unused videos of the shuffled order */
    t->hard = sv_hard_batches_new (captions, n, (guint) t->o.hard_negatives, 256);
    g_free (captions);
  }
  pc.hard = t->hard;
  if (t->o.text_negatives > 0) {
    g_autofree char *dir = g_path_get_dirname (t->o.data);
    g_autofree char *path =
        t->o.swaps ? g_strdup (t->o.swaps) : g_build_filename (dir, "swaps.json", NULL);
    t->negatives = sv_caption_negatives_load (path, error);
    if (!t->negatives) {
      g_prefix_error (error, "--text-negatives needs a swap vocabulary (--swaps): ");
      return FALSE;
    }
    pc.negatives = t->negatives;
    pc.n_negatives = t->o.text_negatives;
    pc.side_negatives = t->o.side_negatives;
  }
  pc.mirror_pairs = t->o.mirror_pairs;
  pc.stride = t->n_lanes;
  pc.workers = MAX (1, t->o.workers / t->n_mine);
  pc.depth = MAX (pc.workers, pc.depth / t->n_mine);
  t->pf = g_new0 (SvPrefetch *, t->n_mine);
  for (int i = 0; i < t->n_mine; i++)
    t->pf[i] = sv_prefetch_new (&pc, t->lane_pos[R + i * W]);
  return TRUE;
}

static void
print_start (Trainer *t)
{
  const SvModelConfig *c = &t->model->cfg;
  char *eps =
      g_strdup_printf ("%.2f", (double) t->o.steps * t->o.batch * t->n_lanes / t->ds->items->len);
  printf ("svilm-train pretrain: %s of %u entries (%s; skipped: %u without a caption, %u "
          "malformed, %u in other splits)\n",
          t->ds->path, t->ds->items->len, sv_manifest_kind_name (t->ds->kind),
          t->ds->n_empty_caption, t->ds->n_malformed, t->ds->n_other_split);
  printf ("  model: %zu parameters, %d frames of %dx%d, %d clips, %d groups; %s\n",
          sv_var_set_numel (t->model->params), c->frames, c->width, c->height,
          sv_model_config_grid_t (c), c->n_groups, t->backend->device_name);
  char *cwarm = t->o.contrast_warmup > 0
                    ? g_strdup_printf (" (steps 1..%" G_GINT64_FORMAT " contrastive only)",
                                       t->o.contrast_warmup)
                    : NULL;
  char *sep = t->w.separate > 0 && (t->sides_only || t->o.separate_from > 0)
                  ? g_strdup_printf (" (%s, from step %" G_GINT64_FORMAT ")",
                                     t->sides_only ? "side negatives only" : "every negative",
                                     t->o.separate_from + 1)
                  : NULL;
  printf ("  %s steps %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT " of %d x batch %d (%s "
          "epochs; %d process%s), %s lr %g, warm-up %" G_GINT64_FORMAT
          " steps, losses t %g g %g c %g csal %g within %g separate %g%s words %g%s, %d negative "
          "captions a "
          "caption, mirror pairs %g%s\n",
          t->start_step > 0 ? "resuming:" : "training:", t->start_step + 1, t->o.steps, t->n_lanes,
          t->o.batch, eps, sv_dist_size (), sv_dist_size () > 1 ? "es" : "", t->o.optim, t->o.lr,
          sv_lr_warmup_steps (&t->sched), t->w.temporal, t->w.grounding, t->w.contrast, t->w.csal,
          t->w.within, t->w.separate, sep ? sep : "", t->w.words, t->word_weight ? " (idf)" : "",
          t->o.text_negatives, t->o.mirror_pairs, cwarm ? cwarm : "");
  fflush (stdout);
  g_free (sep);
  g_free (eps);
  g_free (cwarm);
}

static int
run (Trainer *t, const char *config, gboolean resume, const SvTrainOptions *cli)
{
  GError *error = NULL;
  int rc = SV_TRAIN_EXIT_FAILURE;
  gboolean set = setup (t, config, resume, cli, &error);
  /* with several processes, one that cannot start stops them all */
  if (sv_dist_size () > 1 && sv_dist_max_int (!set)) {
    if (set)
      g_set_error (&error, SV_ERROR, SV_ERROR_ARGUMENT, "another process could not start");
    goto out;
  }
  if (!set)
    goto out;
  if (t->leader)
    print_start (t);
  struct sigaction sa, old_int, old_term;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND; /* a second signal stops at once */
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, &old_int);
  sigaction (SIGTERM, &sa, &old_term);
  int64_t step = t->start_step;
  gboolean failed = FALSE;
  /* with several processes they all stop at the same step: the signal reaches each */
  while (step < t->o.steps &&
         !(sv_dist_size () > 1 ? sv_dist_max_int (stop_signal) : stop_signal)) {
    int r = train_step (t, step, &error);
    if (r < 0) {
      failed = TRUE;
      break;
    }
    if (r == 0)
      break;
    step++;
    if (step % t->o.checkpoint_every == 0 && step < t->o.steps &&
        !save_checkpoint (t, step, &error)) {
      failed = TRUE;
      break;
    }
  }
  if (!failed && step > t->saved_step && !save_checkpoint (t, step, &error))
    failed = TRUE;
  char *model_path = g_build_filename (t->out, "model.safetensors", NULL);
  if (!failed && t->leader && step > t->start_step && !sv_model_save (t->model, model_path, &error))
    failed = TRUE;
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  if (!failed && !t->leader) {
    rc = 0;
  } else if (!failed) {
    char *el = sv_format_duration (sv_progress_elapsed (t->progress));
    sv_progress_print (
        t->progress, stdout,
        "svilm-train pretrain: %s at step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
        " (%" G_GINT64_FORMAT " this run, %s, %.1f clips/s); %u unreadable "
        "videos skipped (%" G_GUINT64_FORMAT " times)",
        stop_signal ? (stop_signal == SIGINT ? "interrupted (SIGINT)" : "stopped (SIGTERM)")
                    : "finished",
        step, t->o.steps, step - t->start_step, el, sv_progress_clips_per_s (t->progress),
        g_hash_table_size (t->unreadable), t->skip_events);
    if (t->last_checkpoint)
      printf ("  checkpoint: %s\n", t->last_checkpoint);
    if (step > t->start_step)
      printf ("  model: %s\n", model_path);
    printf ("  metrics: %s\n", t->metrics);
    g_free (el);
    rc = 0;
  }
  g_free (model_path);
out:
  if (error) {
    gboolean dot = g_str_has_suffix (error->message, ".");
    if (sv_dist_size () > 1) {
      g_printerr ("svilm-train pretrain (process %d of %d): %s%s\n", sv_dist_rank (),
                  sv_dist_size (), error->message, dot ? "" : ".");
      sv_dist_abort (SV_TRAIN_EXIT_FAILURE); /* the others wait for this one */
    }
    sv_progress_print (t->progress, stderr, "svilm-train pretrain: %s%s", error->message,
                       dot ? "" : ".");
    g_error_free (error);
  }
  return rc;
}

int
sv_train_cmd_pretrain (int argc, char **argv)
{
  sv_dist_init (&argc, &argv);
  char *config = NULL, *out = NULL;
  gboolean resume = FALSE;
  SvTrainOptions cli;
  sv_train_options_unset (&cli);
  const GOptionEntry main_entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
      "Model and training config: tiny, small, base or a JSON file (docs/training.md)", "CONFIG" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "Output directory: checkpoints, metrics.jsonl, model.safetensors", "DIR" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume,
      "Continue from the newest checkpoint in DIR (exactly: same losses as without a stop)", NULL },
    { NULL },
  };
  GOptionEntry *entries = sv_train_options_entries (&cli);
  GOptionContext *ctx = g_option_context_new ("- pre-train an S-ViLM model");
  g_option_context_set_summary (
      ctx, "Pre-trains a model on a video-caption manifest with cut-and-paste, temporal "
           "grouping,\nspatial grounding and global contrastive losses.  SIGINT or SIGTERM saves "
           "a checkpoint\nand exits; --resume continues it.");
  g_option_context_add_main_entries (ctx, main_entries, NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  g_option_context_free (ctx);
  g_free (entries);
  Trainer t = { 0 };
  if (rc)
    goto out;
  if (argc > 1) {
    rc = sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "unexpected argument '%s'.", argv[1]);
  } else if (!out) {
    rc = sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--out DIR is required.");
  } else if (!config && !resume) {
    rc = sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--config CONFIG is required.");
  } else if (!cli.data && !resume) {
    rc = sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--data MANIFEST is required.");
  } else if (cli.batch != G_MININT && cli.batch < 2) {
    rc = sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--batch must be at least 2.");
  } else if (cli.steps != G_MININT64 && cli.steps < 1) {
    rc = sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--steps must be at least 1.");
  } else {
    gst_init (NULL, NULL);
    t.out = g_strdup (out);
    rc = run (&t, config, resume, &cli);
  }
out:
  trainer_clear (&t);
  sv_dist_finalize ();
  sv_train_options_clear (&cli);
  g_free (config);
  g_free (out);
  return rc;
}
