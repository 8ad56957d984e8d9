/* svilm-core: transformer block and grouping block, forward and backward. */
#include "sv-blocks.h"

#include "sv-error.h"
#include "sv-ops.h"

#include <math.h>

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    if (!(expr))                                                                                   \
      return FALSE;                                                                                \
  } while (0)

/* views a [*, ..., n] scratch tensor as the first `numel` floats reshaped */
static gboolean
scratch_view (SvTensor *view, const SvTensor *scratch, int ndim, const int64_t *shape,
              GError **error)
{
  SvTensor flat;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  int64_t whole = (int64_t) scratch->numel;
  TRY (sv_tensor_reshape (&flat, scratch, 1, &whole, error));
  TRY (sv_tensor_slice0 (&flat, &flat, 0, n, error));
  return sv_tensor_reshape (view, &flat, ndim, shape, error);
}

static gboolean
plan_linear (SvVarSet *ps, SvVar *w, SvVar *b, int out, int in, const char *prefix,
             const char *name, GError **error)
{
  return sv_var_plan (ps, w, SV_INIT_LINEAR, SV_SHAPE (out, in), error, "%s.%s.weight", prefix,
                      name) &&
         sv_var_plan (ps, b, SV_INIT_ZERO, SV_SHAPE (out), error, "%s.%s.bias", prefix, name);
}

static gboolean
plan_ln (SvVarSet *ps, SvVar *w, SvVar *b, int D, const char *prefix, const char *name,
         GError **error)
{
  return sv_var_plan (ps, w, SV_INIT_ONE, SV_SHAPE (D), error, "%s.%s.weight", prefix, name) &&
         sv_var_plan (ps, b, SV_INIT_ZERO, SV_SHAPE (D), error, "%s.%s.bias", prefix, name);
}

/* ---- transformer block ---- */

gboolean
sv_block_params_plan (SvVarSet *ps, SvBlockParams *p, int D, int F, const char *prefix,
                      GError **error)
{
  return plan_ln (ps, &p->ln1_w, &p->ln1_b, D, prefix, "ln1", error) &&
         plan_linear (ps, &p->q_w, &p->q_b, D, D, prefix, "attn.q", error) &&
         plan_linear (ps, &p->k_w, &p->k_b, D, D, prefix, "attn.k", error) &&
         plan_linear (ps, &p->v_w, &p->v_b, D, D, prefix, "attn.v", error) &&
         plan_linear (ps, &p->o_w, &p->o_b, D, D, prefix, "attn.o", error) &&
         plan_ln (ps, &p->ln2_w, &p->ln2_b, D, prefix, "ln2", error) &&
         plan_linear (ps, &p->fc1_w, &p->fc1_b, F, D, prefix, "mlp.fc1", error) &&
         plan_linear (ps, &p->fc2_w, &p->fc2_b, D, F, prefix, "mlp.fc2", error);
}

