/* svilm-core Vulkan backend: elementwise, normalisation, softmax, layout and
 * embedding ops (shaders/elementwise.comp, norm.comp, softmax.comp,
 * layout.comp, embedding.comp). */
#include "config.h"

#include "sv-vk-private.h"

/* ---- elementwise ---- */

static void
axpby (SvVk *vk, const SvTensor *out, const SvTensor *inp, float alpha, float beta, size_t n)
{
  /* out = alpha inp (+ beta out) */
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_AXPBY, vk->wg_max);
  sv_vk_call_part (&c, out, 0, n, TRUE);
  sv_vk_call_part (&c, inp, 0, n, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_u (&c, 1);
  sv_vk_call_f (&c, alpha);
  sv_vk_call_f (&c, beta);
  sv_vk_call_run (vk, &c, n, FALSE);
}

static void
vk_gelu_forward (SvBackend *be, SvTensor *out, cT *inp, size_t n)
{
  SvVk *vk = SV_VK (be);
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_GELU_FWD, vk->wg_max);
  sv_vk_call_part (&c, out, 0, n, TRUE);
  sv_vk_call_part (&c, inp, 0, n, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_run (vk, &c, n, FALSE);
}

static void
vk_gelu_backward (SvBackend *be, SvTensor *dinp, cT *dout, cT *inp, size_t n)
{
  SvVk *vk = SV_VK (be);
  if (!dinp)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_GELU_BWD, vk->wg_max);
  sv_vk_call_part (&c, dinp, 0, n, TRUE);
  sv_vk_call_part (&c, dout, 0, n, FALSE);
  sv_vk_call_part (&c, inp, 0, n, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_run (vk, &c, n, FALSE);
}

static void
vk_add_forward (SvBackend *be, SvTensor *out, cT *a, cT *b, size_t outer, size_t inner)
{
  SvVk *vk = SV_VK (be);
  size_t n = outer * inner;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_ADD, vk->wg_max);
  sv_vk_call_part (&c, out, 0, n, TRUE);
  sv_vk_call_part (&c, a, 0, n, FALSE);
  sv_vk_call_part (&c, b, 0, inner, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_u (&c, (uint32_t) MAX (inner, 1));
  sv_vk_call_run (vk, &c, n, FALSE);
}

static void
colsum (SvVk *vk, const SvTensor *out, const SvTensor *in, size_t rows, size_t cols)
{
  /* out[cols] += sum over rows of in[rows, cols] */
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_COLSUM, vk->wg_max);
  sv_vk_call_part (&c, out, 0, cols, TRUE);
  sv_vk_call_part (&c, in, 0, rows * cols, FALSE);
  sv_vk_call_u (&c, (uint32_t) rows);
  sv_vk_call_u (&c, (uint32_t) cols);
  sv_vk_call_f (&c, 1.0f);
  sv_vk_call_f (&c, 1.0f);
  sv_vk_call_run (vk, &c, (cols + 31) / 32, TRUE);
}

static void
vk_add_backward (SvBackend *be, SvTensor *da, SvTensor *db, cT *dout, size_t outer, size_t inner)
{
  SvVk *vk = SV_VK (be);
  /* db first: da may be dout itself (the barrier logic orders the two) */
  if (db)
    colsum (vk, db, dout, outer, inner);
  if (da)
    axpby (vk, da, dout, 1.0f, 1.0f, outer * inner);
}

static void
vk_scale_forward (SvBackend *be, SvTensor *out, cT *inp, float alpha, size_t n)
{
  axpby (SV_VK (be), out, inp, alpha, 0.0f, n);
}

static void
vk_scale_backward (SvBackend *be, SvTensor *dinp, cT *dout, float alpha, size_t n)
{
  if (dinp)
    axpby (SV_VK (be), dinp, dout, alpha, 1.0f, n);
}

/* ---- layernorm, l2norm ---- */

