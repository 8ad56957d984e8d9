/* svilm-core: temporal grouping, spatial grounding and contrastive losses. */
#include "sv-losses.h"

#include "sv-error.h"
#include "sv-ops.h"
#include "sv-tokenizer.h"

#include <math.h>

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    if (!(expr))                                                                                   \
      return FALSE;                                                                                \
  } while (0)

/* the same variable seen with another shape (value and gradient) */
static gboolean
var_view (SvVar *view, const SvVar *v, int ndim, const int64_t *shape, GError **error)
{
  return sv_tensor_reshape (&view->x, &v->x, ndim, shape, error) &&
         sv_tensor_reshape (&view->d, &v->d, ndim, shape, error);
}

static gboolean
seed (SvVar *loss, float weight, GError **error)
{
  return sv_tensor_upload (&loss->d, &weight, sizeof weight, error);
}

static gboolean
plan_cos_caches (SvVarSet *as, SvTensor *an, SvTensor *bn, SvTensor *anorm, SvTensor *bnorm,
                 SvTensor *scratch, int batch, int Na, int Nb, int C, GError **error)
{
  return sv_arena_alloc (as->x, an, SV_F32, SV_SHAPE (batch, Na, C), "cos.an", error) &&
         sv_arena_alloc (as->x, bn, SV_F32, SV_SHAPE (batch, Nb, C), "cos.bn", error) &&
         sv_arena_alloc (as->x, anorm, SV_F32, SV_SHAPE (batch * Na), "cos.anorm", error) &&
         sv_arena_alloc (as->x, bnorm, SV_F32, SV_SHAPE (batch * Nb), "cos.bnorm", error) &&
         sv_arena_alloc (as->x, scratch, SV_F32, SV_SHAPE (batch * (Na + Nb) * C), "cos.scratch",
                         error);
}

/* ---- temporal grouping (method.md section 4) ---- */

gboolean
sv_temporal_loss_plan (SvVarSet *as, SvTemporalLoss *l, int B, int Nt, int S, int D, GError **error)
{
  l->B = B, l->Nt = Nt, l->S = S, l->D = D;
  TRY (sv_arena_alloc (as->x, &l->wfb, SV_F32, SV_SHAPE (B, 2, Nt), "lt.wfb", error));
  TRY (sv_arena_alloc (as->x, &l->onehot, SV_F32, SV_SHAPE (B, Nt, 2), "lt.onehot", error));
  TRY (sv_var_plan (as, &l->zc, SV_INIT_ZERO, SV_SHAPE (B, Nt, D), error, "lt.zclip"));
  TRY (sv_var_plan (as, &l->zfb, SV_INIT_ZERO, SV_SHAPE (B, 2, D), error, "lt.zfb"));
  TRY (sv_var_plan (as, &l->sim, SV_INIT_ZERO, SV_SHAPE (B, Nt, 2), error, "lt.sim"));
  TRY (sv_var_plan (as, &l->prob, SV_INIT_ZERO, SV_SHAPE (B, Nt, 2), error, "lt.prob"));
  TRY (sv_var_plan (as, &l->loss, SV_INIT_ZERO, SV_SHAPE (1), error, "lt.loss"));
  return plan_cos_caches (as, &l->an, &l->bn, &l->anorm, &l->bnorm, &l->scratch, B, Nt, 2, D,
                          error);
}

gboolean
sv_temporal_loss_set_masks (SvTemporalLoss *l, const float *m, GError **error)
{
  int B = l->B, Nt = l->Nt;
  float *wfb = g_new0 (float, (size_t) B * 2 * Nt), *oh = g_new0 (float, (size_t) B *Nt * 2);
  gboolean ok = TRUE;
  for (int b = 0; b < B && ok; b++) {
    int nf = 0;
    for (int j = 0; j < Nt; j++)
      nf += m[b * Nt + j] != 0.0f;
    if (nf == 0 || nf == Nt) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                   "temporal grouping: video %d of the batch has %s clip; cut-and-paste must leave "
                   "at least one foreground and one background clip",
                   b, nf == 0 ? "no foreground" : "no background");
      ok = FALSE;
      break;
    }
    for (int j = 0; j < Nt; j++) {
      gboolean fg = m[b * Nt + j] != 0.0f;
      wfb[((size_t) b * 2 + 0) * Nt + j] = fg ? 0.0f : 1.0f / (float) (Nt - nf);
      wfb[((size_t) b * 2 + 1) * Nt + j] = fg ? 1.0f / (float) nf : 0.0f;
      oh[((size_t) b * Nt + j) * 2 + 0] = fg ? 0.0f : 1.0f;
      oh[((size_t) b * Nt + j) * 2 + 1] = fg ? 1.0f : 0.0f;
    }
  }
  if (ok)
    ok = sv_tensor_upload (&l->wfb, wfb, l->wfb.numel * 4, error) &&
         sv_tensor_upload (&l->onehot, oh, l->onehot.numel * 4, error);
  g_free (wfb);
  g_free (oh);
  return ok;
}

