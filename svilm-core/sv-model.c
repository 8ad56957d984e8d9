/* svilm-core: model parameters, checkpoints and the pre-training pass. */
#include "sv-model.h"

#include "sv-backend.h"
#include "sv-error.h"
#include "sv-ops.h"
#include "sv-safetensors.h"

#include <string.h>

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    if (!(expr))                                                                                   \
      goto fail;                                                                                   \
  } while (0)

/* Every planned parameter must be in the file with its exact shape.  Checked before any
 * memory is committed, so a small hostile file cannot make us allocate what its config
 * claims (a 136-byte file asked for 2 GB: fuzz/findings/model). */
static gboolean
check_file_holds (const SvVarSet *params, const SvSafetensors *st, const char *path, GError **error)
{
  for (guint i = 0; i < sv_var_set_len (params); i++) {
    const char *name = sv_var_set_name (params, i);
    const SvTensor *t = &sv_var_set_get (params, i)->x;
    const SvSafetensorsEntry *e = sv_safetensors_find (st, name, NULL);
    gboolean same = e && e->dtype == SV_F32 && e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++)
      same = e->shape[d] == t->shape[d];
    if (!same) {
      char want[96];
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "%s does not hold the model its config describes: parameter %s %s %s", path,
                   name, e ? "is not float32 of shape" : "of shape",
                   sv_tensor_shape_str (t, want, sizeof want));
      return FALSE;
    }
  }
  return TRUE;
}

/* plans the parameters of cfg; with st, checks the file holds them before allocating */
static SvModel *
model_alloc_checked (const SvModelConfig *cfg, SvBackend *backend, gboolean with_grads,
                     const SvSafetensors *st, const char *path, GError **error)
{
  if (!sv_model_config_validate (cfg, error))
    return NULL;
  SvModel *m = g_new0 (SvModel, 1);
  m->cfg = *cfg;
  m->backend = backend;
  m->params = with_grads ? sv_var_set_new (backend) : sv_var_set_new_inference (backend);
  TRY (sv_video_params_plan (m->params, &m->video, &m->cfg, error));
  TRY (sv_text_params_plan (m->params, &m->text, &m->cfg, error));
  if (cfg->word_head) {
    TRY (sv_var_plan (m->params, &m->words_w, SV_INIT_LINEAR, SV_SHAPE (cfg->vocab, cfg->embed_dim),
                      error, "words.weight"));
    TRY (sv_var_plan (m->params, &m->words_b, SV_INIT_ZERO, SV_SHAPE (cfg->vocab), error,
                      "words.bias"));
  }
  TRY (sv_scene_head_params_plan (m->params, &m->scene, &m->cfg, error));
  if (st)
    TRY (check_file_holds (m->params, st, path, error));
  TRY (sv_var_set_commit (m->params, error));
  return m;
fail:
  sv_model_free (m);
  return NULL;
}

static SvModel *
model_alloc (const SvModelConfig *cfg, SvBackend *backend, gboolean with_grads, GError **error)
{
  return model_alloc_checked (cfg, backend, with_grads, NULL, NULL, error);
}

SvModel *
sv_model_new (const SvModelConfig *cfg, SvBackend *backend, guint64 seed, GError **error)
{
  SvModel *m = model_alloc (cfg, backend, TRUE, error);
  if (!m)
    return NULL;
  SvRng rng;
  sv_rng_seed (&rng, seed);
  m->params->linear_fan_in = cfg->linear_init == SV_LINEAR_INIT_FAN_IN;
  if (!sv_var_set_init (m->params, &rng, error)) {
    sv_model_free (m);
    return NULL;
  }
  return m;
}

void
sv_model_free (SvModel *m)
{
  if (!m)
    return;
  sv_var_set_free (m->params);
  if (m->tokenizer)
    sv_tokenizer_free (m->tokenizer);
  g_free (m);
}

void
sv_model_set_tokenizer (SvModel *m, SvTokenizer *tok)
{
  if (m->tokenizer)
    sv_tokenizer_free (m->tokenizer);
  m->tokenizer = tok;
}

