/* svilm-core Vulkan backend: internal declarations shared by the files of
 * svilm-core/vulkan/.
 *
 *   sv-vk-loader.c    dlopen of the Vulkan loader, function tables
 *   sv-vk-device.c    instance, device selection and creation, teardown
 *   sv-vk-memory.c    block sub-allocator, storages, staging, upload/download/zero
 *   sv-vk-pipeline.c  descriptor/pipeline layouts, shader modules, pipeline cache
 *   sv-vk-record.c    command recording: descriptors, barriers, submit, errors
 *   sv-vk-ops-*.c     the ops of the backend interface (sv-vk-ops-optim.c: the
 *                     optimiser's updates, sv-vk-ops-stgraph.c: STGT attention)
 *   sv-backend-vulkan.c  the SvBackendClass table
 *
 * Entry points and recording steps take vk->lock (recursive), so several threads
 * may use one backend; the order of their ops is theirs to arrange.
 */
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "sv-backend.h"
#include "sv-error.h"

G_BEGIN_DECLS

/* ---- function tables (loaded at run time, sv-vk-loader.c) ---- */

#define SV_VK_GLOBAL_FUNCS(X)                                                                      \
  X (vkCreateInstance)                                                                             \
  X (vkEnumerateInstanceExtensionProperties)

#define SV_VK_INSTANCE_FUNCS(X)                                                                    \
  X (vkDestroyInstance)                                                                            \
  X (vkEnumeratePhysicalDevices)                                                                   \
  X (vkGetPhysicalDeviceProperties)                                                                \
  X (vkGetPhysicalDeviceQueueFamilyProperties)                                                     \
  X (vkGetPhysicalDeviceMemoryProperties)                                                          \
  X (vkCreateDevice)                                                                               \
  X (vkGetDeviceProcAddr)

#define SV_VK_DEVICE_FUNCS(X)                                                                      \
  X (vkDestroyDevice)                                                                              \
  X (vkGetDeviceQueue)                                                                             \
  X (vkDeviceWaitIdle)                                                                             \
  X (vkCreateBuffer)                                                                               \
  X (vkDestroyBuffer)                                                                              \
  X (vkGetBufferMemoryRequirements)                                                                \
  X (vkAllocateMemory)                                                                             \
  X (vkFreeMemory)                                                                                 \
  X (vkBindBufferMemory)                                                                           \
  X (vkMapMemory)                                                                                  \
  X (vkUnmapMemory)                                                                                \
  X (vkCreateShaderModule)                                                                         \
  X (vkDestroyShaderModule)                                                                        \
  X (vkCreatePipelineCache)                                                                        \
  X (vkDestroyPipelineCache)                                                                       \
  X (vkCreateComputePipelines)                                                                     \
  X (vkDestroyPipeline)                                                                            \
  X (vkCreateDescriptorSetLayout)                                                                  \
  X (vkDestroyDescriptorSetLayout)                                                                 \
  X (vkCreatePipelineLayout)                                                                       \
  X (vkDestroyPipelineLayout)                                                                      \
  X (vkCreateDescriptorPool)                                                                       \
  X (vkDestroyDescriptorPool)                                                                      \
  X (vkResetDescriptorPool)                                                                        \
  X (vkAllocateDescriptorSets)                                                                     \
  X (vkUpdateDescriptorSets)                                                                       \
  X (vkCreateCommandPool)                                                                          \
  X (vkDestroyCommandPool)                                                                         \
  X (vkResetCommandPool)                                                                           \
  X (vkAllocateCommandBuffers)                                                                     \
  X (vkBeginCommandBuffer)                                                                         \
  X (vkEndCommandBuffer)                                                                           \
  X (vkCmdBindPipeline)                                                                            \
  X (vkCmdBindDescriptorSets)                                                                      \
  X (vkCmdPushConstants)                                                                           \
  X (vkCmdDispatch)                                                                                \
  X (vkCmdPipelineBarrier)                                                                         \
  X (vkCmdCopyBuffer)                                                                              \
  X (vkCmdFillBuffer)                                                                              \
  X (vkQueueSubmit)                                                                                \
  X (vkCreateFence)                                                                                \
  X (vkDestroyFence)                                                                               \
  X (vkWaitForFences)                                                                              \
  X (vkResetFences)

#define SV_VK_DECLARE_FN(name) PFN_##name name;

typedef struct {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  SV_VK_GLOBAL_FUNCS (SV_VK_DECLARE_FN)
  SV_VK_INSTANCE_FUNCS (SV_VK_DECLARE_FN)
  SV_VK_DEVICE_FUNCS (SV_VK_DECLARE_FN)
} SvVkFuncs;

