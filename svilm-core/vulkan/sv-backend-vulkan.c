/* svilm-core Vulkan backend: the backend table, open and destroy.
 * See sv-vk-private.h for how the files of this directory divide the work. */
#include "config.h"

#include "sv-backend-vulkan.h"

#include "sv-vk-private.h"

/* every op entry of SvBackendClass (and the optimiser's): checked at open, so
 * none is ever NULL */
#define SV_VK_OPS(X)                                                                               \
  X (linear_forward)                                                                               \
  X (linear_backward)                                                                              \
  X (matmul_forward)                                                                               \
  X (matmul_backward)                                                                              \
  X (layernorm_forward)                                                                            \
  X (layernorm_backward)                                                                           \
  X (gelu_forward)                                                                                 \
  X (gelu_backward)                                                                                \
  X (add_forward)                                                                                  \
  X (add_backward)                                                                                 \
  X (scale_forward)                                                                                \
  X (scale_backward)                                                                               \
  X (softmax_forward)                                                                              \
  X (softmax_backward)                                                                             \
  X (attention_forward)                                                                            \
  X (attention_backward)                                                                           \
  X (transpose_forward)                                                                            \
  X (transpose_backward)                                                                           \
  X (embedding_forward)                                                                            \
  X (embedding_backward)                                                                           \
  X (patchify_forward)                                                                             \
  X (patchify_backward)                                                                            \
  X (im2col_forward)                                                                               \
  X (im2col_backward)                                                                              \
  X (mean_forward)                                                                                 \
  X (mean_backward)                                                                                \
  X (l2norm_forward)                                                                               \
  X (l2norm_backward)                                                                              \
  X (cosine_sim_forward)                                                                           \
  X (cosine_sim_backward)                                                                          \
  X (assign_forward)                                                                               \
  X (assign_backward)                                                                              \
  X (softmax_xent_forward)                                                                         \
  X (softmax_xent_backward)                                                                        \
  X (mse_forward)                                                                                  \
  X (mse_backward)                                                                                 \
  X (stgraph_build)                                                                                \
  X (stgraph_attention_forward)                                                                    \
  X (stgraph_attention_backward)                                                                   \
  X (optim_grad_ssq)                                                                               \
  X (optim_update)

static void
vk_destroy (SvBackend *be)
{
  SvVk *vk = SV_VK (be);
  if (vk->device) {
    if (vk->recording && !vk->lost) {
      GError *error = NULL;
      if (!sv_vk_flush (vk, &error)) {
        g_debug ("vulkan: pending work failed while closing the device: %s", error->message);
        g_error_free (error);
      }
    }
    vk->fn.vkDeviceWaitIdle (vk->device);
    g_debug ("vulkan: %s: %" G_GUINT64_FORMAT " submits, %" G_GUINT64_FORMAT
             " dispatches, %" G_GUINT64_FORMAT " barriers",
             vk->props.deviceName, vk->n_submits, vk->n_dispatches, vk->n_barriers);
  }
  sv_vk_record_cleanup (vk);
  sv_vk_pipelines_cleanup (vk);
  sv_vk_memory_cleanup (vk);
  sv_vk_device_cleanup (vk);
  g_free (vk->base.device_name);
  g_rec_mutex_clear (&vk->lock);
  g_free (vk);
}

static const SvBackendClass *
vk_class (GError **error)
{
  static SvBackendClass klass;
  static gsize once;
  static const char *missing;
  if (g_once_init_enter (&once)) {
    klass.name = "vulkan";
    klass.storage_new = sv_vk_storage_new;
    klass.storage_free = sv_vk_storage_free;
    klass.storage_host_ptr = sv_vk_storage_host_ptr;
    klass.upload = sv_vk_upload;
    klass.download = sv_vk_download;
    klass.zero = sv_vk_zero;
    klass.finish = sv_vk_finish;
    klass.destroy = vk_destroy;
    sv_vk_init_ops_linear (&klass);
    sv_vk_init_ops_misc (&klass);
    sv_vk_init_ops_more (&klass);
    sv_vk_init_ops_stgraph (&klass);
    sv_vk_init_ops_optim (&klass);
#define SV_VK_CHECK_OP(op)                                                                         \
  if (!klass.op && !missing)                                                                       \
    missing = #op;
    SV_VK_OPS (SV_VK_CHECK_OP)
#undef SV_VK_CHECK_OP
    g_once_init_leave (&once, 1);
  }
  if (missing) {
    g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED, "vulkan backend: op %s not implemented",
                 missing);
    return NULL;
  }
  return &klass;
}

SvBackend *
sv_backend_vulkan_open (int index, gboolean allow_cpu_driver, GError **error)
{
  const SvBackendClass *klass = vk_class (error);
  if (!klass)
    return NULL;
  SvVk *vk = g_new0 (SvVk, 1);
  g_rec_mutex_init (&vk->lock);
  vk->base.klass = klass;
  vk->base.is_host = FALSE;
  vk->base.priv = vk;
  if (!sv_vk_device_init (vk, index, allow_cpu_driver, error) || !sv_vk_memory_init (vk, error) ||
      !sv_vk_pipelines_init (vk, error) || !sv_vk_record_init (vk, error)) {
    vk_destroy (&vk->base);
    return NULL;
  }
  g_debug ("vulkan: opened %s", vk->base.device_name);
  return &vk->base;
}