static void
vk_layernorm_forward (SvBackend *be, SvTensor *out, SvTensor *mean, SvTensor *rstd, cT *inp,
                      cT *weight, cT *bias, int N, int C, float eps)
{
  SvVk *vk = SV_VK (be);
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_LN_FWD, sv_vk_row_wg (vk, C));
  sv_vk_call_t (&c, out, TRUE);
  sv_vk_call_t (&c, mean, TRUE);
  sv_vk_call_t (&c, rstd, TRUE);
  sv_vk_call_t (&c, inp, FALSE);
  sv_vk_call_t (&c, weight, FALSE);
  sv_vk_call_t (&c, bias, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_f (&c, eps);
  sv_vk_call_u (&c, bias != NULL);
  sv_vk_call_run (vk, &c, (size_t) N, TRUE);
}

static void
vk_layernorm_backward (SvBackend *be, SvTensor *dinp, SvTensor *dweight, SvTensor *dbias, cT *dout,
                       cT *inp, cT *weight, cT *mean, cT *rstd, int N, int C)
{
  SvVk *vk = SV_VK (be);
  SvVkCall c;
  if (dinp) {
    sv_vk_call_init (&c, SV_VK_K_LN_BWD_DX, sv_vk_row_wg (vk, C));
    sv_vk_call_t (&c, dinp, TRUE);
    sv_vk_call_t (&c, dout, FALSE);
    sv_vk_call_t (&c, inp, FALSE);
    sv_vk_call_t (&c, weight, FALSE);
    sv_vk_call_t (&c, mean, FALSE);
    sv_vk_call_t (&c, rstd, FALSE);
    sv_vk_call_u (&c, (uint32_t) N);
    sv_vk_call_u (&c, (uint32_t) C);
    sv_vk_call_f (&c, 0.0f);
    sv_vk_call_u (&c, 0);
    sv_vk_call_run (vk, &c, (size_t) N, TRUE);
  }
  if (dweight || dbias) {
    sv_vk_call_init (&c, SV_VK_K_LN_BWD_DWDB, vk->wg_max);
    sv_vk_call_t (&c, dweight, TRUE);
    sv_vk_call_t (&c, dbias, TRUE);
    sv_vk_call_t (&c, dout, FALSE);
    sv_vk_call_t (&c, inp, FALSE);
    sv_vk_call_t (&c, mean, FALSE);
    sv_vk_call_t (&c, rstd, FALSE);
    sv_vk_call_u (&c, (uint32_t) N);
    sv_vk_call_u (&c, (uint32_t) C);
    sv_vk_call_f (&c, 0.0f);
    sv_vk_call_u (&c, (dweight ? 1u : 0u) | (dbias ? 2u : 0u));
    sv_vk_call_run (vk, &c, ((size_t) C + 31) / 32, TRUE);
  }
}

void
sv_vk_l2norm_fwd (SvVk *vk, const SvTensor *out, const SvTensor *norm, const SvTensor *inp, int N,
                  int C, float eps)
{
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_L2_FWD, sv_vk_row_wg (vk, C));
  sv_vk_call_part (&c, out, 0, (size_t) N * C, TRUE);
  sv_vk_call_part (&c, norm, 0, (size_t) N, TRUE);
  sv_vk_call_part (&c, inp, 0, (size_t) N * C, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_f (&c, eps);
  sv_vk_call_u (&c, 0);
  sv_vk_call_run (vk, &c, (size_t) N, TRUE);
}

void
sv_vk_l2norm_bwd (SvVk *vk, const SvTensor *dinp, const SvTensor *dout, const SvTensor *out,
                  const SvTensor *norm, int N, int C, float eps)
{
  if (!dinp)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_L2_BWD, sv_vk_row_wg (vk, C));
  sv_vk_call_part (&c, dinp, 0, (size_t) N * C, TRUE);
  sv_vk_call_part (&c, dout, 0, (size_t) N * C, FALSE);
  sv_vk_call_part (&c, out, 0, (size_t) N * C, FALSE);
  sv_vk_call_part (&c, norm, 0, (size_t) N, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_f (&c, eps);
  sv_vk_call_u (&c, 1);
  sv_vk_call_run (vk, &c, (size_t) N, TRUE);
}

static void
vk_l2norm_forward (SvBackend *be, SvTensor *out, SvTensor *norm, cT *inp, int N, int C, float eps)
{
  sv_vk_l2norm_fwd (SV_VK (be), out, norm, inp, N, C, eps);
}

static void
vk_l2norm_backward (SvBackend *be, SvTensor *dinp, cT *dout, cT *out, cT *norm, int N, int C,
                    float eps)
{
  sv_vk_l2norm_bwd (SV_VK (be), dinp, dout, out, norm, N, C, eps);
}