gboolean
sv_temporal_loss_forward (SvTemporalLoss *l, SvVar *z, float tau, GError **error)
{
  SvVar z4;
  TRY (var_view (&z4, z, 4, (int64_t[]){ l->B, l->Nt, l->S, l->D }, error));
  // z_clip[B,Nt,D] = mean over space; z_fb[B,2,D] = (z_b, z_f) as weighted means of clips
  TRY (sv_mean_forward (&l->zc.x, &z4.x, 1u << 2, error));
  TRY (sv_matmul_forward (&l->zfb.x, &l->wfb, &l->zc.x, FALSE, FALSE, 1.0f, error));
  // a[B,Nt,2] = softmax([cos(z_clip, z_b), cos(z_clip, z_f)] / tau); L_t = MSE(a, onehot)
  TRY (sv_cosine_sim_forward (&l->sim.x, &l->an, &l->bn, &l->anorm, &l->bnorm, &l->zc.x, &l->zfb.x,
                              1e-8f, error));
  TRY (sv_softmax_forward (&l->prob.x, &l->sim.x, NULL, tau, error));
  return sv_mse_forward (&l->loss.x, &l->prob.x, &l->onehot, error);
}

gboolean
sv_temporal_loss_backward (SvTemporalLoss *l, SvVar *z, float tau, float weight, GError **error)
{
  SvVar z4;
  TRY (var_view (&z4, z, 4, (int64_t[]){ l->B, l->Nt, l->S, l->D }, error));
  TRY (seed (&l->loss, weight, error));
  TRY (sv_mse_backward (&l->prob.d, NULL, &l->loss.d, &l->prob.x, &l->onehot, error));
  TRY (sv_softmax_backward (&l->sim.d, &l->prob.d, &l->prob.x, tau, error));
  TRY (sv_cosine_sim_backward (&l->zc.d, &l->zfb.d, &l->scratch, &l->sim.d, &l->an, &l->bn,
                               &l->anorm, &l->bnorm, 1e-8f, error));
  TRY (
      sv_matmul_backward (NULL, &l->zc.d, &l->zfb.d, &l->wfb, &l->zc.x, FALSE, FALSE, 1.0f, error));
  return sv_mean_backward (&z4.d, &l->zc.d, 1u << 2, error);
}

/* ---- cut-and-paste pair weights ---- */

gboolean
sv_pair_weights_set (SvTensor *wv, SvTensor *wc, const float *Wv, int B, GError **error)
{
  float *t = g_new (float, (size_t) B *B);
  for (int i = 0; i < B; i++)
    for (int j = 0; j < B; j++)
      t[(size_t) j * B + i] = Wv[(size_t) i * B + j];
  gboolean ok = sv_tensor_upload (wv, Wv, (size_t) B * B * 4, error) &&
                sv_tensor_upload (wc, t, (size_t) B * B * 4, error);
  g_free (t);
  return ok;
}

/* ---- spatial grounding (method.md section 6) ---- */

