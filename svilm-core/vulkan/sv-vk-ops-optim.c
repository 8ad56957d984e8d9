/* svilm-core Vulkan backend: the optimiser's updates (shaders/optim.comp), so
 * that parameters, gradients and optimiser state never leave the device; only
 * one pair of floats per parameter (its gradient's sum of squares) comes back
 * to the host, which needs the global norm for clipping. */
#include "config.h"

#include "sv-vk-private.h"

/* partial sums per gradient: enough workgroups to fill a GPU, few enough for
 * one workgroup to add them up */
#define SSQ_MAX_GROUPS 256u
/* gradients whose partials have their own range of the scratch (32 x 2 KiB: the
 * scratch's smallest size) */
#define SSQ_RING 32u

static void
vk_optim_grad_ssq (SvBackend *be, SvTensor *ssq, size_t index, cT *grad)
{
  /* ssq[2*index], ssq[2*index+1] = sum of grad^2 (hi, lo) */
  SvVk *vk = SV_VK (be);
  size_t n = grad->numel;
  if (!sv_vk_ok (vk))
    return;
  if (n == 0) {
    SvTensor pair = sv_vk_view (ssq, 2 * index, 2);
    sv_vk_fill_zero (vk, &pair);
    return;
  }
  uint32_t wg = vk->wg_max;
  uint32_t groups = (uint32_t) MIN ((n + wg - 1) / wg, SSQ_MAX_GROUPS);
  /* partials in the backend's scratch, successive gradients in different ranges
   * so that their passes need no barrier between them */
  VkDeviceSize first = (VkDeviceSize) (index % SSQ_RING) * SSQ_MAX_GROUPS * 8,
               bytes = (VkDeviceSize) groups * 8;
  SvVkAlloc *partial = sv_vk_scratch (vk, first + bytes);
  if (!partial)
    return;
  SvVkCall c;
  sv_vk_call_init (&c, SV_VK_K_OPTIM_SSQ_PARTIAL, wg);
  sv_vk_call_alloc (&c, partial, first, bytes, TRUE);
  sv_vk_call_t (&c, grad, FALSE);
  sv_vk_call_u (&c, (uint32_t) n);
  sv_vk_call_dispatch (vk, &c, groups, 1, 1);

  sv_vk_call_init (&c, SV_VK_K_OPTIM_SSQ_FINAL, wg);
  sv_vk_call_part (&c, ssq, 2 * index, 2, TRUE);
  sv_vk_call_alloc (&c, partial, first, bytes, FALSE);
  sv_vk_call_u (&c, groups);
  sv_vk_call_dispatch (vk, &c, 1, 1, 1);
}

static void
vk_optim_update (SvBackend *be, const SvOptimConsts *k, bool decay, SvTensor *x, cT *grad,
                 SvTensor *s0, SvTensor *s1)
{
  SvVk *vk = SV_VK (be);
  size_t n = x->numel;
  if (n == 0)
    return;
  SvVkCall c;
  if (k->kind == 0) { /* SGD with momentum */
    sv_vk_call_init (&c, SV_VK_K_OPTIM_SGD, vk->wg_max);
    sv_vk_call_part (&c, x, 0, n, TRUE);
    sv_vk_call_part (&c, grad, 0, n, FALSE);
    sv_vk_call_part (&c, s0, 0, n, TRUE);
    sv_vk_call_u (&c, (uint32_t) n);
    sv_vk_call_f (&c, k->lr);
    sv_vk_call_f (&c, k->gscale);
    sv_vk_call_f (&c, decay ? k->wd : 0.0f);
    sv_vk_call_f (&c, k->mom);
    sv_vk_call_u (&c, k->first ? 1u : 0u);
  } else { /* AdamW */
    sv_vk_call_init (&c, SV_VK_K_OPTIM_ADAMW, vk->wg_max);
    sv_vk_call_part (&c, x, 0, n, TRUE);
    sv_vk_call_part (&c, grad, 0, n, FALSE);
    sv_vk_call_part (&c, s0, 0, n, TRUE);
    sv_vk_call_part (&c, s1, 0, n, TRUE);
    sv_vk_call_u (&c, (uint32_t) n);
    sv_vk_call_f (&c, k->gscale);
    sv_vk_call_f (&c, decay ? k->wd_mul : 1.0f);
    sv_vk_call_f (&c, k->b1);
    sv_vk_call_f (&c, k->omb1);
    sv_vk_call_f (&c, k->b2);
    sv_vk_call_f (&c, k->omb2);
    sv_vk_call_f (&c, k->eps);
    sv_vk_call_f (&c, k->step_size);
    sv_vk_call_f (&c, k->bc2_sqrt);
  }
  sv_vk_call_run (vk, &c, n, FALSE);
}

void
sv_vk_init_ops_optim (SvBackendClass *klass)
{
  klass->optim_grad_ssq = vk_optim_grad_ssq;
  klass->optim_update = vk_optim_update;
}