/* Opens the loader (once per process) and fills the global functions. */
gboolean sv_vk_load_global (SvVkFuncs *fn, GError **error);
gboolean sv_vk_load_instance (SvVkFuncs *fn, VkInstance instance, GError **error);
gboolean sv_vk_load_device (SvVkFuncs *fn, VkDevice device, GError **error);
/* "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc. */
const char *sv_vk_result_str (VkResult r);

/* ---- kernels (shaders/meson.build names them) ---- */

#define SV_VK_KERNELS(X)                                                                           \
  X (GEMM, "gemm")                                                                                 \
  X (GELU_FWD, "gelu_fwd")                                                                         \
  X (GELU_BWD, "gelu_bwd")                                                                         \
  X (AXPBY, "axpby")                                                                               \
  X (ADD, "add")                                                                                   \
  X (SOFTMAX_FWD, "softmax_fwd")                                                                   \
  X (SOFTMAX_BWD, "softmax_bwd")                                                                   \
  X (LN_FWD, "ln_fwd")                                                                             \
  X (LN_BWD_DX, "ln_bwd_dx")                                                                       \
  X (LN_BWD_DWDB, "ln_bwd_dwdb")                                                                   \
  X (L2_FWD, "l2_fwd")                                                                             \
  X (L2_BWD, "l2_bwd")                                                                             \
  X (COLSUM, "colsum")                                                                             \
  X (SUM_FINAL, "sum_final")                                                                       \
  X (MEAN_FWD_WG, "mean_fwd_wg")                                                                   \
  X (MEAN_FWD_SER, "mean_fwd_ser")                                                                 \
  X (MEAN_BWD, "mean_bwd")                                                                         \
  X (TRANSPOSE, "transpose")                                                                       \
  X (PATCHIFY, "patchify")                                                                         \
  X (IM2COL_FWD, "im2col_fwd")                                                                     \
  X (IM2COL_BWD, "im2col_bwd")                                                                     \
  X (EMB_FWD, "emb_fwd")                                                                           \
  X (EMB_BWD, "emb_bwd")                                                                           \
  X (ASSIGN_COL_FWD, "assign_col_fwd")                                                             \
  X (ASSIGN_ROW_FWD, "assign_row_fwd")                                                             \
  X (ASSIGN_ROW_BWD, "assign_row_bwd")                                                             \
  X (ASSIGN_COL_BWD, "assign_col_bwd")                                                             \
  X (XENT_FWD, "xent_fwd")                                                                         \
  X (XENT_BWD, "xent_bwd")                                                                         \
  X (MSE_PARTIAL, "mse_partial")                                                                   \
  X (MSE_BWD, "mse_bwd")                                                                           \
  X (STG_BUILD, "stg_build")                                                                       \
  X (STG_ATT_FWD, "stg_att_fwd")                                                                   \
  X (STG_ATT_BWD, "stg_att_bwd")                                                                   \
  X (STG_BAND_MV, "stg_band_mv")                                                                   \
  X (STG_BAND_MVT, "stg_band_mvt")                                                                 \
  X (OPTIM_SSQ_PARTIAL, "optim_ssq_partial")                                                       \
  X (OPTIM_SSQ_FINAL, "optim_ssq_final")                                                           \
  X (OPTIM_SGD, "optim_sgd")                                                                       \
  X (OPTIM_ADAMW, "optim_adamw")

#define SV_VK_KERNEL_ENUM(id, name) SV_VK_K_##id,
typedef enum { SV_VK_KERNELS (SV_VK_KERNEL_ENUM) SV_VK_N_KERNELS } SvVkKernel;
#undef SV_VK_KERNEL_ENUM

/* the shared pipeline layout: set 0 with this many storage buffers, and a push
 * block of one element offset per binding + SV_VK_MAX_PARAMS 32-bit params */
#define SV_VK_MAX_BINDINGS 8
#define SV_VK_MAX_PARAMS 24
#define SV_VK_MAX_SPEC 6
/* maxComputeWorkGroupCount is at least 65535 in every dimension */
#define SV_VK_MAX_GROUPS 65535u

/* ---- memory ---- */

typedef struct _SvVkBlock SvVkBlock;

/* A sub-allocation: SvStorage->handle of this backend's storages. */
typedef struct {
  SvVkBlock *block;
  VkDeviceSize offset; /* inside block->buffer */
  VkDeviceSize size;
} SvVkAlloc;

struct _SvVkBlock {
  VkDeviceMemory memory;
  VkBuffer buffer; /* spans the whole block */
  VkDeviceSize size;
  void *map;     /* persistent mapping, NULL when not host-visible */
  GArray *holes; /* SvVkRange of free space, sorted by offset */
  gboolean staging;
};

typedef struct {
  VkDeviceSize offset, size;
} SvVkRange;