gboolean
sv_grounding_loss_plan (SvVarSet *as, SvGroundingLoss *l, int B, int M, int K, int E,
                        GError **error)
{
  int BK = B * K;
  l->B = B, l->M = M, l->K = K, l->E = E;
  TRY (sv_arena_alloc (as->x, &l->wv, SV_F32, SV_SHAPE (B, B), "lg.wv", error));
  TRY (sv_arena_alloc (as->x, &l->wc, SV_F32, SV_SHAPE (B, B), "lg.wc", error));
  TRY (sv_var_plan (as, &l->S, SV_INIT_ZERO, SV_SHAPE (B * M, BK), error, "lg.S"));
  TRY (sv_var_plan (as, &l->ST, SV_INIT_ZERO, SV_SHAPE (B, BK, M), error, "lg.ST"));
  TRY (sv_var_plan (as, &l->W, SV_INIT_ZERO, SV_SHAPE (B, BK, M), error, "lg.W"));
  TRY (sv_var_plan (as, &l->pooled, SV_INIT_ZERO, SV_SHAPE (B, BK, E), error, "lg.pooled"));
  TRY (sv_var_plan (as, &l->pooledT, SV_INIT_ZERO, SV_SHAPE (BK, B, E), error, "lg.pooledT"));
  TRY (sv_var_plan (as, &l->Gk, SV_INIT_ZERO, SV_SHAPE (BK, 1, B), error, "lg.Gk"));
  TRY (sv_var_plan (as, &l->Gc, SV_INIT_ZERO, SV_SHAPE (B, B), error, "lg.Gc"));
  TRY (sv_var_plan (as, &l->Gv, SV_INIT_ZERO, SV_SHAPE (B, B), error, "lg.Gv"));
  TRY (sv_var_plan (as, &l->lv, SV_INIT_ZERO, SV_SHAPE (B, B), error, "lg.logits_v"));
  TRY (sv_var_plan (as, &l->lc, SV_INIT_ZERO, SV_SHAPE (B, B), error, "lg.logits_c"));
  TRY (sv_var_plan (as, &l->loss_v, SV_INIT_ZERO, SV_SHAPE (1), error, "lg.loss_v"));
  TRY (sv_var_plan (as, &l->loss_c, SV_INIT_ZERO, SV_SHAPE (1), error, "lg.loss_c"));
  TRY (sv_arena_alloc (as->x, &l->probs_v, SV_F32, SV_SHAPE (B, B), "lg.probs_v", error));
  TRY (sv_arena_alloc (as->x, &l->probs_c, SV_F32, SV_SHAPE (B, B), "lg.probs_c", error));
  TRY (plan_cos_caches (as, &l->an, &l->bn, &l->anorm, &l->bnorm, &l->scratch, 1, B * M, BK, E,
                        error));
  TRY (plan_cos_caches (as, &l->an2, &l->bn2, &l->anorm2, &l->bnorm2, &l->scratch2, BK, 1, B, E,
                        error));
  /* L_w */
  TRY (sv_arena_alloc (as->x, &l->own_ids, SV_I32, SV_SHAPE (BK), "lw.own_ids", error));
  TRY (sv_arena_alloc (as->x, &l->tw, SV_F32, SV_SHAPE (BK, K), "lw.targets", error));
  TRY (sv_arena_alloc (as->x, &l->probs_w, SV_F32, SV_SHAPE (BK, K), "lw.probs", error));
  TRY (sv_var_plan (as, &l->own, SV_INIT_ZERO, SV_SHAPE (BK, E), error, "lw.own"));
  TRY (sv_var_plan (as, &l->Sw, SV_INIT_ZERO, SV_SHAPE (B, K, K), error, "lw.S"));
  TRY (sv_var_plan (as, &l->lw, SV_INIT_ZERO, SV_SHAPE (BK, K), error, "lw.logits"));
  TRY (sv_var_plan (as, &l->loss_w, SV_INIT_ZERO, SV_SHAPE (1), error, "lw.loss"));
  return plan_cos_caches (as, &l->an3, &l->bn3, &l->anorm3, &l->bnorm3, &l->scratch3, B, K, K, E,
                          error);
}

void
sv_within_targets (const int *n_phrases, int B, int K, float *targets)
{
  for (int j = 0; j < B; j++)
    for (int k = 0; k < K; k++) {
      int n = n_phrases[j], same = 0;
      float *row = targets + ((size_t) j * K + k) * K;
      for (int k2 = 0; k2 < K; k2++) {
        gboolean same_phrase = n <= 0 || k2 % n == k % n; /* k itself always is */
        row[k2] = same_phrase ? 1.0f : 0.0f;
        same += same_phrase;
      }
      for (int k2 = 0; k2 < K; k2++)
        row[k2] /= (float) same;
    }
}

/* L_w's views: pooled as rows [B*BK, E], own and the nouns as [B, K, E], Sw as [BK, K] */
static gboolean
within_views (SvGroundingLoss *l, SvVar *nouns, SvVar *pflat, SvVar *own3, SvVar *n3, SvVar *Sw2,
              GError **error)
{
  int B = l->B, K = l->K, E = l->E, BK = B * K;
  return var_view (pflat, &l->pooled, 2, (int64_t[]){ (int64_t) B * BK, E }, error) &&
         var_view (own3, &l->own, 3, (int64_t[]){ B, K, E }, error) &&
         var_view (n3, nouns, 3, (int64_t[]){ B, K, E }, error) &&
         var_view (Sw2, &l->Sw, 2, (int64_t[]){ BK, K }, error);
}