gboolean
sv_model_save (SvModel *m, const char *path, GError **error)
{
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  guint n = sv_var_set_len (m->params);
  float **host = g_new0 (float *, n);
  char *config = sv_model_config_to_json (&m->cfg);
  char *tok = m->tokenizer ? sv_tokenizer_to_json (m->tokenizer) : NULL;
  gboolean ok = TRUE;
  for (guint i = 0; i < n && ok; i++) {
    SvVar *v = sv_var_set_get (m->params, i);
    host[i] = g_new (float, MAX (v->x.numel, 1));
    ok = sv_tensor_download (&v->x, host[i], v->x.numel * 4, error) &&
         sv_safetensors_writer_add (w, sv_var_set_name (m->params, i), SV_F32, v->x.ndim,
                                    v->x.shape, host[i], error);
  }
  sv_safetensors_writer_set_metadata (w, "format", SV_CHECKPOINT_FORMAT);
  sv_safetensors_writer_set_metadata (w, "config", config);
  if (tok)
    sv_safetensors_writer_set_metadata (w, "tokenizer", tok);
  if (ok)
    ok = sv_safetensors_writer_write (w, path, error);
  sv_safetensors_writer_free (w);
  for (guint i = 0; i < n; i++)
    g_free (host[i]);
  g_free (host);
  g_free (config);
  g_free (tok);
  return ok;
}

SvModel *
sv_model_load (const char *path, SvBackend *backend, GError **error)
{
  return sv_model_load_full (path, backend, TRUE, error);
}

SvModel *
sv_model_load_full (const char *path, SvBackend *backend, gboolean with_grads, GError **error)
{
  SvSafetensors *st = sv_safetensors_open (path, error);
  if (!st)
    return NULL;
  SvModel *m = NULL;
  const char *format = sv_safetensors_metadata (st, "format");
  const char *config = sv_safetensors_metadata (st, "config");
  const char *tok = sv_safetensors_metadata (st, "tokenizer");
  if (g_strcmp0 (format, SV_CHECKPOINT_FORMAT) != 0 || !config) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s is not an svilm model (format \"%s\", expected \"%s\" with a config)", path,
                 format ? format : "none", SV_CHECKPOINT_FORMAT);
    goto fail;
  }
  SvModelConfig cfg;
  if (!sv_model_config_from_json (&cfg, config, error)) {
    g_prefix_error (error, "%s: ", path);
    goto fail;
  }
  m = model_alloc_checked (&cfg, backend, with_grads, st, path, error);
  if (!m)
    goto fail;
  guint n = sv_var_set_len (m->params);
  for (guint i = 0; i < n; i++) {
    const char *name = sv_var_set_name (m->params, i);
    if (!sv_safetensors_load_tensor (st, name, &sv_var_set_get (m->params, i)->x, error)) {
      g_prefix_error (error, "%s: parameter %s: ", path, name);
      goto fail;
    }
  }
  /* training checkpoints also hold optimiser and trainer state ("optim.*", "train.*");
   * anything else is a model of another shape */
  guint model_tensors = 0;
  for (guint i = 0; i < sv_safetensors_n_tensors (st); i++) {
    const char *name = sv_safetensors_entry (st, i)->name;
    if (!g_str_has_prefix (name, "optim.") && !g_str_has_prefix (name, "train."))
      model_tensors++;
  }
  if (model_tensors != n) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s has %u model tensors but the model described by its config has %u "
                 "parameters",
                 path, model_tensors, n);
    goto fail;
  }
  if (tok) {
    m->tokenizer = sv_tokenizer_from_json (tok, error);
    if (!m->tokenizer) {
      g_prefix_error (error, "%s: tokenizer: ", path);
      goto fail;
    }
    if (sv_tokenizer_vocab_size (m->tokenizer) > (guint) cfg.vocab) {
      /* its ids would index past the token embedding table */
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "%s: the tokenizer has %u pieces but the model embeds only %d", path,
                   sv_tokenizer_vocab_size (m->tokenizer), cfg.vocab);
      goto fail;
    }
  }
  sv_safetensors_close (st);
  return m;
fail:
  sv_model_free (m);
  sv_safetensors_close (st);
  return NULL;
}

/* ---- pre-training pass ---- */

int
sv_model_n_group_blocks (const SvModel *m)
{
  int g = 0;
  for (int l = 0; l < m->cfg.v_depth; l++)
    g += m->cfg.group_after[l];
  return g;
}

static gboolean
slice_var (SvVar *view, SvVar *v, int64_t start, int64_t count, GError **error)
{
  return sv_tensor_slice0 (&view->x, &v->x, start, count, error) &&
         sv_tensor_slice0 (&view->d, &v->d, start, count, error);
}

SvTrainPass *
sv_train_pass_new (SvModel *m, int B, GError **error)
{
  return sv_train_pass_new_negatives (m, B, 0, error);
}

