/* svilm-core Vulkan backend: command recording.
 *
 * Ops, uploads into busy memory and zero fills are recorded into one command
 * buffer ("batch"); nothing runs until the host needs a result: download() and
 * finish() submit the batch and wait (a batch of more than MAX_BATCH commands is
 * submitted on the way, so descriptor and staging memory stay bounded).
 *
 * Barriers: every command lists the buffer ranges it reads and writes.  A
 * global memory barrier goes in front of a command that reads or writes a range
 * written since the last barrier, or writes a range read since then; commands
 * that touch unrelated memory run without barriers between them.
 *
 * Errors inside an op (pipeline creation, descriptor allocation, a tensor larger
 * than one binding, an op not implemented) cannot be returned by the op entry
 * (it returns void): the first one is kept ("sticky") and returned by the next
 * finish() or download(); ops recorded after it are skipped.
 *
 * Every recording step takes vk->lock, so ops of several threads on one backend
 * are safe; the order between threads is theirs to arrange.
 */
#include "config.h"

#include "sv-vk-private.h"

#include <string.h>

#define MAX_BATCH 4096
#define DESC_POOL_SETS 256
#define MAX_PENDING 256
#define WAIT_TIMEOUT_NS (600ull * 1000000000ull)

gboolean
sv_vk_record_init (SvVk *vk, GError **error)
{
  vk->desc_pools = g_ptr_array_new_with_free_func (g_free);
  vk->pending = g_array_new (FALSE, FALSE, sizeof (SvVkAccess));
  VkCommandPoolCreateInfo pci = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
    .queueFamilyIndex = vk->queue_family,
  };
  VkResult r = vk->fn.vkCreateCommandPool (vk->device, &pci, NULL, &vk->cmd_pool);
  if (r == VK_SUCCESS) {
    VkCommandBufferAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = vk->cmd_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
    };
    r = vk->fn.vkAllocateCommandBuffers (vk->device, &ai, &vk->cmd);
  } else {
    vk->cmd_pool = VK_NULL_HANDLE;
  }
  if (r == VK_SUCCESS) {
    VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
    r = vk->fn.vkCreateFence (vk->device, &fci, NULL, &vk->fence);
    if (r != VK_SUCCESS)
      vk->fence = VK_NULL_HANDLE;
  }
  if (r != VK_SUCCESS) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: cannot create the command buffer: %s",
                 sv_vk_result_str (r));
    return FALSE;
  }
  return TRUE;
}

void
sv_vk_record_cleanup (SvVk *vk)
{
  if (vk->desc_pools) {
    for (guint i = 0; i < vk->desc_pools->len; i++)
      vk->fn.vkDestroyDescriptorPool (
          vk->device, *(VkDescriptorPool *) g_ptr_array_index (vk->desc_pools, i), NULL);
    g_ptr_array_unref (vk->desc_pools);
    vk->desc_pools = NULL;
  }
  if (vk->fence)
    vk->fn.vkDestroyFence (vk->device, vk->fence, NULL);
  if (vk->cmd_pool)
    vk->fn.vkDestroyCommandPool (vk->device, vk->cmd_pool, NULL);
  if (vk->pending)
    g_array_unref (vk->pending);
  vk->pending = NULL;
  g_clear_error (&vk->error);
}

/* ---- errors ---- */

void
sv_vk_fail_error (SvVk *vk, GError *error)
{
  g_rec_mutex_lock (&vk->lock);
  if (!vk->error)
    vk->error = error;
  else
    g_error_free (error);
  g_rec_mutex_unlock (&vk->lock);
}

void
sv_vk_fail (SvVk *vk, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  sv_vk_fail_error (vk, g_error_new_literal (SV_ERROR, SV_ERROR_BACKEND, msg));
  g_free (msg);
}

gboolean
sv_vk_ok (SvVk *vk)
{
  return !vk->error && !vk->lost;
}

/* ---- batches ---- */

gboolean
sv_vk_begin (SvVk *vk, GError **error)
{
  if (vk->lost) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: the device was lost");
    return FALSE;
  }
  if (vk->recording)
    return TRUE;
  sv_vk_staging_rewind (vk); /* the previous batch's transfers are complete and read */
  VkCommandBufferBeginInfo bi = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  VkResult r = vk->fn.vkBeginCommandBuffer (vk->cmd, &bi);
  if (r != VK_SUCCESS) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: vkBeginCommandBuffer failed: %s",
                 sv_vk_result_str (r));
    return FALSE;
  }
  vk->recording = TRUE;
  vk->n_commands = 0;
  return TRUE;
}

