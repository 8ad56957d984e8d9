/* svilm-core Vulkan backend: mean over axes, grouping assignment and losses
 * (shaders/reduce.comp, assign.comp, loss.comp). */
#include "config.h"

#include "sv-vk-private.h"

#include <math.h>

#define MEAN_GROUPS 5 /* collapsed groups of an SV_MAX_DIMS shape */

/* ---- mean ---- */

typedef struct {
  int ng;
  uint32_t gs[MEAN_GROUPS]; /* collapsed sizes, outer first */
  uint32_t redmask;         /* bit g: group g is reduced */
  size_t out_n, count;
} MeanPlan;

/* Collapses the shape like the CPU kernel: size-1 axes dropped, neighbours that
 * are both kept or both reduced merged. */
static gboolean
mean_plan (MeanPlan *pl, const int64_t *shape, int ndim, unsigned axes_mask)
{
  int64_t sz[SV_MAX_DIMS + 1];
  gboolean red[SV_MAX_DIMS + 1];
  int m = 0;
  if (ndim > SV_MAX_DIMS)
    return FALSE;
  for (int i = ndim - 1; i >= 0; i--) {
    gboolean r = (axes_mask >> i) & 1u;
    if (shape[i] == 1)
      continue;
    if (m > 0 && red[m - 1] == r) {
      sz[m - 1] *= shape[i];
    } else {
      sz[m] = shape[i];
      red[m++] = r;
    }
  }
  pl->ng = m;
  pl->redmask = 0;
  pl->out_n = pl->count = 1;
  for (int g = 0; g < m; g++) { /* outer first */
    int j = m - 1 - g;
    pl->gs[g] = (uint32_t) sz[j];
    if (red[j]) {
      pl->redmask |= 1u << g;
      pl->count *= (size_t) sz[j];
    } else {
      pl->out_n *= (size_t) sz[j];
    }
  }
  for (int g = m; g < MEAN_GROUPS; g++)
    pl->gs[g] = 1;
  return TRUE;
}

static void
mean_params (SvVkCall *c, const MeanPlan *pl, float inv)
{
  sv_vk_call_u (c, (uint32_t) pl->ng);
  sv_vk_call_u (c, pl->redmask);
  sv_vk_call_u (c, (uint32_t) pl->out_n);
  sv_vk_call_u (c, (uint32_t) pl->count);
  sv_vk_call_f (c, inv);
  for (int g = 0; g < MEAN_GROUPS; g++)
    sv_vk_call_u (c, pl->gs[g]);
}

static void
vk_mean_forward (SvBackend *be, SvTensor *out, cT *inp, const int64_t *shape, int ndim,
                 unsigned axes)
{
  SvVk *vk = SV_VK (be);
  MeanPlan pl;
  if (!mean_plan (&pl, shape, ndim, axes)) {
    sv_vk_fail (vk, "vulkan: mean over a tensor of rank %d is not supported", ndim);
    return;
  }
  if (pl.out_n == 0)
    return;
  float inv = pl.count ? (float) (1.0 / (double) pl.count) : NAN; /* empty mean: NaN, as the CPU */
  gboolean serial = pl.count <= 64;
  SvVkCall c;
  sv_vk_call_init (&c, serial ? SV_VK_K_MEAN_FWD_SER : SV_VK_K_MEAN_FWD_WG,
                   serial ? vk->wg_max : sv_vk_row_wg (vk, pl.count));
  sv_vk_call_part (&c, out, 0, pl.out_n, TRUE);
  sv_vk_call_part (&c, inp, 0, pl.out_n * pl.count, FALSE);
  mean_params (&c, &pl, inv);
  sv_vk_call_run (vk, &c, pl.out_n, !serial);
}

static void
vk_mean_backward (SvBackend *be, SvTensor *dinp, cT *dout, const int64_t *shape, int ndim,
                  unsigned axes)
{
  SvVk *vk = SV_VK (be);
  MeanPlan pl;
  if (!dinp)
    return;
  if (!mean_plan (&pl, shape, ndim, axes)) {
    sv_vk_fail (vk, "vulkan: mean over a tensor of rank %d is not supported", ndim);
    return;
  }
  if (pl.out_n == 0 || pl.count == 0)
    return;
  size_t n = pl.out_n * pl.count;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_MEAN_BWD, vk->wg_max);
  sv_vk_call_part (&c, dinp, 0, n, TRUE);
  sv_vk_call_part (&c, dout, 0, pl.out_n, FALSE);
  mean_params (&c, &pl, (float) (1.0 / (double) pl.count));
  sv_vk_call_run (vk, &c, n, FALSE);
}