SvTrainPass *
sv_train_pass_new_negatives (SvModel *m, int B, int Q, GError **error)
{
  const SvModelConfig *c = &m->cfg;
  if (B < 2) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "pre-training needs at least 2 videos per batch (cut-and-paste pairs videos)");
    return NULL;
  }
  if (Q < 0 || Q > 64) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%d negative captions a caption (expected 0 to 64)", Q);
    return NULL;
  }
  SvTrainPass *p = g_new0 (SvTrainPass, 1);
  int K = c->n_nouns, Nt = sv_model_config_grid_t (c);
  int S = sv_model_config_grid_h (c) * sv_model_config_grid_w (c);
  int Bt = B * (1 + Q + K);
  p->model = m;
  p->B = B;
  p->K = K;
  p->Q = Q;
  p->acts = sv_var_set_new (m->backend);
  TRY (sv_video_acts_plan (p->acts, &p->video, c, B, TRUE, error));
  TRY (sv_text_acts_plan (p->acts, &p->text, c, Bt, error));
  TRY (sv_temporal_loss_plan (p->acts, &p->lt, B, Nt, S, c->v_width, error));
  TRY (sv_grounding_loss_plan (p->acts, &p->lg, B, c->n_groups, K, c->embed_dim, error));
  TRY (sv_contrast_loss_plan (p->acts, &p->lc, B, B * (1 + Q), c->embed_dim, error));
  TRY (sv_contrast_loss_plan (p->acts, &p->lcsal, B, B, c->embed_dim, error));
  if (Q > 0)
    TRY (sv_separate_loss_plan (p->acts, &p->ls, B, Q, error));
  if (c->word_head)
    TRY (sv_words_loss_plan (p->acts, &p->lwd, B, c->vocab, error));
  p->separate_margin = 0.5f;
  /* backward scratch: the largest attention map and assignment normaliser */
  int64_t att = sv_block_scratch_floats (&p->text.blocks[0]);
  for (int l = 0; l < c->v_depth; l++)
    att = MAX (att, sv_block_scratch_floats (&p->video.blocks[l]));
  TRY (sv_arena_alloc (p->acts->x, &p->scratch.att, SV_F32, 1, &att, "scratch.att", error));
  TRY (sv_arena_alloc (p->acts->x, &p->scratch.assign, SV_F32, SV_SHAPE (B * c->n_groups),
                       "scratch.assign", error));
  TRY (sv_var_set_commit (p->acts, error));
  TRY (sv_video_acts_init (&p->video, c, error));
  TRY (sv_text_acts_init (&p->text, c, error));
  TRY (slice_var (&p->captions, &p->text.f, 0, B, error));
  TRY (slice_var (&p->captions_negatives, &p->text.f, 0, (int64_t) B * (1 + Q), error));
  TRY (slice_var (&p->nouns, &p->text.f, (int64_t) B * (1 + Q), (int64_t) B * K, error));
  return p;
fail:
  sv_train_pass_free (p);
  return NULL;
}

void
sv_train_pass_free (SvTrainPass *p)
{
  if (!p)
    return;
  sv_var_set_free (p->acts);
  g_free (p);
}

static float
read_scalar (const SvVar *v)
{
  float x = 0.0f;
  sv_tensor_download (&v->x, &x, sizeof x, NULL);
  return x;
}

