/* svilm-core Vulkan backend: the GEMM-based ops (linear, matmul, attention,
 * cosine similarity), all through one strided batched GEMM kernel
 * (shaders/gemm.comp).  Operands are described by element strides, so
 * transposes and attention heads are views, never copies. */
#include "config.h"

#include "sv-vk-private.h"

#include <math.h>

/* Tile configurations (specialization constants of gemm.comp): big tiles for
 * big products, small ones when big tiles would leave the GPU idle. */
typedef struct {
  uint32_t bm, bn, bk, tm, tn;
} GemmTiles;

static GemmTiles
pick_tiles (SvVk *vk, int batch, int M, int N)
{
  GemmTiles t = { 64, 64, 16, 4, 4 };
  double tiles = (double) batch * ((M + 63) / 64) * ((N + 63) / 64);
  if (tiles < 64 || M < 48 || N < 48)
    t = (GemmTiles){ 32, 32, 16, 2, 2 };
  /* fewer invocations per workgroup where the device allows fewer than 256 */
  while ((t.bm / t.tm) * (t.bn / t.tn) > vk->wg_max) {
    if (t.tn <= t.tm)
      t.tn *= 2;
    else
      t.tm *= 2;
  }
  return t;
}

void
sv_vk_gemm (SvVk *vk, const SvVkMat *c, const SvVkMat *a, const SvVkMat *b, const SvTensor *bias,
            int batch, int batch_inner, int M, int N, int K, float alpha, float beta)
{
  if (!sv_vk_ok (vk) || batch <= 0 || M <= 0 || N <= 0)
    return;
  GemmTiles t = pick_tiles (vk, batch, M, N);
  SvVkCall call;
  sv_vk_call_init (&call, SV_VK_K_GEMM, (t.bm / t.tm) * (t.bn / t.tn));
  sv_vk_call_spec (&call, t.bm);
  sv_vk_call_spec (&call, t.bn);
  sv_vk_call_spec (&call, t.bk);
  sv_vk_call_spec (&call, t.tm);
  sv_vk_call_spec (&call, t.tn);
  sv_vk_call_t (&call, a->t, FALSE);
  sv_vk_call_t (&call, b->t, FALSE);
  sv_vk_call_t (&call, c->t, TRUE);
  sv_vk_call_t (&call, bias, FALSE);
  const uint32_t u[] = {
    (uint32_t) M,
    (uint32_t) N,
    (uint32_t) K,
    (uint32_t) batch,
    (uint32_t) MAX (batch_inner, 1),
    (uint32_t) a->b1,
    (uint32_t) a->b2,
    (uint32_t) a->rs,
    (uint32_t) a->cs,
    (uint32_t) b->b1,
    (uint32_t) b->b2,
    (uint32_t) b->rs,
    (uint32_t) b->cs,
    (uint32_t) c->b1,
    (uint32_t) c->b2,
    (uint32_t) c->rs,
    (uint32_t) c->cs,
  };
  for (guint i = 0; i < G_N_ELEMENTS (u); i++)
    sv_vk_call_u (&call, u[i]);
  sv_vk_call_f (&call, alpha);
  sv_vk_call_f (&call, beta);
  sv_vk_call_u (&call, bias != NULL);
  uint32_t gx = (uint32_t) MIN ((N + t.bn - 1) / t.bn, SV_VK_MAX_GROUPS);
  uint32_t gy = (uint32_t) MIN ((M + t.bm - 1) / t.bm, SV_VK_MAX_GROUPS);
  uint32_t gz = (uint32_t) MIN ((uint32_t) batch, SV_VK_MAX_GROUPS);
  sv_vk_call_dispatch (vk, &call, gx, gy, gz);
}

/* a row-major [rows, cols] matrix (batch_stride apart) as a GEMM operand */
static SvVkMat
mat (const SvTensor *t, size_t cols, size_t batch_stride)
{
  SvVkMat m = { t, batch_stride, 0, cols, 1 };
  return m;
}

/* the same matrix read transposed */
static SvVkMat
tr (SvVkMat m)
{
  size_t s = m.rs;
  m.rs = m.cs;
  m.cs = s;
  return m;
}