/* ---- grouping assignment ---- */

static void
assign_call (SvVk *vk, SvVkCall *c, int B, int M, int N, float inv_tau, uint32_t flags)
{
  sv_vk_call_u (c, (uint32_t) B);
  sv_vk_call_u (c, (uint32_t) M);
  sv_vk_call_u (c, (uint32_t) N);
  sv_vk_call_f (c, inv_tau);
  sv_vk_call_u (c, flags);
}

static void
vk_assign_forward (SvBackend *be, SvTensor *out, SvTensor *y, SvTensor *denom, cT *logits,
                   cT *noise, int B, int M, int N, float inv_tau, bool hard)
{
  SvVk *vk = SV_VK (be);
  if (B <= 0 || M <= 0)
    return;
  SvVkCall c;
  if (N > 0) { /* softmax over the groups of every token */
    sv_vk_call_init (&c, SV_VK_K_ASSIGN_COL_FWD, vk->wg_max);
    sv_vk_call_t (&c, out, TRUE);
    sv_vk_call_t (&c, y, TRUE);
    sv_vk_call_t (&c, logits, FALSE);
    sv_vk_call_t (&c, noise, FALSE);
    assign_call (vk, &c, B, M, N, inv_tau, (noise ? 1u : 0u) | (hard ? 2u : 0u));
    sv_vk_call_run (vk, &c, (size_t) B * N, FALSE);
  }
  /* each group's row / (total + 1); with no tokens denom = 1 */
  sv_vk_call_init (&c, SV_VK_K_ASSIGN_ROW_FWD, sv_vk_row_wg (vk, N));
  sv_vk_call_t (&c, out, TRUE);
  sv_vk_call_t (&c, denom, TRUE);
  assign_call (vk, &c, B * M, 1, N, inv_tau, 0);
  sv_vk_call_run (vk, &c, (size_t) B * M, TRUE);
}

static void
vk_assign_backward (SvBackend *be, SvTensor *dlogits, SvTensor *scratch, cT *dout, cT *out, cT *y,
                    cT *denom, int B, int M, int N, float inv_tau)
{
  SvVk *vk = SV_VK (be);
  if (!dlogits || B <= 0 || M <= 0 || N <= 0)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_ASSIGN_ROW_BWD, sv_vk_row_wg (vk, N));
  sv_vk_call_part (&c, scratch, 0, (size_t) B * M, TRUE);
  sv_vk_call_t (&c, dout, FALSE);
  sv_vk_call_t (&c, out, FALSE);
  assign_call (vk, &c, B * M, 1, N, inv_tau, 0);
  sv_vk_call_run (vk, &c, (size_t) B * M, TRUE);

  sv_vk_call_init (&c, SV_VK_K_ASSIGN_COL_BWD, vk->wg_max);
  sv_vk_call_t (&c, dlogits, TRUE);
  sv_vk_call_t (&c, dout, FALSE);
  sv_vk_call_t (&c, y, FALSE);
  sv_vk_call_part (&c, scratch, 0, (size_t) B * M, FALSE);
  sv_vk_call_t (&c, denom, FALSE);
  assign_call (vk, &c, B, M, N, inv_tau, 0);
  sv_vk_call_run (vk, &c, (size_t) B * N, FALSE);
}

/* ---- losses ---- */

/* out[0] = scale * sum of n floats of the internal scratch */
static void
sum_final (SvVk *vk, const SvTensor *out, SvVkAlloc *partial, size_t n, float scale)
{
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_SUM_FINAL, vk->wg_max);
  sv_vk_call_part (&c, out, 0, 1, TRUE);
  sv_vk_call_alloc (&c, partial, 0, n * 4, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_u (&c, 1);
  sv_vk_call_f (&c, scale);
  sv_vk_call_f (&c, 0.0f);
  sv_vk_call_dispatch (vk, &c, 1, 1, 1);
}

