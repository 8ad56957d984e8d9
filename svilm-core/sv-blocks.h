/* svilm-core: the two layer types of the encoders.
 *
 * SvBlock: a pre-LN transformer block (both encoders):
 *   x1 = x + Wo attn(LN1(x));  out = x1 + W2 gelu(W1 LN2(x1))
 * SvGroupBlock: S-ViLM's grouping block (method.md section 5), which updates the
 * group tokens g from the video tokens x without replacing x:
 *   logits = (Wq LNg(g)) (Wk LNx(x))^T / sqrt(D);  A = assign(logits [+ Gumbel], tau)
 *   g1 = g + Wo (A (Wv LNx(x)));  out = g1 + W2 gelu(W1 LN(g1))
 */
#pragma once

#include "sv-var.h"

G_BEGIN_DECLS

typedef struct {
  SvVar ln1_w, ln1_b, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;
  SvVar ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
} SvBlockParams;

typedef struct {
  int B, N, D, H, F;
  int tf;      /* STGT graph attention over tf temporal slices (0: full attention) */
  float theta; /* its similarity threshold */
  SvVar ln1, q, k, v, a, o, res1, ln2, fc1, gelu, fc2, out; /* gelu unplanned when gelu_in_fc1 */
  /* inference (shared_scratch): GELU overwrites fc1, which nothing reads after it */
  gboolean gelu_in_fc1;
  SvTensor ln1_mean, ln1_rstd, ln2_mean, ln2_rstd;
  SvTensor att;   /* [B,H,N,N], or [B,H,N,3S] over the band with STGT */
  SvTensor graph; /* STGT: [B,N,3S] graph of the layer, built from LN1(x) (detached) */
} SvBlockActs;

typedef struct {
  SvVar lng_w, lng_b, lnx_w, lnx_b, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;
  SvVar ln_w, ln_b, fc1_w, fc1_b, fc2_w, fc2_b;
} SvGroupBlockParams;

typedef struct {
  int B, M, N, D, F;
  SvVar gln, xln, q, k, v, logits, assign, upd, o, res1, ln, fc1, gelu, fc2, out;
  SvTensor gln_mean, gln_rstd, xln_mean, xln_rstd, ln_mean, ln_rstd;
  SvTensor y, denom; /* soft assignment (for heatmaps) and normaliser */
} SvGroupBlockActs;

/* Scratch shared by all blocks of a pass (used within one backward call at a time). */
typedef struct {
  SvTensor att;    /* >= max B*H*Nq*Nk floats */
  SvTensor assign; /* >= B*M floats */
} SvBlockScratch;

gboolean sv_block_params_plan (SvVarSet *params, SvBlockParams *p, int D, int F, const char *prefix,
                               GError **error);
/* tf > 0: STGT spatio-temporal graph attention over tf slices of N/tf tokens.
 * shared_scratch (inference): everything but out (and att when keep_att) shares memory
 * with what the set plans next (sv_arena_rewind), which must not be written before this
 * block's forward has run; no backward then. */
gboolean sv_block_acts_plan (SvVarSet *acts, SvBlockActs *a, int B, int N, int D, int H, int F,
                             int tf, float theta, gboolean shared_scratch, gboolean keep_att,
                             GError **error);
/* scratch floats the block's backward needs */
int64_t sv_block_scratch_floats (const SvBlockActs *a);
/* x [B,N,D] -> a->out; graph [B,N,N] (dense attention mask) or NULL */
gboolean sv_block_forward (SvBlockParams *p, SvBlockActs *a, SvVar *x, const SvTensor *graph,
                           float eps, GError **error);
/* from a->out.d, accumulates parameter grads and x->d */
gboolean sv_block_backward (SvBlockParams *p, SvBlockActs *a, SvVar *x, const SvTensor *graph,
                            SvBlockScratch *s, GError **error);

gboolean sv_group_block_params_plan (SvVarSet *params, SvGroupBlockParams *p, int D, int F,
                                     const char *prefix, GError **error);
gboolean sv_group_block_acts_plan (SvVarSet *acts, SvGroupBlockActs *a, int B, int M, int N, int D,
                                   int F, GError **error);
/* g [B,M,D], x [B,N,D] -> a->out [B,M,D]; noise [B,M,N] or NULL (inference) */
gboolean sv_group_block_forward (SvGroupBlockParams *p, SvGroupBlockActs *a, SvVar *g, SvVar *x,
                                 const SvTensor *noise, float tau, float eps, GError **error);
gboolean sv_group_block_backward (SvGroupBlockParams *p, SvGroupBlockActs *a, SvVar *g, SvVar *x,
                                  float tau, SvBlockScratch *s, GError **error);

G_END_DECLS