gboolean
sv_block_acts_plan (SvVarSet *as, SvBlockActs *a, int B, int N, int D, int H, int F, int tf,
                    float theta, gboolean shared_scratch, gboolean keep_att, GError **error)
{
  a->B = B, a->N = N, a->D = D, a->H = H, a->F = F;
  a->tf = tf;
  a->theta = theta;
  int S3 = tf > 0 ? 3 * (N / tf) : N; /* keys a query attends to */
  size_t mark = 0;
  if (shared_scratch) {
    /* what outlives the forward first, then the intermediates, whose memory the next
     * tensors planned reuse */
    TRY (sv_var_plan (as, &a->out, SV_INIT_ZERO, SV_SHAPE (B, N, D), error, "block.act9"));
    if (keep_att)
      TRY (sv_arena_alloc (as->x, &a->att, SV_F32, SV_SHAPE (B, H, N, S3), "block.att", error));
    mark = sv_arena_mark (as->x);
  }
  SvVar *bnd[] = {
    &a->ln1, &a->q, &a->k, &a->v, &a->a, &a->o, &a->res1, &a->ln2, &a->fc2, &a->out
  };
  for (guint i = 0; i < G_N_ELEMENTS (bnd); i++)
    if (!shared_scratch || bnd[i] != &a->out)
      TRY (sv_var_plan (as, bnd[i], SV_INIT_ZERO, SV_SHAPE (B, N, D), error, "block.act%u", i));
  TRY (sv_var_plan (as, &a->fc1, SV_INIT_ZERO, SV_SHAPE (B, N, F), error, "block.fc1"));
  a->gelu_in_fc1 = shared_scratch;
  if (!shared_scratch)
    TRY (sv_var_plan (as, &a->gelu, SV_INIT_ZERO, SV_SHAPE (B, N, F), error, "block.gelu"));
  SvTensor *stats[] = { &a->ln1_mean, &a->ln1_rstd, &a->ln2_mean, &a->ln2_rstd };
  for (guint i = 0; i < G_N_ELEMENTS (stats); i++)
    TRY (sv_arena_alloc (as->x, stats[i], SV_F32, SV_SHAPE (B * N), "block.ln-stats", error));
  if (tf > 0)
    TRY (sv_arena_alloc (as->x, &a->graph, SV_F32, SV_SHAPE (B, N, S3), "block.graph", error));
  if (!shared_scratch || !keep_att)
    TRY (sv_arena_alloc (as->x, &a->att, SV_F32, SV_SHAPE (B, H, N, S3), "block.att", error));
  if (shared_scratch)
    sv_arena_rewind (as->x, mark);
  return TRUE;
}

int64_t
sv_block_scratch_floats (const SvBlockActs *a)
{
  return (int64_t) a->att.numel;
}

gboolean
sv_block_forward (SvBlockParams *p, SvBlockActs *a, SvVar *x, const SvTensor *graph, float eps,
                  GError **error)
{
  // attention sub-layer: res1 = x + Wo attn(LN1(x))
  TRY (sv_layernorm_forward (&a->ln1.x, &a->ln1_mean, &a->ln1_rstd, &x->x, &p->ln1_w.x, &p->ln1_b.x,
                             eps, error));
  TRY (sv_linear_forward (&a->q.x, &a->ln1.x, &p->q_w.x, &p->q_b.x, error));
  TRY (sv_linear_forward (&a->k.x, &a->ln1.x, &p->k_w.x, &p->k_b.x, error));
  TRY (sv_linear_forward (&a->v.x, &a->ln1.x, &p->v_w.x, &p->v_b.x, error));
  if (a->tf > 0) {
    // STGT: the graph from the layer's normalised tokens, attention over the temporal band
    TRY (sv_stgraph_build (&a->graph, &a->ln1.x, a->tf, a->theta, error));
    TRY (sv_stgraph_attention_forward (&a->a.x, &a->att, &a->q.x, &a->k.x, &a->v.x, &a->graph,
                                       a->tf, a->H, error));
  } else {
    TRY (sv_attention_forward (&a->a.x, &a->att, &a->q.x, &a->k.x, &a->v.x, graph, a->H, error));
  }
  TRY (sv_linear_forward (&a->o.x, &a->a.x, &p->o_w.x, &p->o_b.x, error));
  TRY (sv_add_forward (&a->res1.x, &x->x, &a->o.x, error));
  // MLP sub-layer: out = res1 + W2 gelu(W1 LN2(res1))
  TRY (sv_layernorm_forward (&a->ln2.x, &a->ln2_mean, &a->ln2_rstd, &a->res1.x, &p->ln2_w.x,
                             &p->ln2_b.x, eps, error));
  TRY (sv_linear_forward (&a->fc1.x, &a->ln2.x, &p->fc1_w.x, &p->fc1_b.x, error));
  SvTensor *gelu = a->gelu_in_fc1 ? &a->fc1.x : &a->gelu.x;
  TRY (sv_gelu_forward (gelu, &a->fc1.x, error));
  TRY (sv_linear_forward (&a->fc2.x, gelu, &p->fc2_w.x, &p->fc2_b.x, error));
  return sv_add_forward (&a->out.x, &a->res1.x, &a->fc2.x, error);
}