static void
vk_linear_forward (SvBackend *be, SvTensor *out, cT *inp, cT *weight, cT *bias, int N, int C,
                   int OC)
{
  /* out[N,OC] = inp[N,C] @ weight[OC,C]^T + bias */
  SvVkMat a = mat (inp, C, 0), b = tr (mat (weight, C, 0));
  SvVkMat c = mat (out, OC, 0);
  sv_vk_gemm (SV_VK (be), &c, &a, &b, bias, 1, 1, N, OC, C, 1.0f, 0.0f);
}

static void
colsum (SvVk *vk, const SvTensor *out, const SvTensor *in, int rows, int cols, float alpha,
        float beta)
{
  /* out[cols] = alpha * sum over rows of in[rows, cols] (+ beta out) */
  SvVkCall call;
  sv_vk_call_init (&call, SV_VK_K_COLSUM, vk->wg_max);
  sv_vk_call_t (&call, out, TRUE);
  sv_vk_call_t (&call, in, FALSE);
  sv_vk_call_u (&call, (uint32_t) rows);
  sv_vk_call_u (&call, (uint32_t) cols);
  sv_vk_call_f (&call, alpha);
  sv_vk_call_f (&call, beta);
  sv_vk_call_run (vk, &call, ((size_t) cols + 31) / 32, TRUE);
}

static void
vk_linear_backward (SvBackend *be, SvTensor *dinp, SvTensor *dweight, SvTensor *dbias, cT *dout,
                    cT *inp, cT *weight, int N, int C, int OC)
{
  SvVk *vk = SV_VK (be);
  if (N == 0 || OC == 0 || C == 0)
    return;
  SvVkMat g = mat (dout, OC, 0);
  if (dinp) { /* dinp[N,C] += dout[N,OC] @ weight[OC,C] */
    SvVkMat w = mat (weight, C, 0), d = mat (dinp, C, 0);
    sv_vk_gemm (vk, &d, &g, &w, NULL, 1, 1, N, C, OC, 1.0f, 1.0f);
  }
  if (dweight) { /* dweight[OC,C] += dout^T @ inp */
    SvVkMat gt = tr (g), x = mat (inp, C, 0), d = mat (dweight, C, 0);
    sv_vk_gemm (vk, &d, &gt, &x, NULL, 1, 1, OC, C, N, 1.0f, 1.0f);
  }
  if (dbias)
    colsum (vk, dbias, dout, N, OC, 1.0f, 1.0f);
}

static void
vk_matmul_forward (SvBackend *be, SvTensor *c, cT *a, cT *b, int batch, int M, int N, int K,
                   bool trans_a, bool trans_b, float alpha)
{
  /* c[batch,M,N] = alpha op(a)[M,K] @ op(b)[K,N] */
  SvVkMat ma = mat (a, K, (size_t) M * K), mb = mat (b, N, (size_t) K * N);
  if (trans_a) /* stored [K,M] */
    ma = tr (mat (a, M, (size_t) M * K));
  if (trans_b) /* stored [N,K] */
    mb = tr (mat (b, K, (size_t) K * N));
  SvVkMat mc = mat (c, N, (size_t) M * N);
  sv_vk_gemm (SV_VK (be), &mc, &ma, &mb, NULL, batch, 1, M, N, K, alpha, 0.0f);
}

static void
vk_matmul_backward (SvBackend *be, SvTensor *da, SvTensor *db, cT *dc, cT *a, cT *b, int batch,
                    int M, int N, int K, bool trans_a, bool trans_b, float alpha)
{
  SvVk *vk = SV_VK (be);
  /* op(a) and op(b) as views; their gradients are written through the same views */
  SvVkMat ma = trans_a ? tr (mat (a, M, (size_t) M * K)) : mat (a, K, (size_t) M * K);
  SvVkMat mb = trans_b ? tr (mat (b, K, (size_t) K * N)) : mat (b, N, (size_t) K * N);
  SvVkMat mc = mat (dc, N, (size_t) M * N);
  if (da) { /* op(a)grad[M,K] += alpha dc[M,N] @ op(b)^T */
    SvVkMat g = ma, bt = tr (mb);
    g.t = da;
    sv_vk_gemm (vk, &g, &mc, &bt, NULL, batch, 1, M, K, N, alpha, 1.0f);
  }
  if (db) { /* op(b)grad[K,N] += alpha op(a)^T @ dc */
    SvVkMat g = mb, at = tr (ma);
    g.t = db;
    sv_vk_gemm (vk, &g, &at, &mc, NULL, batch, 1, K, N, M, alpha, 1.0f);
  }
}