/* A buffer range a command touches (for barriers). */
typedef struct {
  VkBuffer buffer;
  VkDeviceSize offset, size;
  gboolean write;
} SvVkAccess;

typedef struct _SvVk SvVk;

struct _SvVk {
  SvBackend base; /* first: an SvBackend* of this backend is an SvVk* */
  GRecMutex lock;
  SvVkFuncs fn;

  VkInstance instance;
  VkPhysicalDevice phys;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem_props;
  uint32_t queue_family;
  VkDevice device;
  VkQueue queue;

  /* memory */
  uint32_t device_type_index;  /* memory type of storages */
  uint32_t staging_type_index; /* host-visible, coherent */
  gboolean device_mappable;    /* storages can be mapped (UMA, lavapipe) */
  VkDeviceSize block_size;
  VkDeviceSize alloc_align;
  GPtrArray *blocks;         /* SvVkBlock* of storages */
  GPtrArray *staging_blocks; /* SvVkBlock* for transfers; rewound after each submit */
  guint staging_cur;         /* staging block being filled */
  VkDeviceSize staging_used; /* bytes used in it */
  SvVkAlloc *dummy;          /* bound to unused bindings */
  SvVkAlloc *scratch;        /* backend-internal temporaries (loss partials) */

  /* pipelines */
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipeline_layout;
  VkPipelineCache pipeline_cache;
  const void *kernel_code[SV_VK_N_KERNELS];
  size_t kernel_size[SV_VK_N_KERNELS];
  VkShaderModule modules[SV_VK_N_KERNELS];
  GHashTable *pipelines; /* "kernel:spec,..." -> VkPipeline */
  uint32_t wg_max;       /* largest power-of-two workgroup size <= 256 */

  /* recording */
  VkCommandPool cmd_pool;
  VkCommandBuffer cmd;
  VkFence fence;
  gboolean recording; /* cmd has been begun */
  guint n_commands;   /* commands recorded since the last submit */
  GPtrArray *desc_pools;
  guint desc_pool_cur, desc_sets_in_cur;
  GArray *pending;       /* SvVkAccess since the last barrier */
  GPtrArray *free_later; /* SvVkAlloc* freed while commands may use them */
  GError *error;         /* sticky: the first failure of an op, returned by finish */
  gboolean lost;         /* device lost: everything fails from now on */
  guint64 n_submits, n_dispatches, n_barriers; /* statistics */
};

#define SV_VK(be) ((SvVk *) (be))

/* ---- sv-vk-device.c ---- */
gboolean sv_vk_device_init (SvVk *vk, int index, gboolean allow_cpu_driver, GError **error);
void sv_vk_device_cleanup (SvVk *vk);

/* ---- sv-vk-memory.c ---- */
gboolean sv_vk_memory_init (SvVk *vk, GError **error);
void sv_vk_memory_cleanup (SvVk *vk);
SvVkAlloc *sv_vk_alloc (SvVk *vk, VkDeviceSize bytes, GError **error);
/* frees now, or after the pending commands have run */
void sv_vk_free (SvVk *vk, SvVkAlloc *a);
void sv_vk_free_now (SvVk *vk, SvVkAlloc *a);
/* host-visible memory for a transfer of `bytes` within the current batch */
gboolean sv_vk_staging (SvVk *vk, VkDeviceSize bytes, VkBuffer *buffer, VkDeviceSize *offset,
                        void **map, GError **error);
void sv_vk_staging_rewind (SvVk *vk);
/* an internal scratch range of at least `bytes` */
SvVkAlloc *sv_vk_scratch (SvVk *vk, VkDeviceSize bytes);

SvStorage *sv_vk_storage_new (SvBackend *be, size_t bytes, GError **error);
void sv_vk_storage_free (SvBackend *be, SvStorage *s);
void *sv_vk_storage_host_ptr (SvBackend *be, SvStorage *s);
gboolean sv_vk_upload (SvBackend *be, SvTensor *t, const void *src, size_t bytes, GError **error);
gboolean sv_vk_download (SvBackend *be, const SvTensor *t, void *dst, size_t bytes, GError **error);
gboolean sv_vk_zero (SvBackend *be, SvTensor *t, GError **error);

/* ---- sv-vk-pipeline.c ---- */
gboolean sv_vk_pipelines_init (SvVk *vk, GError **error);
void sv_vk_pipelines_cleanup (SvVk *vk);
VkPipeline sv_vk_pipeline (SvVk *vk, SvVkKernel k, const uint32_t *spec, guint n_spec,
                           GError **error);