gboolean
sv_train_pass_forward (SvTrainPass *p, const SvTrainBatch *b, const SvLossWeights *w,
                       GError **error)
{
  SvModel *m = p->model;
  const SvModelConfig *c = &m->cfg;
  TRY (sv_tensor_upload (&p->video.video, b->video, p->video.video.numel * 4, error));
  TRY (sv_video_acts_set_noise (&p->video, c, b->noise, b->noise_seed, error));
  TRY (sv_text_set_input (&p->text, b->ids, b->mask, error));
  if (w->temporal != 0.0f) /* without cut-and-paste there is no background to group */
    TRY (sv_temporal_loss_set_masks (&p->lt, b->fg, error));
  TRY (sv_pair_weights_set (&p->lg.wv, &p->lg.wc, b->Wv, p->B, error));
  TRY (sv_contrast_loss_set_pairs (&p->lc, b->Wv, error));

  TRY (sv_video_forward (&m->video, &p->video, c, TRUE, error));
  TRY (sv_text_forward (&m->text, &p->text, c, error));
  p->loss_temporal = p->loss_grounding = p->loss_contrast = p->loss_csal = p->loss_within = 0.0f;
  p->loss_separate = p->loss_words = 0.0f;
  if (w->words != 0.0f && !c->word_head) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "predicting the caption's words needs a model with a word head "
                 "(\"word_head\": true in its config)");
    return FALSE;
  }
  if (w->separate != 0.0f && p->Q == 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "holding negative captions apart needs negative captions in the batch");
    return FALSE;
  }
  if (w->within != 0.0f && (w->grounding == 0.0f || !b->within_targets)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "grounding within a video needs the grounding loss and the batch's targets");
    return FALSE;
  }
  if (w->temporal != 0.0f) {
    TRY (sv_temporal_loss_forward (&p->lt, &p->video.z, c->tau_temporal, error));
    p->loss_temporal = read_scalar (&p->lt.loss);
  }
  if (w->grounding != 0.0f) {
    TRY (sv_grounding_loss_forward (&p->lg, &p->video.gp, &p->nouns, c->tau_ground,
                                    w->within != 0.0f ? b->within_targets : NULL, error));
    p->loss_grounding = read_scalar (&p->lg.loss_v) + read_scalar (&p->lg.loss_c);
    if (w->within != 0.0f)
      p->loss_within = read_scalar (&p->lg.loss_w);
  }
  if (w->contrast != 0.0f) {
    TRY (sv_contrast_loss_forward (&p->lc, &p->video.fv, &p->captions_negatives, c->tau_contrast,
                                   error));
    p->loss_contrast = read_scalar (&p->lc.loss_v) + read_scalar (&p->lc.loss_c);
  }
  if (w->csal != 0.0f) {
    TRY (sv_csal_set_targets (&p->lcsal, &p->video.fv, &p->captions, b->Wv, error));
    TRY (sv_contrast_loss_forward (&p->lcsal, &p->video.fv, &p->captions, c->tau_contrast, error));
    p->loss_csal = read_scalar (&p->lcsal.loss_v) + read_scalar (&p->lcsal.loss_c);
  }
  if (w->separate != 0.0f)
    TRY (sv_separate_loss_forward (&p->ls, &p->captions_negatives, p->separate_margin,
                                   b->separate_held, &p->loss_separate, error));
  if (w->words != 0.0f) {
    TRY (sv_words_loss_set_targets (&p->lwd, b->ids, b->mask, c->max_len, b->Wv, b->word_weight,
                                    error));
    TRY (sv_words_loss_forward (&p->lwd, &p->video.fv, &m->words_w, &m->words_b, c->tau_contrast,
                                &p->loss_words, error));
  }
  p->loss = w->temporal * p->loss_temporal + w->grounding * p->loss_grounding +
            w->contrast * p->loss_contrast + w->csal * p->loss_csal + w->within * p->loss_within +
            w->separate * p->loss_separate + w->words * p->loss_words;
  return TRUE;
fail:
  return FALSE;
}

gboolean
sv_train_pass_backward (SvTrainPass *p, const SvLossWeights *w, GError **error)
{
  SvModel *m = p->model;
  const SvModelConfig *c = &m->cfg;
  TRY (sv_arena_zero (p->acts->d, error));
  if (w->temporal != 0.0f)
    TRY (sv_temporal_loss_backward (&p->lt, &p->video.z, c->tau_temporal, w->temporal, error));
  if (w->grounding != 0.0f)
    TRY (sv_grounding_loss_backward (&p->lg, &p->video.gp, &p->nouns, c->tau_ground, w->grounding,
                                     w->within, error));
  if (w->contrast != 0.0f)
    TRY (sv_contrast_loss_backward (&p->lc, &p->video.fv, &p->captions_negatives, c->tau_contrast,
                                    w->contrast, error));
  if (w->csal != 0.0f)
    TRY (sv_contrast_loss_backward (&p->lcsal, &p->video.fv, &p->captions, c->tau_contrast, w->csal,
                                    error));
  if (w->separate != 0.0f)
    TRY (sv_separate_loss_backward (&p->ls, &p->captions_negatives, w->separate, error));
  if (w->words != 0.0f)
    TRY (sv_words_loss_backward (&p->lwd, &p->video.fv, &m->words_w, &m->words_b, c->tau_contrast,
                                 w->words, error));
  TRY (sv_text_backward (&m->text, &p->text, c, &p->scratch, error));
  TRY (sv_video_backward (&m->video, &p->video, c, &p->scratch, error));
  return TRUE;
fail:
  return FALSE;
}