gboolean
sv_block_backward (SvBlockParams *p, SvBlockActs *a, SvVar *x, const SvTensor *graph,
                   SvBlockScratch *s, GError **error)
{
  TRY (sv_add_backward (&a->res1.d, &a->fc2.d, &a->out.d, error));
  TRY (sv_linear_backward (&a->gelu.d, &p->fc2_w.d, &p->fc2_b.d, &a->fc2.d, &a->gelu.x, &p->fc2_w.x,
                           error));
  TRY (sv_gelu_backward (&a->fc1.d, &a->gelu.d, &a->fc1.x, error));
  TRY (sv_linear_backward (&a->ln2.d, &p->fc1_w.d, &p->fc1_b.d, &a->fc1.d, &a->ln2.x, &p->fc1_w.x,
                           error));
  TRY (sv_layernorm_backward (&a->res1.d, &p->ln2_w.d, &p->ln2_b.d, &a->ln2.d, &a->res1.x,
                              &p->ln2_w.x, &a->ln2_mean, &a->ln2_rstd, error));
  TRY (sv_add_backward (&x->d, &a->o.d, &a->res1.d, error));
  TRY (sv_linear_backward (&a->a.d, &p->o_w.d, &p->o_b.d, &a->o.d, &a->a.x, &p->o_w.x, error));
  SvTensor scratch;
  TRY (scratch_view (&scratch, &s->att, 4, a->att.shape, error));
  if (a->tf > 0)
    TRY (sv_stgraph_attention_backward (&a->q.d, &a->k.d, &a->v.d, &scratch, &a->a.d, &a->att,
                                        &a->q.x, &a->k.x, &a->v.x, &a->graph, a->tf, a->H, error));
  else
    TRY (sv_attention_backward (&a->q.d, &a->k.d, &a->v.d, &scratch, &a->a.d, &a->att, &a->q.x,
                                &a->k.x, &a->v.x, graph, a->H, error));
  TRY (sv_linear_backward (&a->ln1.d, &p->q_w.d, &p->q_b.d, &a->q.d, &a->ln1.x, &p->q_w.x, error));
  TRY (sv_linear_backward (&a->ln1.d, &p->k_w.d, &p->k_b.d, &a->k.d, &a->ln1.x, &p->k_w.x, error));
  TRY (sv_linear_backward (&a->ln1.d, &p->v_w.d, &p->v_b.d, &a->v.d, &a->ln1.x, &p->v_w.x, error));
  return sv_layernorm_backward (&x->d, &p->ln1_w.d, &p->ln1_b.d, &a->ln1.d, &x->x, &p->ln1_w.x,
                                &a->ln1_mean, &a->ln1_rstd, error);
}

/* ---- grouping block ---- */

gboolean
sv_group_block_params_plan (SvVarSet *ps, SvGroupBlockParams *p, int D, int F, const char *prefix,
                            GError **error)
{
  return plan_ln (ps, &p->lng_w, &p->lng_b, D, prefix, "norm_groups", error) &&
         plan_ln (ps, &p->lnx_w, &p->lnx_b, D, prefix, "norm_tokens", error) &&
         plan_linear (ps, &p->q_w, &p->q_b, D, D, prefix, "assign.q", error) &&
         plan_linear (ps, &p->k_w, &p->k_b, D, D, prefix, "assign.k", error) &&
         plan_linear (ps, &p->v_w, &p->v_b, D, D, prefix, "assign.v", error) &&
         plan_linear (ps, &p->o_w, &p->o_b, D, D, prefix, "assign.o", error) &&
         plan_ln (ps, &p->ln_w, &p->ln_b, D, prefix, "ln", error) &&
         plan_linear (ps, &p->fc1_w, &p->fc1_b, F, D, prefix, "mlp.fc1", error) &&
         plan_linear (ps, &p->fc2_w, &p->fc2_b, D, F, prefix, "mlp.fc2", error);
}