static void
barrier (SvVk *vk)
{
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vk->fn.vkCmdPipelineBarrier (vk->cmd, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
  g_array_set_size (vk->pending, 0);
  vk->n_barriers++;
}

void
sv_vk_hazard (SvVk *vk, const SvVkAccess *acc, guint n)
{
  gboolean need = vk->pending->len > MAX_PENDING;
  for (guint i = 0; i < n && !need; i++)
    for (guint j = 0; j < vk->pending->len && !need; j++) {
      const SvVkAccess *p = &g_array_index (vk->pending, SvVkAccess, j);
      need = p->buffer == acc[i].buffer && (p->write || acc[i].write) &&
             p->offset < acc[i].offset + acc[i].size && acc[i].offset < p->offset + p->size;
    }
  if (need)
    barrier (vk);
  g_array_append_vals (vk->pending, acc, n);
}

/* submits the batch and waits for it; resets the per-batch state */
static gboolean
submit_wait (SvVk *vk, GError **error)
{
  if (!vk->recording)
    return TRUE;
  /* make every write of the batch visible to the host (downloads map the memory) */
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
  };
  vk->fn.vkCmdPipelineBarrier (
      vk->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
      VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  vk->recording = FALSE;
  const char *what = "vkEndCommandBuffer";
  VkResult r = vk->fn.vkEndCommandBuffer (vk->cmd);
  if (r == VK_SUCCESS) {
    VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &vk->cmd,
    };
    what = "vkQueueSubmit";
    r = vk->fn.vkQueueSubmit (vk->queue, 1, &si, vk->fence);
    if (r == VK_SUCCESS) {
      what = "vkWaitForFences";
      r = vk->fn.vkWaitForFences (vk->device, 1, &vk->fence, VK_TRUE, WAIT_TIMEOUT_NS);
    }
    vk->n_submits++;
  }
  if (r != VK_SUCCESS) {
    /* a lost device (or a GPU that hangs) cannot be trusted with anything else */
    vk->lost = TRUE;
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: %s failed on %s: %s%s", what,
                 vk->props.deviceName, sv_vk_result_str (r),
                 r == VK_TIMEOUT ? " (the GPU did not finish in 10 minutes)" : "");
    return FALSE;
  }
  vk->fn.vkResetFences (vk->device, 1, &vk->fence);
  vk->fn.vkResetCommandPool (vk->device, vk->cmd_pool, 0);
  for (guint i = 0; i < vk->desc_pools->len && i <= vk->desc_pool_cur; i++)
    vk->fn.vkResetDescriptorPool (vk->device,
                                  *(VkDescriptorPool *) g_ptr_array_index (vk->desc_pools, i), 0);
  vk->desc_pool_cur = vk->desc_sets_in_cur = 0;
  g_array_set_size (vk->pending, 0);
  vk->n_commands = 0;
  for (guint i = 0; i < vk->free_later->len; i++)
    sv_vk_free_now (vk, g_ptr_array_index (vk->free_later, i));
  g_ptr_array_set_size (vk->free_later, 0);
  return TRUE;
}

gboolean
sv_vk_flush (SvVk *vk, GError **error)
{
  GError *local = NULL;
  gboolean ok = submit_wait (vk, &local);
  if (vk->error) { /* the first failure is the one to report */
    g_propagate_error (error, vk->error);
    vk->error = NULL;
    g_clear_error (&local);
    return FALSE;
  }
  if (!ok) {
    g_propagate_error (error, local);
    return FALSE;
  }
  if (vk->lost) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: the device was lost");
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_vk_finish (SvBackend *be, GError **error)
{
  SvVk *vk = SV_VK (be);
  g_rec_mutex_lock (&vk->lock);
  gboolean ok = sv_vk_flush (vk, error);
  g_rec_mutex_unlock (&vk->lock);
  return ok;
}

/* ---- descriptors ---- */

static VkDescriptorSet
alloc_set (SvVk *vk, GError **error)
{
  for (;;) {
    if (vk->desc_pool_cur == vk->desc_pools->len) {
      VkDescriptorPoolSize ps = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  DESC_POOL_SETS * SV_VK_MAX_BINDINGS };
      VkDescriptorPoolCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = DESC_POOL_SETS,
        .poolSizeCount = 1,
        .pPoolSizes = &ps,
      };
      VkDescriptorPool pool;
      VkResult r = vk->fn.vkCreateDescriptorPool (vk->device, &ci, NULL, &pool);
      if (r != VK_SUCCESS) {
        g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                     "vulkan: cannot create a descriptor pool: %s", sv_vk_result_str (r));
        return VK_NULL_HANDLE;
      }
      g_ptr_array_add (vk->desc_pools, g_memdup2 (&pool, sizeof pool));
      vk->desc_sets_in_cur = 0;
    }
    VkDescriptorPool pool =
        *(VkDescriptorPool *) g_ptr_array_index (vk->desc_pools, vk->desc_pool_cur);
    if (vk->desc_sets_in_cur < DESC_POOL_SETS) {
      VkDescriptorSetAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &vk->set_layout,
      };
      VkDescriptorSet set;
      VkResult r = vk->fn.vkAllocateDescriptorSets (vk->device, &ai, &set);
      if (r == VK_SUCCESS) {
        vk->desc_sets_in_cur++;
        return set;
      }
      if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) {
        g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                     "vulkan: cannot allocate a descriptor set: %s", sv_vk_result_str (r));
        return VK_NULL_HANDLE;
      }
    }
    vk->desc_pool_cur++; /* this pool is full: on to the next (made above if needed) */
    vk->desc_sets_in_cur = 0;
  }
}