/* per-(batch, head) views of attention operands */
static SvVkMat
head (const SvTensor *t, int N, int C, int hs)
{
  /* x_h[N, hs] of x[B, N, C]: batch b stride N*C, head h stride hs, rows C */
  SvVkMat m = { t, (size_t) N * C, (size_t) hs, (size_t) C, 1 };
  return m;
}

static SvVkMat
att_mat (const SvTensor *t, int H, int Nq, int Nk)
{
  /* att[B, H, Nq, Nk] slice (b, h) */
  SvVkMat m = { t, (size_t) H * Nq * Nk, (size_t) Nq * Nk, (size_t) Nk, 1 };
  return m;
}

static void
att_softmax (SvVk *vk, SvTensor *out, cT *inp, cT *graph, int rows, int Nk, int H, int Nq,
             gboolean backward, cT *y)
{
  SvVkCall call;
  sv_vk_call_init (&call, backward ? SV_VK_K_SOFTMAX_BWD : SV_VK_K_SOFTMAX_FWD,
                   sv_vk_row_wg (vk, Nk));
  sv_vk_call_t (&call, out, TRUE);
  sv_vk_call_t (&call, inp, FALSE);
  if (backward) {
    sv_vk_call_t (&call, y, FALSE);
    sv_vk_call_t (&call, graph, FALSE);
  } else {
    sv_vk_call_t (&call, graph, FALSE);
  }
  sv_vk_call_u (&call, (uint32_t) rows);
  sv_vk_call_u (&call, (uint32_t) Nk);
  sv_vk_call_f (&call, 1.0f);
  sv_vk_call_u (&call, graph ? 2 : 0);
  sv_vk_call_u (&call, (uint32_t) H);
  sv_vk_call_u (&call, (uint32_t) Nq);
  sv_vk_call_u (&call, 0); /* overwrite */
  sv_vk_call_run (vk, &call, (size_t) rows, TRUE);
}

static void
vk_attention_forward (SvBackend *be, SvTensor *out, SvTensor *att, cT *q, cT *k, cT *v, cT *graph,
                      int B, int Nq, int Nk, int C, int H)
{
  SvVk *vk = SV_VK (be);
  if (B == 0 || Nq == 0 || C == 0 || !sv_vk_ok (vk))
    return;
  if (Nk == 0) { /* nothing to attend to */
    sv_vk_fill_zero (vk, out);
    return;
  }
  int hs = C / H;
  float scale = 1.0f / sqrtf ((float) hs);
  /* att = scale q_h k_h^T, per (b, h) */
  SvVkMat mq = head (q, Nq, C, hs), mk = tr (head (k, Nk, C, hs)), ma = att_mat (att, H, Nq, Nk);
  sv_vk_gemm (vk, &ma, &mq, &mk, NULL, B * H, H, Nq, Nk, hs, scale, 0.0f);
  /* softmax over j, through the graph (g shared by the heads) */
  att_softmax (vk, att, att, graph, B * H * Nq, Nk, H, Nq, FALSE, NULL);
  /* out_h = att @ v_h */
  SvVkMat mv = head (v, Nk, C, hs), mo = head (out, Nq, C, hs);
  sv_vk_gemm (vk, &mo, &ma, &mv, NULL, B * H, H, Nq, hs, Nk, 1.0f, 0.0f);
}