gboolean
sv_group_block_acts_plan (SvVarSet *as, SvGroupBlockActs *a, int B, int M, int N, int D, int F,
                          GError **error)
{
  a->B = B, a->M = M, a->N = N, a->D = D, a->F = F;
  SvVar *bmd[] = { &a->gln, &a->q, &a->upd, &a->o, &a->res1, &a->ln, &a->fc2, &a->out };
  for (guint i = 0; i < G_N_ELEMENTS (bmd); i++)
    TRY (sv_var_plan (as, bmd[i], SV_INIT_ZERO, SV_SHAPE (B, M, D), error, "group.act%u", i));
  SvVar *bnd[] = { &a->xln, &a->k, &a->v };
  for (guint i = 0; i < G_N_ELEMENTS (bnd); i++)
    TRY (sv_var_plan (as, bnd[i], SV_INIT_ZERO, SV_SHAPE (B, N, D), error, "group.tok%u", i));
  TRY (sv_var_plan (as, &a->logits, SV_INIT_ZERO, SV_SHAPE (B, M, N), error, "group.logits"));
  TRY (sv_var_plan (as, &a->assign, SV_INIT_ZERO, SV_SHAPE (B, M, N), error, "group.assign"));
  TRY (sv_var_plan (as, &a->fc1, SV_INIT_ZERO, SV_SHAPE (B, M, F), error, "group.fc1"));
  TRY (sv_var_plan (as, &a->gelu, SV_INIT_ZERO, SV_SHAPE (B, M, F), error, "group.gelu"));
  SvTensor *gstats[] = { &a->gln_mean, &a->gln_rstd, &a->ln_mean, &a->ln_rstd };
  for (guint i = 0; i < G_N_ELEMENTS (gstats); i++)
    TRY (sv_arena_alloc (as->x, gstats[i], SV_F32, SV_SHAPE (B * M), "group.ln-stats", error));
  TRY (sv_arena_alloc (as->x, &a->xln_mean, SV_F32, SV_SHAPE (B * N), "group.xln-mean", error));
  TRY (sv_arena_alloc (as->x, &a->xln_rstd, SV_F32, SV_SHAPE (B * N), "group.xln-rstd", error));
  TRY (sv_arena_alloc (as->x, &a->y, SV_F32, SV_SHAPE (B, M, N), "group.y", error));
  return sv_arena_alloc (as->x, &a->denom, SV_F32, SV_SHAPE (B, M), "group.denom", error);
}

gboolean
sv_group_block_forward (SvGroupBlockParams *p, SvGroupBlockActs *a, SvVar *g, SvVar *x,
                        const SvTensor *noise, float tau, float eps, GError **error)
{
  // assignment: logits[B,M,N] = q k^T / sqrt(D), A = hard assign over groups
  TRY (sv_layernorm_forward (&a->gln.x, &a->gln_mean, &a->gln_rstd, &g->x, &p->lng_w.x, &p->lng_b.x,
                             eps, error));
  TRY (sv_layernorm_forward (&a->xln.x, &a->xln_mean, &a->xln_rstd, &x->x, &p->lnx_w.x, &p->lnx_b.x,
                             eps, error));
  TRY (sv_linear_forward (&a->q.x, &a->gln.x, &p->q_w.x, &p->q_b.x, error));
  TRY (sv_linear_forward (&a->k.x, &a->xln.x, &p->k_w.x, &p->k_b.x, error));
  TRY (sv_linear_forward (&a->v.x, &a->xln.x, &p->v_w.x, &p->v_b.x, error));
  TRY (sv_matmul_forward (&a->logits.x, &a->q.x, &a->k.x, FALSE, TRUE, 1.0f / sqrtf ((float) a->D),
                          error));
  TRY (sv_assign_forward (&a->assign.x, &a->y, &a->denom, &a->logits.x, noise, tau, TRUE, error));
  // update: res1 = g + Wo (A v)
  TRY (sv_matmul_forward (&a->upd.x, &a->assign.x, &a->v.x, FALSE, FALSE, 1.0f, error));
  TRY (sv_linear_forward (&a->o.x, &a->upd.x, &p->o_w.x, &p->o_b.x, error));
  TRY (sv_add_forward (&a->res1.x, &g->x, &a->o.x, error));
  // MLP: out = res1 + W2 gelu(W1 LN(res1))
  TRY (sv_layernorm_forward (&a->ln.x, &a->ln_mean, &a->ln_rstd, &a->res1.x, &p->ln_w.x, &p->ln_b.x,
                             eps, error));
  TRY (sv_linear_forward (&a->fc1.x, &a->ln.x, &p->fc1_w.x, &p->fc1_b.x, error));
  TRY (sv_gelu_forward (&a->gelu.x, &a->fc1.x, error));
  TRY (sv_linear_forward (&a->fc2.x, &a->gelu.x, &p->fc2_w.x, &p->fc2_b.x, error));
  return sv_add_forward (&a->out.x, &a->res1.x, &a->fc2.x, error);
}