/* L_w's forward, after L_g's (it reads the pooled groups) */
static gboolean
within_forward (SvGroundingLoss *l, SvVar *nouns, float tau, const float *targets, GError **error)
{
  int B = l->B, K = l->K, BK = B * K;
  int32_t ids[BK];
  for (int i = 0; i < B; i++)
    for (int k = 0; k < K; k++)
      ids[i * K + k] = (i * BK + i * K + k); /* pooled[i, i*K + k] as a row of [B*BK, E] */
  TRY (sv_tensor_upload (&l->own_ids, ids, sizeof ids, error));
  TRY (sv_tensor_upload (&l->tw, targets, sizeof (float) * BK * K, error));
  SvVar pflat, own3, n3, Sw2;
  TRY (within_views (l, nouns, &pflat, &own3, &n3, &Sw2, error));
  // own[i*K + k] = pooled[i, i*K + k]; Sw[i, k, k'] = cos(own_ik, n_ik')
  TRY (sv_embedding_forward (&l->own.x, &l->own_ids, &pflat.x, error));
  TRY (sv_cosine_sim_forward (&l->Sw.x, &l->an3, &l->bn3, &l->anorm3, &l->bnorm3, &own3.x, &n3.x,
                              1e-8f, error));
  TRY (sv_scale_forward (&l->lw.x, &Sw2.x, 1.0f / tau, error));
  return sv_softmax_xent_forward (&l->loss_w.x, &l->probs_w, &l->lw.x, &l->tw, error);
}

/* L_w's backward into pooled.d and nouns->d: before pooled.d flows on to the groups */
static gboolean
within_backward (SvGroundingLoss *l, SvVar *nouns, float tau, float weight, GError **error)
{
  SvVar pflat, own3, n3, Sw2;
  TRY (within_views (l, nouns, &pflat, &own3, &n3, &Sw2, error));
  TRY (seed (&l->loss_w, weight, error));
  TRY (sv_softmax_xent_backward (&l->lw.d, &l->loss_w.d, &l->probs_w, &l->tw, error));
  TRY (sv_scale_backward (&Sw2.d, &l->lw.d, 1.0f / tau, error));
  TRY (sv_cosine_sim_backward (&own3.d, &n3.d, &l->scratch3, &l->Sw.d, &l->an3, &l->bn3, &l->anorm3,
                               &l->bnorm3, 1e-8f, error));
  return sv_embedding_backward (&pflat.d, &l->own.d, &l->own_ids, error);
}

gboolean
sv_grounding_loss_forward (SvGroundingLoss *l, SvVar *gp, SvVar *nouns, float tau,
                           const float *within_targets, GError **error)
{
  int B = l->B, M = l->M, K = l->K, E = l->E, BK = B * K;
  SvVar gflat, S3, n3, Gk3;
  TRY (var_view (&gflat, gp, 2, (int64_t[]){ B * M, E }, error));
  TRY (var_view (&S3, &l->S, 3, (int64_t[]){ B, M, BK }, error));
  TRY (var_view (&n3, nouns, 3, (int64_t[]){ BK, 1, E }, error));
  TRY (var_view (&Gk3, &l->Gk, 3, (int64_t[]){ B, K, B }, error));
  // s(G_i, n_jk) for all videos i, groups m, nouns jk: S[B*M, BK]
  TRY (sv_cosine_sim_forward (&l->S.x, &l->an, &l->bn, &l->anorm, &l->bnorm, &gflat.x, &nouns->x,
                              1e-8f, error));
  // W[i, jk, :] = softmax over groups m of S / tau; pooled[i, jk] = sum_m W g_im
  TRY (sv_transpose_forward (&l->ST.x, &S3.x, 1, error));
  TRY (sv_softmax_forward (&l->W.x, &l->ST.x, NULL, tau, error));
  TRY (sv_matmul_forward (&l->pooled.x, &l->W.x, &gp->x, FALSE, FALSE, 1.0f, error));
  // G_k[jk, i] = cos(n_jk, pooled[i, jk]); G(v_i, c_j) = mean over k
  TRY (sv_transpose_forward (&l->pooledT.x, &l->pooled.x, 0, error));
  TRY (sv_cosine_sim_forward (&l->Gk.x, &l->an2, &l->bn2, &l->anorm2, &l->bnorm2, &n3.x,
                              &l->pooledT.x, 1e-8f, error));
  TRY (sv_mean_forward (&l->Gc.x, &Gk3.x, 1u << 1, error));
  TRY (sv_transpose_forward (&l->Gv.x, &l->Gc.x, 0, error));
  // cross-entropies over the batch with the cut-and-paste targets
  TRY (sv_scale_forward (&l->lv.x, &l->Gv.x, 1.0f / tau, error));
  TRY (sv_scale_forward (&l->lc.x, &l->Gc.x, 1.0f / tau, error));
  TRY (sv_softmax_xent_forward (&l->loss_v.x, &l->probs_v, &l->lv.x, &l->wv, error));
  TRY (sv_softmax_xent_forward (&l->loss_c.x, &l->probs_c, &l->lc.x, &l->wc, error));
  return !within_targets || within_forward (l, nouns, tau, within_targets, error);
}