/* ---- softmax ---- */

static void
vk_softmax_forward (SvBackend *be, SvTensor *out, cT *inp, cT *mask, int N, int C, float inv_temp)
{
  SvVk *vk = SV_VK (be);
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_SOFTMAX_FWD, sv_vk_row_wg (vk, C));
  sv_vk_call_t (&c, out, TRUE);
  sv_vk_call_t (&c, inp, FALSE);
  sv_vk_call_t (&c, mask, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_f (&c, inv_temp);
  sv_vk_call_u (&c, mask ? 1 : 0);
  sv_vk_call_u (&c, 1);
  sv_vk_call_u (&c, (uint32_t) MAX (N, 1));
  sv_vk_call_u (&c, 0);
  sv_vk_call_run (vk, &c, (size_t) N, TRUE);
}

static void
vk_softmax_backward (SvBackend *be, SvTensor *dinp, cT *dout, cT *out, int N, int C, float inv_temp)
{
  SvVk *vk = SV_VK (be);
  if (!dinp)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_SOFTMAX_BWD, sv_vk_row_wg (vk, C));
  sv_vk_call_t (&c, dinp, TRUE);
  sv_vk_call_t (&c, dout, FALSE);
  sv_vk_call_t (&c, out, FALSE);
  sv_vk_call_t (&c, NULL, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_f (&c, inv_temp);
  sv_vk_call_u (&c, 0);
  sv_vk_call_u (&c, 1);
  sv_vk_call_u (&c, (uint32_t) MAX (N, 1));
  sv_vk_call_u (&c, 1); /* accumulate */
  sv_vk_call_run (vk, &c, (size_t) N, TRUE);
}

/* ---- layout ---- */

static void
transpose (SvVk *vk, const SvTensor *out, const SvTensor *inp, int A, int R, int C, int E,
           gboolean accumulate)
{
  /* out[a,c,r,e] (=|+=) inp[a,r,c,e] */
  size_t n = (size_t) A * R * C * E;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_TRANSPOSE, vk->wg_max);
  sv_vk_call_part (&c, out, 0, n, TRUE);
  sv_vk_call_part (&c, inp, 0, n, FALSE);
  sv_vk_call_u (&c, (uint32_t) A);
  sv_vk_call_u (&c, (uint32_t) R);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_u (&c, (uint32_t) E);
  sv_vk_call_u (&c, accumulate);
  sv_vk_call_run (vk, &c, n, FALSE);
}

static void
vk_transpose_forward (SvBackend *be, SvTensor *out, cT *inp, int A, int R, int C, int E)
{
  transpose (SV_VK (be), out, inp, A, R, C, E, FALSE);
}

static void
vk_transpose_backward (SvBackend *be, SvTensor *dinp, cT *dout, int A, int R, int C, int E)
{
  /* dinp[a,r,c,e] += dout[a,c,r,e]: the forward map with R and C exchanged */
  if (dinp)
    transpose (SV_VK (be), dinp, dout, A, C, R, E, TRUE);
}

static void
patchify (SvVk *vk, const SvTensor *patches, const SvTensor *video, int B, int T, int H, int W,
          int Cin, int pt, int p, gboolean backward)
{
  size_t n = (size_t) B * (T / pt) * (H / p) * (W / p) * pt * p * p * Cin;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_PATCHIFY, vk->wg_max);
  sv_vk_call_t (&c, patches, !backward);
  sv_vk_call_t (&c, video, backward);
  const int u[] = { B, T, H, W, Cin, pt, p };
  for (guint i = 0; i < G_N_ELEMENTS (u); i++)
    sv_vk_call_u (&c, (uint32_t) u[i]);
  sv_vk_call_u (&c, backward);
  sv_vk_call_run (vk, &c, n, FALSE);
}

static void
vk_patchify_forward (SvBackend *be, SvTensor *patches, cT *video, int B, int T, int H, int W,
                     int Cin, int pt, int p)
{
  patchify (SV_VK (be), patches, video, B, T, H, W, Cin, pt, p, FALSE);
}