/* ---- dispatches ---- */

void
sv_vk_call_init (SvVkCall *c, SvVkKernel kernel, uint32_t wg)
{
  memset (c, 0, sizeof *c);
  c->kernel = kernel;
  c->spec[0] = wg;
  c->n_spec = 1;
}

void
sv_vk_call_spec (SvVkCall *c, uint32_t value)
{
  g_assert (c->n_spec < SV_VK_MAX_SPEC);
  c->spec[c->n_spec++] = value;
}

void
sv_vk_call_alloc (SvVkCall *c, SvVkAlloc *a, VkDeviceSize offset, VkDeviceSize size, gboolean write)
{
  g_assert (c->n_bind < SV_VK_MAX_BINDINGS);
  c->bind[c->n_bind].alloc = a;
  c->bind[c->n_bind].offset = offset;
  c->bind[c->n_bind].size = size;
  c->bind[c->n_bind].write = write;
  c->n_bind++;
}

void
sv_vk_call_part (SvVkCall *c, const SvTensor *t, size_t first, size_t elems, gboolean write)
{
  if (!t || !t->storage)
    sv_vk_call_alloc (c, NULL, 0, 0, FALSE);
  else
    sv_vk_call_alloc (c, t->storage->handle, t->offset + first * 4, (VkDeviceSize) elems * 4,
                      write);
}

void
sv_vk_call_t (SvVkCall *c, const SvTensor *t, gboolean write)
{
  sv_vk_call_part (c, t, 0, t ? t->numel : 0, write);
}

void
sv_vk_call_u (SvVkCall *c, uint32_t v)
{
  g_assert (c->n_param < SV_VK_MAX_PARAMS);
  c->param[c->n_param++].u = v;
}

void
sv_vk_call_f (SvVkCall *c, float v)
{
  g_assert (c->n_param < SV_VK_MAX_PARAMS);
  c->param[c->n_param++].f = v;
}

static void record_dispatch (SvVk *vk, SvVkCall *c, uint32_t gx, uint32_t gy, uint32_t gz);

void
sv_vk_call_dispatch (SvVk *vk, SvVkCall *c, uint32_t gx, uint32_t gy, uint32_t gz)
{
  g_rec_mutex_lock (&vk->lock);
  record_dispatch (vk, c, gx, gy, gz);
  g_rec_mutex_unlock (&vk->lock);
}