gboolean
sv_grounding_loss_backward (SvGroundingLoss *l, SvVar *gp, SvVar *nouns, float tau, float weight,
                            float within_weight, GError **error)
{
  int B = l->B, M = l->M, K = l->K, E = l->E, BK = B * K;
  SvVar gflat, S3, n3, Gk3;
  TRY (var_view (&gflat, gp, 2, (int64_t[]){ B * M, E }, error));
  TRY (var_view (&S3, &l->S, 3, (int64_t[]){ B, M, BK }, error));
  TRY (var_view (&n3, nouns, 3, (int64_t[]){ BK, 1, E }, error));
  TRY (var_view (&Gk3, &l->Gk, 3, (int64_t[]){ B, K, B }, error));
  TRY (seed (&l->loss_v, weight, error));
  TRY (seed (&l->loss_c, weight, error));
  TRY (sv_softmax_xent_backward (&l->lv.d, &l->loss_v.d, &l->probs_v, &l->wv, error));
  TRY (sv_softmax_xent_backward (&l->lc.d, &l->loss_c.d, &l->probs_c, &l->wc, error));
  TRY (sv_scale_backward (&l->Gv.d, &l->lv.d, 1.0f / tau, error));
  TRY (sv_scale_backward (&l->Gc.d, &l->lc.d, 1.0f / tau, error));
  TRY (sv_transpose_backward (&l->Gc.d, &l->Gv.d, 0, error));
  TRY (sv_mean_backward (&Gk3.d, &l->Gc.d, 1u << 1, error));
  TRY (sv_cosine_sim_backward (&n3.d, &l->pooledT.d, &l->scratch2, &l->Gk.d, &l->an2, &l->bn2,
                               &l->anorm2, &l->bnorm2, 1e-8f, error));
  TRY (sv_transpose_backward (&l->pooled.d, &l->pooledT.d, 0, error));
  if (within_weight != 0.0f)
    TRY (within_backward (l, nouns, tau, within_weight, error));
  TRY (sv_matmul_backward (&l->W.d, &gp->d, &l->pooled.d, &l->W.x, &gp->x, FALSE, FALSE, 1.0f,
                           error));
  TRY (sv_softmax_backward (&l->ST.d, &l->W.d, &l->W.x, tau, error));
  TRY (sv_transpose_backward (&S3.d, &l->ST.d, 1, error));
  return sv_cosine_sim_backward (&gflat.d, &nouns->d, &l->scratch, &l->S.d, &l->an, &l->bn,
                                 &l->anorm, &l->bnorm, 1e-8f, error);
}

/* ---- global contrastive (method.md section 7) ---- */

gboolean
sv_contrast_loss_plan (SvVarSet *as, SvContrastLoss *l, int B, int N, int E, GError **error)
{
  l->B = B, l->N = N, l->E = E;
  if (N < B) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "contrastive loss: %d caption columns for %d videos", N, B);
    return FALSE;
  }
  TRY (sv_arena_alloc (as->x, &l->wv, SV_F32, SV_SHAPE (B, N), "lc.wv", error));
  TRY (sv_arena_alloc (as->x, &l->wc, SV_F32, SV_SHAPE (B, B), "lc.wc", error));
  TRY (sv_var_plan (as, &l->S, SV_INIT_ZERO, SV_SHAPE (B, N), error, "lc.S"));
  TRY (sv_var_plan (as, &l->ST, SV_INIT_ZERO, SV_SHAPE (B, B), error, "lc.ST"));
  TRY (sv_var_plan (as, &l->loss_v, SV_INIT_ZERO, SV_SHAPE (1), error, "lc.loss_v"));
  TRY (sv_var_plan (as, &l->loss_c, SV_INIT_ZERO, SV_SHAPE (1), error, "lc.loss_c"));
  TRY (sv_arena_alloc (as->x, &l->probs_v, SV_F32, SV_SHAPE (B, N), "lc.probs_v", error));
  return sv_arena_alloc (as->x, &l->probs_c, SV_F32, SV_SHAPE (B, B), "lc.probs_c", error);
}

