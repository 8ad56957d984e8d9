/* svilm-core Vulkan backend: STGT graph attention, block-banded
 * (shaders/stgraph.comp; the math and the band layout are those of
 * cpu/stgraph.c).
 *
 * The CPU runs one strided sgemm per (b, h, slice) block; here the band is too
 * irregular for the batched GEMM kernel (the first and last slices have 2S
 * keys, the others 3S, at different band columns), so each product is its own
 * kernel that walks the band of one row: a workgroup per row where a row
 * reduction is needed (softmax, its backward), an invocation per output
 * element otherwise.  Work and memory stay linear in the number of slices. */
#include "config.h"

#include "sv-vk-private.h"

#include <math.h>

/* the dimensions every kernel of stgraph.comp takes, then its float and flags */
static void
stg_params (SvVkCall *c, int B, int Tf, int S, int C, int H, float f, uint32_t flags)
{
  sv_vk_call_u (c, (uint32_t) B);
  sv_vk_call_u (c, (uint32_t) Tf);
  sv_vk_call_u (c, (uint32_t) S);
  sv_vk_call_u (c, (uint32_t) C);
  sv_vk_call_u (c, (uint32_t) H);
  sv_vk_call_f (c, f);
  sv_vk_call_u (c, flags);
}

static void
vk_stgraph_build (SvBackend *be, SvTensor *graph, cT *u, int B, int Tf, int S, int Cg, float theta)
{
  /* graph[B,N,3S] (overwritten) from u[B,N,Cg], N = Tf*S */
  SvVk *vk = SV_VK (be);
  if (B == 0 || Tf == 0 || S == 0)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_STG_BUILD, vk->wg_max);
  sv_vk_call_t (&c, graph, TRUE);
  sv_vk_call_t (&c, u, FALSE);
  stg_params (&c, B, Tf, S, Cg, 1, theta, 0);
  sv_vk_call_run (vk, &c, graph->numel, FALSE);
}

/* dst[B,N,C] (+)= alpha * band[B,H,N,3S] @ src[B,N,C] per head, over each row's band */
static void
band_mv (SvVk *vk, const SvTensor *dst, const SvTensor *band, const SvTensor *src, int B, int Tf,
         int S, int C, int H, float alpha, gboolean accumulate)
{
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_STG_BAND_MV, vk->wg_max);
  sv_vk_call_t (&c, dst, TRUE);
  sv_vk_call_t (&c, band, FALSE);
  sv_vk_call_t (&c, src, FALSE);
  stg_params (&c, B, Tf, S, C, H, alpha, accumulate);
  sv_vk_call_run (vk, &c, (size_t) B * Tf * S * C, FALSE);
}

static void
vk_stgraph_attention_forward (SvBackend *be, SvTensor *out, SvTensor *att, cT *q, cT *k, cT *v,
                              cT *graph, int B, int Tf, int S, int C, int H)
{
  /* out[B,N,C], att[B,H,N,3S] (cache), q/k/v[B,N,C], graph[B,N,3S] or NULL */
  SvVk *vk = SV_VK (be);
  if (B == 0 || Tf == 0 || S == 0 || C == 0)
    return;
  float scale = 1.0f / sqrtf ((float) (C / H));
  size_t rows = (size_t) B * H * Tf * S;
  SvVkCall c;
  /* att = softmax over the band of scale q.k * g */
  sv_vk_call_init (&c, SV_VK_K_STG_ATT_FWD, sv_vk_row_wg (vk, 3 * (size_t) S));
  sv_vk_call_t (&c, att, TRUE);
  sv_vk_call_t (&c, q, FALSE);
  sv_vk_call_t (&c, k, FALSE);
  sv_vk_call_t (&c, graph, FALSE);
  stg_params (&c, B, Tf, S, C, H, scale, graph != NULL);
  sv_vk_call_run (vk, &c, rows, TRUE);
  /* out_h = att @ v_h */
  band_mv (vk, out, att, v, B, Tf, S, C, H, 1.0f, FALSE);
}

static void
vk_stgraph_attention_backward (SvBackend *be, SvTensor *dq, SvTensor *dk, SvTensor *dv,
                               SvTensor *scratch, cT *dout, cT *att, cT *q, cT *k, cT *v, cT *graph,
                               int B, int Tf, int S, int C, int H)
{
  /* accumulates into dq, dk, dv [B,N,C] (each may be NULL); scratch[B,H,N,3S]
   * (needed for dq or dk) receives dlogits */
  SvVk *vk = SV_VK (be);
  if (B == 0 || Tf == 0 || S == 0 || C == 0 || (!dq && !dk && !dv))
    return;
  float scale = 1.0f / sqrtf ((float) (C / H));
  size_t rows = (size_t) B * H * Tf * S;
  SvVkCall c;
  if (dq || dk) { /* dlogits = att * (dout.v - sum att dout.v) * g, per query row */
    sv_vk_call_init (&c, SV_VK_K_STG_ATT_BWD, sv_vk_row_wg (vk, 3 * (size_t) S));
    sv_vk_call_t (&c, scratch, TRUE);
    sv_vk_call_t (&c, dout, FALSE);
    sv_vk_call_t (&c, v, FALSE);
    sv_vk_call_t (&c, att, FALSE);
    sv_vk_call_t (&c, graph, FALSE);
    stg_params (&c, B, Tf, S, C, H, 1.0f, graph != NULL);
    sv_vk_call_run (vk, &c, rows, TRUE);
  }
  if (dq) /* dq_h += scale * dlogits @ k_h */
    band_mv (vk, dq, scratch, k, B, Tf, S, C, H, scale, TRUE);
  if (dk || dv) { /* per key row, from the query slices around it */
    sv_vk_call_init (&c, SV_VK_K_STG_BAND_MVT, vk->wg_max);
    sv_vk_call_t (&c, dk, TRUE);
    sv_vk_call_t (&c, dv, TRUE);
    sv_vk_call_t (&c, att, FALSE);
    sv_vk_call_t (&c, dk ? scratch : NULL, FALSE);
    sv_vk_call_t (&c, dout, FALSE);
    sv_vk_call_t (&c, q, FALSE);
    stg_params (&c, B, Tf, S, C, H, scale, (dk ? 1u : 0u) | (dv ? 2u : 0u));
    sv_vk_call_run (vk, &c, (size_t) B * Tf * S * C, FALSE);
  }
}

void
sv_vk_init_ops_stgraph (SvBackendClass *klass)
{
  klass->stgraph_build = vk_stgraph_build;
  klass->stgraph_attention_forward = vk_stgraph_attention_forward;
  klass->stgraph_attention_backward = vk_stgraph_attention_backward;
}