static void
vk_attention_backward (SvBackend *be, SvTensor *dq, SvTensor *dk, SvTensor *dv, SvTensor *scratch,
                       cT *dout, cT *att, cT *q, cT *k, cT *v, cT *graph, int B, int Nq, int Nk,
                       int C, int H)
{
  SvVk *vk = SV_VK (be);
  if (B == 0 || Nq == 0 || Nk == 0 || C == 0 || (!dq && !dk && !dv))
    return;
  int hs = C / H;
  float scale = 1.0f / sqrtf ((float) hs);
  SvVkMat ma = att_mat (att, H, Nq, Nk), mg = head (dout, Nq, C, hs);
  if (dv) { /* dv_h += att^T dout_h */
    SvVkMat at = tr (ma), mdv = head (dv, Nk, C, hs);
    sv_vk_gemm (vk, &mdv, &at, &mg, NULL, B * H, H, Nk, hs, Nq, 1.0f, 1.0f);
  }
  if (!dq && !dk)
    return;
  /* dl = dout_h v_h^T (scratch), then the softmax backward in place, times g */
  SvVkMat vt = tr (head (v, Nk, C, hs)), dl = att_mat (scratch, H, Nq, Nk);
  sv_vk_gemm (vk, &dl, &mg, &vt, NULL, B * H, H, Nq, Nk, hs, 1.0f, 0.0f);
  att_softmax (vk, scratch, scratch, graph, B * H * Nq, Nk, H, Nq, TRUE, att);
  if (dq) { /* dq_h += scale dl k_h */
    SvVkMat mk = head (k, Nk, C, hs), mdq = head (dq, Nq, C, hs);
    sv_vk_gemm (vk, &mdq, &dl, &mk, NULL, B * H, H, Nq, hs, Nk, scale, 1.0f);
  }
  if (dk) { /* dk_h += scale dl^T q_h */
    SvVkMat dlt = tr (dl), mq = head (q, Nq, C, hs), mdk = head (dk, Nk, C, hs);
    sv_vk_gemm (vk, &mdk, &dlt, &mq, NULL, B * H, H, Nk, hs, Nq, scale, 1.0f);
  }
}

static void
vk_cosine_sim_forward (SvBackend *be, SvTensor *sim, SvTensor *an, SvTensor *bn, SvTensor *anorm,
                       SvTensor *bnorm, cT *a, cT *b, int batch, int Na, int Nb, int C, float eps)
{
  SvVk *vk = SV_VK (be);
  sv_vk_l2norm_fwd (vk, an, anorm, a, batch * Na, C, eps);
  sv_vk_l2norm_fwd (vk, bn, bnorm, b, batch * Nb, C, eps);
  /* sim[i] = an[i] @ bn[i]^T (zeros when C == 0: K = 0) */
  SvVkMat ma = mat (an, C, (size_t) Na * C), mb = tr (mat (bn, C, (size_t) Nb * C));
  SvVkMat ms = mat (sim, Nb, (size_t) Na * Nb);
  sv_vk_gemm (vk, &ms, &ma, &mb, NULL, batch, 1, Na, Nb, C, 1.0f, 0.0f);
}

static void
vk_cosine_sim_backward (SvBackend *be, SvTensor *da, SvTensor *db, SvTensor *scratch, cT *dsim,
                        cT *an, cT *bn, cT *anorm, cT *bnorm, int batch, int Na, int Nb, int C,
                        float eps)
{
  SvVk *vk = SV_VK (be);
  size_t na = (size_t) batch * Na * C, nb = (size_t) batch * Nb * C;
  SvTensor dan = sv_vk_view (scratch, 0, na), dbn = sv_vk_view (scratch, na, nb);
  SvVkMat ms = mat (dsim, Nb, (size_t) Na * Nb);
  SvVkMat ma = mat (an, C, (size_t) Na * C), mb = mat (bn, C, (size_t) Nb * C);
  if (da) { /* dan[i] = dsim[i] @ bn[i], then through the normalisation */
    SvVkMat mo = mat (&dan, C, (size_t) Na * C);
    sv_vk_gemm (vk, &mo, &ms, &mb, NULL, batch, 1, Na, C, Nb, 1.0f, 0.0f);
    sv_vk_l2norm_bwd (vk, da, &dan, an, anorm, batch * Na, C, eps);
  }
  if (db) { /* dbn[i] = dsim[i]^T @ an[i] */
    SvVkMat mst = tr (ms), mo = mat (&dbn, C, (size_t) Nb * C);
    sv_vk_gemm (vk, &mo, &mst, &ma, NULL, batch, 1, Nb, C, Na, 1.0f, 0.0f);
    sv_vk_l2norm_bwd (vk, db, &dbn, bn, bnorm, batch * Nb, C, eps);
  }
}

void
sv_vk_init_ops_linear (SvBackendClass *klass)
{
  klass->linear_forward = vk_linear_forward;
  klass->linear_backward = vk_linear_backward;
  klass->matmul_forward = vk_matmul_forward;
  klass->matmul_backward = vk_matmul_backward;
  klass->attention_forward = vk_attention_forward;
  klass->attention_backward = vk_attention_backward;
  klass->cosine_sim_forward = vk_cosine_sim_forward;
  klass->cosine_sim_backward = vk_cosine_sim_backward;
}