gboolean
sv_contrast_loss_set_pairs (SvContrastLoss *l, const float *Wv, GError **error)
{
  int B = l->B, N = l->N;
  float *wv = g_new0 (float, (size_t) B *N), *wc = g_new (float, (size_t) B *B);
  for (int i = 0; i < B; i++)
    for (int j = 0; j < B; j++) {
      wv[(size_t) i * N + j] = Wv[(size_t) i * B + j];
      wc[(size_t) j * B + i] = Wv[(size_t) i * B + j];
    }
  gboolean ok = sv_tensor_upload (&l->wv, wv, (size_t) B * N * 4, error) &&
                sv_tensor_upload (&l->wc, wc, (size_t) B * B * 4, error);
  g_free (wv);
  g_free (wc);
  return ok;
}

gboolean
sv_contrast_loss_forward (SvContrastLoss *l, SvVar *fv, SvVar *fc, float tau, GError **error)
{
  // S[i,j] = cos(f_v_i, f_c_j) / tau (both already unit length), j over captions and negatives
  TRY (sv_matmul_forward (&l->S.x, &fv->x, &fc->x, FALSE, TRUE, 1.0f / tau, error));
  if (l->N == l->B) {
    TRY (sv_transpose_forward (&l->ST.x, &l->S.x, 0, error));
  } else {
    /* text->video sees the B captions only: ST = fc[:B] fv^T / tau (a negative caption
     * has no video of its own) */
    SvTensor own;
    TRY (sv_tensor_slice0 (&own, &fc->x, 0, l->B, error));
    TRY (sv_matmul_forward (&l->ST.x, &own, &fv->x, FALSE, TRUE, 1.0f / tau, error));
  }
  TRY (sv_softmax_xent_forward (&l->loss_v.x, &l->probs_v, &l->S.x, &l->wv, error));
  return sv_softmax_xent_forward (&l->loss_c.x, &l->probs_c, &l->ST.x, &l->wc, error);
}

gboolean
sv_contrast_loss_backward (SvContrastLoss *l, SvVar *fv, SvVar *fc, float tau, float weight,
                           GError **error)
{
  TRY (seed (&l->loss_v, weight, error));
  TRY (seed (&l->loss_c, weight, error));
  TRY (sv_softmax_xent_backward (&l->S.d, &l->loss_v.d, &l->probs_v, &l->wv, error));
  TRY (sv_softmax_xent_backward (&l->ST.d, &l->loss_c.d, &l->probs_c, &l->wc, error));
  if (l->N == l->B) {
    TRY (sv_transpose_backward (&l->S.d, &l->ST.d, 0, error));
  } else {
    SvTensor own_x, own_d;
    TRY (sv_tensor_slice0 (&own_x, &fc->x, 0, l->B, error));
    TRY (sv_tensor_slice0 (&own_d, &fc->d, 0, l->B, error));
    TRY (sv_matmul_backward (&own_d, &fv->d, &l->ST.d, &own_x, &fv->x, FALSE, TRUE, 1.0f / tau,
                             error));
  }
  return sv_matmul_backward (&fv->d, &fc->d, &l->S.d, &fv->x, &fc->x, FALSE, TRUE, 1.0f / tau,
                             error);
}

/* ---- negative captions held apart (sv-losses.h) ---- */

gboolean
sv_separate_loss_plan (SvVarSet *as, SvSeparateLoss *l, int B, int Q, GError **error)
{
  l->B = B, l->Q = Q, l->N = B * (1 + Q);
  if (Q < 1) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "holding negative captions apart needs negative captions");
    return FALSE;
  }
  TRY (sv_arena_alloc (as->x, &l->target, SV_F32, SV_SHAPE (B, l->N), "ls.target", error));
  TRY (sv_var_plan (as, &l->S, SV_INIT_ZERO, SV_SHAPE (B, l->N), error, "ls.S"));
  return sv_var_plan (as, &l->loss, SV_INIT_ZERO, SV_SHAPE (1), error, "ls.loss");
}