static void
vk_patchify_backward (SvBackend *be, SvTensor *dvideo, cT *dpatches, int B, int T, int H, int W,
                      int Cin, int pt, int p)
{
  if (dvideo)
    patchify (SV_VK (be), dpatches, dvideo, B, T, H, W, Cin, pt, p, TRUE);
}

/* ---- im2col (convolution patches) ---- */

static void
im2col (SvVk *vk, const SvTensor *cols, const SvTensor *img, int N, int H, int W, int C, int k,
        int s, int pad, gboolean backward)
{
  int Ho = (H + 2 * pad - k) / s + 1, Wo = (W + 2 * pad - k) / s + 1;
  size_t n = backward ? (size_t) N * H * W * C : (size_t) N * Ho * Wo * k * k * C;
  SvVkCall c;
  sv_vk_call_init (&c, backward ? SV_VK_K_IM2COL_BWD : SV_VK_K_IM2COL_FWD, vk->wg_max);
  sv_vk_call_t (&c, cols, !backward);
  sv_vk_call_t (&c, img, backward);
  const int u[] = { N, H, W, C, k, s, pad };
  for (guint i = 0; i < G_N_ELEMENTS (u); i++)
    sv_vk_call_u (&c, (uint32_t) u[i]);
  sv_vk_call_run (vk, &c, n, FALSE);
}

static void
vk_im2col_forward (SvBackend *be, SvTensor *cols, cT *img, int N, int H, int W, int C, int k, int s,
                   int pad)
{
  im2col (SV_VK (be), cols, img, N, H, W, C, k, s, pad, FALSE);
}

static void
vk_im2col_backward (SvBackend *be, SvTensor *dimg, cT *dcols, int N, int H, int W, int C, int k,
                    int s, int pad)
{
  if (dimg)
    im2col (SV_VK (be), dcols, dimg, N, H, W, C, k, s, pad, TRUE);
}

/* ---- embedding ---- */

static void
vk_embedding_forward (SvBackend *be, SvTensor *out, cT *ids, cT *table, int N, int V, int C)
{
  SvVk *vk = SV_VK (be);
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_EMB_FWD, vk->wg_max);
  sv_vk_call_t (&c, out, TRUE);
  sv_vk_call_t (&c, table, FALSE);
  sv_vk_call_t (&c, ids, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) V);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_u (&c, 1);
  sv_vk_call_run (vk, &c, (size_t) N * C, FALSE);
}

static void
vk_embedding_backward (SvBackend *be, SvTensor *dtable, cT *dout, cT *ids, int N, int V, int C)
{
  SvVk *vk = SV_VK (be);
  if (!dtable || N == 0 || V == 0 || C == 0)
    return;
  /* one invocation per (column, range of rows); enough ranges to fill ~16k invocations */
  uint32_t chunks = (uint32_t) CLAMP (16384 / C, 1, MIN (V, 64));
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_EMB_BWD, vk->wg_max);
  sv_vk_call_t (&c, dtable, TRUE);
  sv_vk_call_t (&c, dout, FALSE);
  sv_vk_call_t (&c, ids, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) V);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_u (&c, chunks);
  sv_vk_call_run (vk, &c, (size_t) C * chunks, FALSE);
}

void
sv_vk_init_ops_misc (SvBackendClass *klass)
{
  klass->gelu_forward = vk_gelu_forward;
  klass->im2col_forward = vk_im2col_forward;
  klass->im2col_backward = vk_im2col_backward;
  klass->gelu_backward = vk_gelu_backward;
  klass->add_forward = vk_add_forward;
  klass->add_backward = vk_add_backward;
  klass->scale_forward = vk_scale_forward;
  klass->scale_backward = vk_scale_backward;
  klass->layernorm_forward = vk_layernorm_forward;
  klass->layernorm_backward = vk_layernorm_backward;
  klass->l2norm_forward = vk_l2norm_forward;
  klass->l2norm_backward = vk_l2norm_backward;
  klass->softmax_forward = vk_softmax_forward;
  klass->softmax_backward = vk_softmax_backward;
  klass->transpose_forward = vk_transpose_forward;
  klass->transpose_backward = vk_transpose_backward;
  klass->patchify_forward = vk_patchify_forward;
  klass->patchify_backward = vk_patchify_backward;
  klass->embedding_forward = vk_embedding_forward;
  klass->embedding_backward = vk_embedding_backward;
}