/* ---- sv-vk-record.c ---- */
gboolean sv_vk_record_init (SvVk *vk, GError **error);
void sv_vk_record_cleanup (SvVk *vk);
/* records a sticky error (first one wins; finish/download return it) */
void sv_vk_fail (SvVk *vk, const char *format, ...) G_GNUC_PRINTF (2, 3);
void sv_vk_fail_error (SvVk *vk, GError *error); /* takes ownership */
/* FALSE when ops must not record (sticky error or lost device) */
gboolean sv_vk_ok (SvVk *vk);
/* begins the command buffer if needed; FALSE with a sticky error on failure */
gboolean sv_vk_begin (SvVk *vk, GError **error);
/* inserts a barrier before a command with these accesses when it depends on
 * (or overwrites what is used by) earlier commands since the last barrier */
void sv_vk_hazard (SvVk *vk, const SvVkAccess *acc, guint n);
/* submits the recorded commands and waits; then returns (and clears) the
 * sticky error, if any */
gboolean sv_vk_flush (SvVk *vk, GError **error);
gboolean sv_vk_finish (SvBackend *be, GError **error);

/* A dispatch being prepared: bindings in order, then params in order. */
typedef struct {
  SvVkKernel kernel;
  uint32_t spec[SV_VK_MAX_SPEC]; /* spec[0] = workgroup size */
  guint n_spec;
  struct {
    SvVkAlloc *alloc; /* NULL: unused binding (bound to a dummy buffer) */
    VkDeviceSize offset, size;
    gboolean write;
  } bind[SV_VK_MAX_BINDINGS];
  guint n_bind;
  union {
    uint32_t u;
    float f;
  } param[SV_VK_MAX_PARAMS];
  guint n_param;
} SvVkCall;

void sv_vk_call_init (SvVkCall *c, SvVkKernel kernel, uint32_t wg);
void sv_vk_call_spec (SvVkCall *c, uint32_t value);
/* binds a tensor (NULL: unused), numel * 4 bytes from its offset */
void sv_vk_call_t (SvVkCall *c, const SvTensor *t, gboolean write);
/* binds `elems` floats at element `first` of a tensor */
void sv_vk_call_part (SvVkCall *c, const SvTensor *t, size_t first, size_t elems, gboolean write);
void sv_vk_call_alloc (SvVkCall *c, SvVkAlloc *a, VkDeviceSize offset, VkDeviceSize size,
                       gboolean write);
void sv_vk_call_u (SvVkCall *c, uint32_t v);
void sv_vk_call_f (SvVkCall *c, float v);
/* records the dispatch of gx * gy * gz workgroups (each at most 65535) */
void sv_vk_call_dispatch (SvVk *vk, SvVkCall *c, uint32_t gx, uint32_t gy, uint32_t gz);
/* dispatches enough workgroups of c->spec[0] invocations for n items (grid stride
 * beyond the limits): one invocation per item, or with per_group one workgroup */
void sv_vk_call_run (SvVk *vk, SvVkCall *c, size_t n, gboolean per_group);

/* fills a tensor range with zeros (vkCmdFillBuffer) */
void sv_vk_fill_zero (SvVk *vk, const SvTensor *t);

/* workgroup size for row kernels over rows of C */
uint32_t sv_vk_row_wg (SvVk *vk, size_t C);

/* ---- sv-vk-ops-*.c ---- */
void sv_vk_init_ops_linear (SvBackendClass *klass);
void sv_vk_init_ops_misc (SvBackendClass *klass);
void sv_vk_init_ops_more (SvBackendClass *klass);
void sv_vk_init_ops_stgraph (SvBackendClass *klass);
void sv_vk_init_ops_optim (SvBackendClass *klass);

/* strided batched GEMM on tensors (sv-vk-ops-linear.c): see shaders/gemm.comp */
typedef struct {
  const SvTensor *t;
  size_t b1, b2, rs, cs; /* element strides: batch outer, batch inner, row, column */
} SvVkMat;
void sv_vk_gemm (SvVk *vk, const SvVkMat *c, const SvVkMat *a, const SvVkMat *b,
                 const SvTensor *bias, int batch, int batch_inner, int M, int N, int K, float alpha,
                 float beta);

/* l2norm rows (shared by l2norm and cosine_sim, sv-vk-ops-misc.c) */
void sv_vk_l2norm_fwd (SvVk *vk, const SvTensor *out, const SvTensor *norm, const SvTensor *inp,
                       int N, int C, float eps);
void sv_vk_l2norm_bwd (SvVk *vk, const SvTensor *dinp, const SvTensor *dout, const SvTensor *out,
                       const SvTensor *norm, int N, int C, float eps);

/* a view of `count` elements of t from element `first`, flat */
SvTensor sv_vk_view (const SvTensor *t, size_t first, size_t count);

G_END_DECLS