gboolean
sv_separate_loss_forward (SvSeparateLoss *l, SvVar *fc, float margin, const float *held,
                          float *value, GError **error)
{
  int B = l->B, N = l->N, Q = l->Q;
  SvTensor own;
  TRY (sv_tensor_slice0 (&own, &fc->x, 0, B, error));
  // S[j, k] = cos(c_j, f_k): the captions against the captions and all negatives
  TRY (sv_matmul_forward (&l->S.x, &own, &fc->x, FALSE, TRUE, 1.0f, error));
  float *t = g_new (float, (size_t) B *N);
  gboolean ok = sv_tensor_download (&l->S.x, t, (size_t) B * N * 4, error);
  /* the target is S itself except where a held pair is above the margin */
  for (int j = 0; ok && j < B; j++)
    for (int q = 0; q < Q; q++) {
      float *x = t + (size_t) j * N + B + j * Q + q;
      if (!held || held[j * Q + q] != 0.0f)
        *x = MIN (*x, margin);
    }
  ok = ok && sv_tensor_upload (&l->target, t, (size_t) B * N * 4, error);
  g_free (t);
  TRY (ok);
  TRY (sv_mse_forward (&l->loss.x, &l->S.x, &l->target, error));
  float mse = 0.0f;
  TRY (sv_tensor_download (&l->loss.x, &mse, sizeof mse, error));
  *value = mse * (float) N / (float) Q; /* the mean over B*N entries -> over the B*Q pairs */
  return TRUE;
}

gboolean
sv_separate_loss_backward (SvSeparateLoss *l, SvVar *fc, float weight, GError **error)
{
  SvTensor own_x, own_d;
  TRY (seed (&l->loss, weight * (float) l->N / (float) l->Q, error));
  TRY (sv_mse_backward (&l->S.d, NULL, &l->loss.d, &l->S.x, &l->target, error));
  TRY (sv_tensor_slice0 (&own_x, &fc->x, 0, l->B, error));
  TRY (sv_tensor_slice0 (&own_d, &fc->d, 0, l->B, error));
  /* one gradient a call: the two operands are overlapping views of fc */
  TRY (sv_matmul_backward (&own_d, NULL, &l->S.d, &own_x, &fc->x, FALSE, TRUE, 1.0f, error));
  return sv_matmul_backward (NULL, &fc->d, &l->S.d, &own_x, &fc->x, FALSE, TRUE, 1.0f, error);
}

/* ---- the caption's words from the clip (sv-losses.h) ---- */

gboolean
sv_words_loss_plan (SvVarSet *as, SvWordsLoss *l, int B, int V, GError **error)
{
  l->B = B, l->V = V;
  TRY (sv_arena_alloc (as->x, &l->targets, SV_F32, SV_SHAPE (B, V), "lw.targets", error));
  TRY (sv_arena_alloc (as->x, &l->probs, SV_F32, SV_SHAPE (B, V), "lw.probs", error));
  TRY (sv_var_plan (as, &l->raw, SV_INIT_ZERO, SV_SHAPE (B, V), error, "lw.raw"));
  TRY (sv_var_plan (as, &l->logits, SV_INIT_ZERO, SV_SHAPE (B, V), error, "lw.logits"));
  return sv_var_plan (as, &l->loss, SV_INIT_ZERO, SV_SHAPE (1), error, "lw.loss");
}

gboolean
sv_words_loss_set_targets (SvWordsLoss *l, const int32_t *ids, const float *mask, int L,
                           const float *Wv, const float *word_weight, GError **error)
{
  int B = l->B, V = l->V;
  /* bag[j]: 1 over caption j's distinct tokens (special tokens left out), shared in
   * proportion to their weights */
  float *bag = g_new0 (float, (size_t) B *V), *t = g_new0 (float, (size_t) B *V);
  for (int j = 0; j < B; j++) {
    float *row = bag + (size_t) j * V;
    double total = 0.0;
    for (int k = 0; k < L; k++) {
      int32_t id = ids[(size_t) j * L + k];
      if (mask[(size_t) j * L + k] == 0.0f || id < SV_TOKEN_N_SPECIAL || id >= V || row[id] != 0.0f)
        continue;
      float w = word_weight ? word_weight[id] : 1.0f;
      if (!(w > 0.0f)) /* 0 (or NaN): not a target */
        continue;
      row[id] = w;
      total += w;
    }
    for (int v = 0; total > 0.0 && v < V; v++)
      row[v] = (float) (row[v] / total);
  }
  for (int i = 0; i < B; i++)
    for (int j = 0; j < B; j++) {
      float w = Wv ? Wv[(size_t) i * B + j] : (float) (i == j);
      for (int v = 0; w != 0.0f && v < V; v++)
        t[(size_t) i * V + v] += w * bag[(size_t) j * V + v];
    }
  gboolean ok = sv_tensor_upload (&l->targets, t, (size_t) B * V * 4, error);
  g_free (bag);
  g_free (t);
  return ok;
}