gboolean
sv_group_block_backward (SvGroupBlockParams *p, SvGroupBlockActs *a, SvVar *g, SvVar *x, float tau,
                         SvBlockScratch *s, GError **error)
{
  TRY (sv_add_backward (&a->res1.d, &a->fc2.d, &a->out.d, error));
  TRY (sv_linear_backward (&a->gelu.d, &p->fc2_w.d, &p->fc2_b.d, &a->fc2.d, &a->gelu.x, &p->fc2_w.x,
                           error));
  TRY (sv_gelu_backward (&a->fc1.d, &a->gelu.d, &a->fc1.x, error));
  TRY (sv_linear_backward (&a->ln.d, &p->fc1_w.d, &p->fc1_b.d, &a->fc1.d, &a->ln.x, &p->fc1_w.x,
                           error));
  TRY (sv_layernorm_backward (&a->res1.d, &p->ln_w.d, &p->ln_b.d, &a->ln.d, &a->res1.x, &p->ln_w.x,
                              &a->ln_mean, &a->ln_rstd, error));
  TRY (sv_add_backward (&g->d, &a->o.d, &a->res1.d, error));
  TRY (sv_linear_backward (&a->upd.d, &p->o_w.d, &p->o_b.d, &a->o.d, &a->upd.x, &p->o_w.x, error));
  TRY (sv_matmul_backward (&a->assign.d, &a->v.d, &a->upd.d, &a->assign.x, &a->v.x, FALSE, FALSE,
                           1.0f, error));
  SvTensor scratch;
  TRY (scratch_view (&scratch, &s->assign, 2, a->denom.shape, error));
  TRY (sv_assign_backward (&a->logits.d, &scratch, &a->assign.d, &a->assign.x, &a->y, &a->denom,
                           tau, error));
  TRY (sv_matmul_backward (&a->q.d, &a->k.d, &a->logits.d, &a->q.x, &a->k.x, FALSE, TRUE,
                           1.0f / sqrtf ((float) a->D), error));
  TRY (sv_linear_backward (&a->xln.d, &p->k_w.d, &p->k_b.d, &a->k.d, &a->xln.x, &p->k_w.x, error));
  TRY (sv_linear_backward (&a->xln.d, &p->v_w.d, &p->v_b.d, &a->v.d, &a->xln.x, &p->v_w.x, error));
  TRY (sv_linear_backward (&a->gln.d, &p->q_w.d, &p->q_b.d, &a->q.d, &a->gln.x, &p->q_w.x, error));
  TRY (sv_layernorm_backward (&x->d, &p->lnx_w.d, &p->lnx_b.d, &a->xln.d, &x->x, &p->lnx_w.x,
                              &a->xln_mean, &a->xln_rstd, error));
  return sv_layernorm_backward (&g->d, &p->lng_w.d, &p->lng_b.d, &a->gln.d, &g->x, &p->lng_w.x,
                                &a->gln_mean, &a->gln_rstd, error);
}
