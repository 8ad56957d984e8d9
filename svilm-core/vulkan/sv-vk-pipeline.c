/* svilm-core Vulkan backend: pipelines.
 *
 * All kernels share one pipeline layout (set 0: SV_VK_MAX_BINDINGS storage
 * buffers; 128 bytes of push constants).  A shader module is made the first
 * time its kernel is used, and a compute pipeline once per (kernel,
 * specialization constants) variant; both live as long as the backend.  A
 * VkPipelineCache lets the driver share compiled code between variants. */
#include "config.h"

#include "sv-vk-private.h"

#include "sv-vk-shaders.h"

#include <string.h>

static const char *const kernel_names[SV_VK_N_KERNELS] = {
#define SV_VK_KERNEL_NAME(id, name) name,
  SV_VK_KERNELS (SV_VK_KERNEL_NAME)
#undef SV_VK_KERNEL_NAME
};

gboolean
sv_vk_pipelines_init (SvVk *vk, GError **error)
{
  for (int k = 0; k < SV_VK_N_KERNELS; k++) {
    for (unsigned i = 0; i < sv_vk_n_shader_blobs && !vk->kernel_code[k]; i++)
      if (strcmp (sv_vk_shader_blobs[i].name, kernel_names[k]) == 0) {
        vk->kernel_code[k] = sv_vk_shader_blobs[i].code;
        vk->kernel_size[k] = sv_vk_shader_blobs[i].size;
      }
    if (!vk->kernel_code[k]) {
      g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                   "vulkan: kernel %s is missing from this build (shaders/meson.build)",
                   kernel_names[k]);
      return FALSE;
    }
  }
  uint32_t push_bytes = (SV_VK_MAX_BINDINGS + SV_VK_MAX_PARAMS) * 4;
  if (vk->props.limits.maxPushConstantsSize < push_bytes) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: %s allows %u bytes of push constants, the kernels need %u",
                 vk->props.deviceName, vk->props.limits.maxPushConstantsSize, push_bytes);
    return FALSE;
  }

  VkDescriptorSetLayoutBinding b[SV_VK_MAX_BINDINGS];
  for (uint32_t i = 0; i < SV_VK_MAX_BINDINGS; i++)
    b[i] = (VkDescriptorSetLayoutBinding){
      .binding = i,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo dci = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = SV_VK_MAX_BINDINGS,
    .pBindings = b,
  };
  VkResult r = vk->fn.vkCreateDescriptorSetLayout (vk->device, &dci, NULL, &vk->set_layout);
  if (r == VK_SUCCESS) {
    VkPushConstantRange pr = { VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes };
    VkPipelineLayoutCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &vk->set_layout,
      .pushConstantRangeCount = 1,
      .pPushConstantRanges = &pr,
    };
    r = vk->fn.vkCreatePipelineLayout (vk->device, &pci, NULL, &vk->pipeline_layout);
  } else {
    vk->set_layout = VK_NULL_HANDLE;
  }
  if (r == VK_SUCCESS) {
    VkPipelineCacheCreateInfo cci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
    if (vk->fn.vkCreatePipelineCache (vk->device, &cci, NULL, &vk->pipeline_cache) != VK_SUCCESS)
      vk->pipeline_cache = VK_NULL_HANDLE; /* optional */
  }
  if (r != VK_SUCCESS) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: cannot create pipeline layouts: %s",
                 sv_vk_result_str (r));
    return FALSE;
  }
  vk->pipelines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return TRUE;
}

VkPipeline
sv_vk_pipeline (SvVk *vk, SvVkKernel k, const uint32_t *spec, guint n_spec, GError **error)
{
  GString *key = g_string_new (kernel_names[k]);
  for (guint i = 0; i < n_spec; i++)
    g_string_append_printf (key, "%c%u", i ? ',' : ':', spec[i]);
  /* handles are boxed: non-dispatchable handles are not pointers on 32-bit targets */
  VkPipeline *found = g_hash_table_lookup (vk->pipelines, key->str);
  if (found) {
    g_string_free (key, TRUE);
    return *found;
  }
  VkPipeline p = VK_NULL_HANDLE;
  VkResult r = VK_SUCCESS;
  if (!vk->modules[k]) {
    VkShaderModuleCreateInfo mci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = vk->kernel_size[k],
      .pCode = vk->kernel_code[k],
    };
    r = vk->fn.vkCreateShaderModule (vk->device, &mci, NULL, &vk->modules[k]);
    if (r != VK_SUCCESS)
      vk->modules[k] = VK_NULL_HANDLE;
  }
  if (r == VK_SUCCESS) {
    VkSpecializationMapEntry map[SV_VK_MAX_SPEC];
    for (guint i = 0; i < n_spec; i++)
      map[i] = (VkSpecializationMapEntry){ i, i * 4, 4 };
    VkSpecializationInfo si = { n_spec, map, n_spec * 4, spec };
    VkComputePipelineCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
        .stage = VK_SHADER_STAGE_COMPUTE_BIT,
        .module = vk->modules[k],
        .pName = "main",
        .pSpecializationInfo = n_spec ? &si : NULL,
      },
      .layout = vk->pipeline_layout,
    };
    r = vk->fn.vkCreateComputePipelines (vk->device, vk->pipeline_cache, 1, &ci, NULL, &p);
  }
  if (r != VK_SUCCESS || !p) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: cannot create the compute pipeline %s on %s: %s", key->str,
                 vk->props.deviceName, sv_vk_result_str (r));
    g_string_free (key, TRUE);
    return VK_NULL_HANDLE;
  }
  g_hash_table_insert (vk->pipelines, g_string_free (key, FALSE), g_memdup2 (&p, sizeof p));
  return p;
}

void
sv_vk_pipelines_cleanup (SvVk *vk)
{
  if (vk->pipelines) {
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init (&it, vk->pipelines);
    while (g_hash_table_iter_next (&it, NULL, &value))
      vk->fn.vkDestroyPipeline (vk->device, *(VkPipeline *) value, NULL);
    g_hash_table_unref (vk->pipelines);
    vk->pipelines = NULL;
  }
  for (int k = 0; k < SV_VK_N_KERNELS; k++)
    if (vk->modules[k])
      vk->fn.vkDestroyShaderModule (vk->device, vk->modules[k], NULL);
  if (vk->pipeline_cache)
    vk->fn.vkDestroyPipelineCache (vk->device, vk->pipeline_cache, NULL);
  if (vk->pipeline_layout)
    vk->fn.vkDestroyPipelineLayout (vk->device, vk->pipeline_layout, NULL);
  if (vk->set_layout)
    vk->fn.vkDestroyDescriptorSetLayout (vk->device, vk->set_layout, NULL);
}