static void
record_dispatch (SvVk *vk, SvVkCall *c, uint32_t gx, uint32_t gy, uint32_t gz)
{
  GError *error = NULL;
  if (!sv_vk_ok (vk) || gx == 0 || gy == 0 || gz == 0)
    return;
  if (vk->n_commands >= MAX_BATCH && !submit_wait (vk, &error)) {
    sv_vk_fail_error (vk, error);
    return;
  }
  VkPipeline pipeline = sv_vk_pipeline (vk, c->kernel, c->spec, c->n_spec, &error);
  if (!pipeline || !sv_vk_begin (vk, &error)) {
    sv_vk_fail_error (vk, error);
    return;
  }
  VkDescriptorSet set = alloc_set (vk, &error);
  if (!set) {
    sv_vk_fail_error (vk, error);
    return;
  }
  VkDescriptorBufferInfo info[SV_VK_MAX_BINDINGS];
  VkWriteDescriptorSet w[SV_VK_MAX_BINDINGS];
  SvVkAccess acc[SV_VK_MAX_BINDINGS];
  uint32_t push[SV_VK_MAX_BINDINGS + SV_VK_MAX_PARAMS] = { 0 };
  guint n_acc = 0;
  VkDeviceSize align = MAX (vk->props.limits.minStorageBufferOffsetAlignment, 4);
  for (guint i = 0; i < SV_VK_MAX_BINDINGS; i++) {
    SvVkAlloc *a = i < c->n_bind ? c->bind[i].alloc : NULL;
    if (a) {
      /* bind from an aligned offset; the shader adds the rest (push[i] elements) */
      VkDeviceSize abs = a->offset + c->bind[i].offset, size = c->bind[i].size;
      VkDeviceSize base = abs / align * align;
      VkDeviceSize range = MIN (abs - base + MAX (size, 4), a->block->size - base);
      if (range > vk->props.limits.maxStorageBufferRange) {
        sv_vk_fail (vk,
                    "vulkan: an operand of %" G_GUINT64_FORMAT
                    " bytes is larger than one storage buffer binding can be on %s (%u bytes)",
                    (guint64) size, vk->props.deviceName, vk->props.limits.maxStorageBufferRange);
        return;
      }
      info[i] = (VkDescriptorBufferInfo){ a->block->buffer, base, range };
      push[i] = (uint32_t) ((abs - base) / 4);
      /* the whole bound range counts (as for the validation layers): a view that
       * shares an aligned chunk with its neighbour is ordered after it */
      if (size > 0)
        acc[n_acc++] = (SvVkAccess){ a->block->buffer, base, range, c->bind[i].write };
    } else {
      info[i] = (VkDescriptorBufferInfo){ vk->dummy->block->buffer, vk->dummy->offset, 256 };
    }
    w[i] = (VkWriteDescriptorSet){
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstSet = set,
      .dstBinding = i,
      .descriptorCount = 1,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .pBufferInfo = &info[i],
    };
  }
  vk->fn.vkUpdateDescriptorSets (vk->device, SV_VK_MAX_BINDINGS, w, 0, NULL);
  memcpy (push + SV_VK_MAX_BINDINGS, c->param, c->n_param * 4);
  sv_vk_hazard (vk, acc, n_acc);
  vk->fn.vkCmdBindPipeline (vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  vk->fn.vkCmdBindDescriptorSets (vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipeline_layout, 0,
                                  1, &set, 0, NULL);
  vk->fn.vkCmdPushConstants (vk->cmd, vk->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                             sizeof push, push);
  vk->fn.vkCmdDispatch (vk->cmd, gx, gy, gz);
  vk->n_commands++;
  vk->n_dispatches++;
}

void
sv_vk_call_run (SvVk *vk, SvVkCall *c, size_t n, gboolean per_group)
{
  size_t wg = c->spec[0];
  size_t groups = per_group ? n : (n + wg - 1) / wg;
  if (groups == 0)
    return;
  uint32_t gx = (uint32_t) MIN (groups, SV_VK_MAX_GROUPS);
  uint32_t gy = (uint32_t) MIN ((groups + gx - 1) / gx, SV_VK_MAX_GROUPS);
  sv_vk_call_dispatch (vk, c, gx, gy, 1);
}

void
sv_vk_fill_zero (SvVk *vk, const SvTensor *t)
{
  SvVkAlloc *a = t->storage->handle;
  VkDeviceSize abs = a->offset + t->offset, bytes = (VkDeviceSize) t->numel * 4;
  GError *error = NULL;
  if (bytes == 0)
    return;
  g_rec_mutex_lock (&vk->lock);
  if (sv_vk_begin (vk, &error)) {
    SvVkAccess acc = { a->block->buffer, abs, bytes, TRUE };
    sv_vk_hazard (vk, &acc, 1);
    vk->fn.vkCmdFillBuffer (vk->cmd, a->block->buffer, abs, bytes, 0);
    vk->n_commands++;
  } else {
    sv_vk_fail_error (vk, error);
  }
  g_rec_mutex_unlock (&vk->lock);
}

uint32_t
sv_vk_row_wg (SvVk *vk, size_t C)
{
  return MIN (C <= 64 ? 64u : 256u, vk->wg_max);
}

SvTensor
sv_vk_view (const SvTensor *t, size_t first, size_t count)
{
  SvTensor v = *t;
  v.offset = t->offset + first * 4;
  v.data = NULL;
  v.ndim = 1;
  v.shape[0] = (int64_t) count;
  for (int i = 1; i < SV_MAX_DIMS; i++)
    v.shape[i] = 1;
  v.numel = count;
  return v;
}