gboolean
sv_words_loss_forward (SvWordsLoss *l, SvVar *fv, SvVar *weight, SvVar *bias, float tau,
                       float *value, GError **error)
{
  // logits[i, v] = (W[v] . f_v_i + b[v]) / tau
  TRY (sv_linear_forward (&l->raw.x, &fv->x, &weight->x, &bias->x, error));
  TRY (sv_scale_forward (&l->logits.x, &l->raw.x, 1.0f / tau, error));
  TRY (sv_softmax_xent_forward (&l->loss.x, &l->probs, &l->logits.x, &l->targets, error));
  return sv_tensor_download (&l->loss.x, value, sizeof *value, error);
}

gboolean
sv_words_loss_backward (SvWordsLoss *l, SvVar *fv, SvVar *weight, SvVar *bias, float tau,
                        float loss_weight, GError **error)
{
  TRY (seed (&l->loss, loss_weight, error));
  TRY (sv_softmax_xent_backward (&l->logits.d, &l->loss.d, &l->probs, &l->targets, error));
  TRY (sv_scale_backward (&l->raw.d, &l->logits.d, 1.0f / tau, error));
  return sv_linear_backward (&fv->d, &weight->d, &bias->d, &l->raw.d, &fv->x, &weight->x, error);
}

/* ---- CSAL targets (method.md section 9) ---- */

/* Y = softmax(5 W) per row of W = max(S_v,0) max(S_t,0), W < 0.05 -> -100; smoothed */
static void
csal_soft_identity (const float *fv, const float *fc, int B, int E, double *Y)
{
  for (int i = 0; i < B; i++) {
    double *row = Y + (size_t) i * B, mx = -G_MAXDOUBLE, sum = 0.0;
    for (int j = 0; j < B; j++) {
      double sv = 0.0, st = 0.0;
      for (int e = 0; e < E; e++) {
        sv += (double) fv[(size_t) i * E + e] * fv[(size_t) j * E + e];
        st += (double) fc[(size_t) i * E + e] * fc[(size_t) j * E + e];
      }
      double w = MAX (sv, 0.0) * MAX (st, 0.0);
      row[j] = 5.0 * (w < 0.05 ? -100.0 : w);
      mx = MAX (mx, row[j]);
    }
    for (int j = 0; j < B; j++)
      sum += row[j] = exp (row[j] - mx);
    for (int j = 0; j < B; j++)
      row[j] = 0.99 * row[j] / sum + 0.01 / B;
  }
}

void
sv_csal_targets (const float *fv, const float *fc, const float *Wv, int B, int E, float *Tv,
                 float *Tc)
{
  double *Y = g_new (double, (size_t) B *B);
  csal_soft_identity (fv, fc, B, E, Y);
  for (int i = 0; i < B; i++)
    for (int j = 0; j < B; j++) {
      double tv = 0.0, tc = 0.0;
      for (int k = 0; k < B; k++) {
        tv += (double) Wv[(size_t) i * B + k] * Y[(size_t) k * B + j]; /* (Wv Y)[i][j] */
        tc += Y[(size_t) i * B + k] * Wv[(size_t) j * B + k];          /* (Y Wv^T)[i][j] */
      }
      Tv[(size_t) i * B + j] = (float) tv;
      Tc[(size_t) i * B + j] = (float) tc;
    }
  g_free (Y);
}

gboolean
sv_csal_set_targets (SvContrastLoss *l, const SvVar *fv, const SvVar *fc, const float *Wv,
                     GError **error)
{
  int B = l->B, E = l->E;
  size_t n = (size_t) B * E;
  float *v = g_new (float, n), *c = g_new (float, n), *tv = g_new (float, (size_t) B *B),
        *tc = g_new (float, (size_t) B *B);
  gboolean ok =
      sv_tensor_download (&fv->x, v, n * 4, error) && sv_tensor_download (&fc->x, c, n * 4, error);
  if (ok) {
    sv_csal_targets (v, c, Wv, B, E, tv, tc);
    ok = sv_tensor_upload (&l->wv, tv, (size_t) B * B * 4, error) &&
         sv_tensor_upload (&l->wc, tc, (size_t) B * B * 4, error);
  }
  g_free (v);
  g_free (c);
  g_free (tv);
  g_free (tc);
  return ok;
}