static void
vk_softmax_xent_forward (SvBackend *be, SvTensor *loss, SvTensor *probs, cT *logits, cT *targets,
                         int N, int C)
{
  SvVk *vk = SV_VK (be);
  if (!sv_vk_ok (vk))
    return;
  if (N <= 0 || C <= 0) {
    sv_vk_fill_zero (vk, loss);
    return;
  }
  SvVkAlloc *rows = sv_vk_scratch (vk, (VkDeviceSize) N * 4);
  if (!rows)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_XENT_FWD, sv_vk_row_wg (vk, C));
  sv_vk_call_t (&c, probs, TRUE);
  sv_vk_call_alloc (&c, rows, 0, (VkDeviceSize) N * 4, TRUE);
  sv_vk_call_t (&c, logits, FALSE);
  sv_vk_call_t (&c, targets, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_u (&c, 0);
  sv_vk_call_run (vk, &c, (size_t) N, TRUE);
  sum_final (vk, loss, rows, (size_t) N, (float) (1.0 / N));
}

static void
vk_softmax_xent_backward (SvBackend *be, SvTensor *dlogits, cT *dloss, cT *probs, cT *targets,
                          int N, int C)
{
  SvVk *vk = SV_VK (be);
  if (!dlogits || N <= 0 || C <= 0)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_XENT_BWD, sv_vk_row_wg (vk, C));
  sv_vk_call_t (&c, dlogits, TRUE);
  sv_vk_call_part (&c, dloss, 0, 1, FALSE);
  sv_vk_call_t (&c, probs, FALSE);
  sv_vk_call_t (&c, targets, FALSE);
  sv_vk_call_u (&c, (uint32_t) N);
  sv_vk_call_u (&c, (uint32_t) C);
  sv_vk_call_u (&c, 0);
  sv_vk_call_run (vk, &c, (size_t) N, TRUE);
}

static void
vk_mse_forward (SvBackend *be, SvTensor *loss, cT *a, cT *b, size_t n)
{
  SvVk *vk = SV_VK (be);
  if (!sv_vk_ok (vk))
    return;
  if (n == 0) {
    sv_vk_fill_zero (vk, loss);
    return;
  }
  uint32_t wg = vk->wg_max;
  uint32_t groups = (uint32_t) MIN ((n + wg - 1) / wg, 256);
  SvVkAlloc *partial = sv_vk_scratch (vk, (VkDeviceSize) groups * 4);
  if (!partial)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_MSE_PARTIAL, wg);
  sv_vk_call_alloc (&c, partial, 0, (VkDeviceSize) groups * 4, TRUE);
  sv_vk_call_part (&c, a, 0, n, FALSE);
  sv_vk_call_part (&c, b, 0, n, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_u (&c, 1);
  sv_vk_call_u (&c, 0);
  sv_vk_call_dispatch (vk, &c, groups, 1, 1);
  sum_final (vk, loss, partial, groups, (float) (1.0 / (double) n));
}

static void
vk_mse_backward (SvBackend *be, SvTensor *da, SvTensor *db, cT *dloss, cT *a, cT *b, size_t n)
{
  SvVk *vk = SV_VK (be);
  if (n == 0 || (!da && !db))
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_MSE_BWD, vk->wg_max);
  sv_vk_call_part (&c, da, 0, n, TRUE);
  sv_vk_call_part (&c, db, 0, n, TRUE);
  sv_vk_call_part (&c, dloss, 0, 1, FALSE);
  sv_vk_call_part (&c, a, 0, n, FALSE);
  sv_vk_call_part (&c, b, 0, n, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_u (&c, 1);
  sv_vk_call_u (&c, (da ? 1u : 0u) | (db ? 2u : 0u));
  sv_vk_call_run (vk, &c, n, FALSE);
}

void
sv_vk_init_ops_more (SvBackendClass *klass)
{
  klass->mean_forward = vk_mean_forward;
  klass->mean_backward = vk_mean_backward;
  klass->assign_forward = vk_assign_forward;
  klass->assign_backward = vk_assign_backward;
  klass->softmax_xent_forward = vk_softmax_xent_forward;
  klass->softmax_xent_backward = vk_softmax_xent_backward;
  klass->mse_forward = vk_mse_forward;
  klass->mse_backward = vk_mse_backward;
}
