/* svilm-core Vulkan backend: memory.
 *
 * Storages are sub-allocated from blocks: one VkDeviceMemory of the device-local
 * type per block (64 MiB, or one block for a larger request), bound to one
 * VkBuffer spanning it; a storage is (block, offset, size) and descriptors bind
 * ranges of the block's buffer.  Free space is a sorted list of holes per block
 * (first fit, coalesced on free); an empty block is given back.
 *
 * Transfers: where device memory is host-visible (integrated GPUs, lavapipe)
 * and no commands are pending, uploads are plain memcpy()s into the mapping and
 * downloads read it after the queue is idle.  Otherwise data goes through
 * host-visible staging blocks with vkCmdCopyBuffer recorded in order with the
 * ops; staging space is handed out linearly and rewound after each submit.
 * SVILM_VULKAN_STAGING=1 forces the staging path (tests use it on lavapipe).
 */
#include "config.h"

#include "sv-vk-private.h"

#include <string.h>

#define BLOCK_SIZE ((VkDeviceSize) 64 << 20)
#define STAGING_SIZE ((VkDeviceSize) 16 << 20)
#define SCRATCH_MIN ((VkDeviceSize) 64 << 10)

static VkDeviceSize
round_up (VkDeviceSize v, VkDeviceSize a)
{
  return (v + a - 1) / a * a;
}

/* the first memory type allowed by `bits` having `want` (and, if possible, not `avoid`) */
static int
find_type (SvVk *vk, uint32_t bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid)
{
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++) {
      VkMemoryPropertyFlags f = vk->mem_props.memoryTypes[i].propertyFlags;
      if (!(bits & (1u << i)) || (f & want) != want)
        continue;
      if (pass == 0 && (f & avoid))
        continue;
      return (int) i;
    }
  return -1;
}

static void
block_free (SvVk *vk, SvVkBlock *b)
{
  if (b->map)
    vk->fn.vkUnmapMemory (vk->device, b->memory);
  if (b->buffer)
    vk->fn.vkDestroyBuffer (vk->device, b->buffer, NULL);
  if (b->memory)
    vk->fn.vkFreeMemory (vk->device, b->memory, NULL);
  if (b->holes)
    g_array_unref (b->holes);
  g_free (b);
}

static gboolean
mem_error (VkResult r, const char *what, VkDeviceSize size, GError **error)
{
  char *sz = g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: out of %s memory allocating %s (%s)",
                 r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host", sz, what);
  else
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: cannot allocate %s (%s): %s", sz, what,
                 sv_vk_result_str (r));
  g_free (sz);
  return FALSE;
}

static SvVkBlock *
block_new (SvVk *vk, VkDeviceSize size, gboolean staging, GError **error)
{
  SvVkBlock *b = g_new0 (SvVkBlock, 1);
  b->staging = staging;
  VkBufferCreateInfo bci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
             VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkResult r = vk->fn.vkCreateBuffer (vk->device, &bci, NULL, &b->buffer);
  if (r != VK_SUCCESS) {
    b->buffer = VK_NULL_HANDLE;
    mem_error (r, "buffer", size, error);
    block_free (vk, b);
    return NULL;
  }
  VkMemoryRequirements req;
  vk->fn.vkGetBufferMemoryRequirements (vk->device, b->buffer, &req);
  uint32_t type = staging ? vk->staging_type_index : vk->device_type_index;
  if (!(req.memoryTypeBits & (1u << type))) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: buffers cannot use memory type %u on this device", type);
    block_free (vk, b);
    return NULL;
  }
  VkMemoryAllocateInfo mai = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size,
    .memoryTypeIndex = type,
  };
  r = vk->fn.vkAllocateMemory (vk->device, &mai, NULL, &b->memory);
  if (r != VK_SUCCESS) {
    b->memory = VK_NULL_HANDLE;
    mem_error (r, staging ? "staging memory" : "device memory", req.size, error);
    block_free (vk, b);
    return NULL;
  }
  r = vk->fn.vkBindBufferMemory (vk->device, b->buffer, b->memory, 0);
  if (r == VK_SUCCESS && (staging || vk->device_mappable))
    r = vk->fn.vkMapMemory (vk->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->map);
  if (r != VK_SUCCESS) {
    b->map = NULL;
    mem_error (r, "binding or mapping memory", size, error);
    block_free (vk, b);
    return NULL;
  }
  b->size = size;
  b->holes = g_array_new (FALSE, FALSE, sizeof (SvVkRange));
  SvVkRange all = { 0, size };
  g_array_append_val (b->holes, all);
  return b;
}

/* first fit in the block; returns the offset or G_MAXUINT64 */
static VkDeviceSize
block_take (SvVkBlock *b, VkDeviceSize size)
{
  for (guint i = 0; i < b->holes->len; i++) {
    SvVkRange *h = &g_array_index (b->holes, SvVkRange, i);
    if (h->size < size)
      continue;
    VkDeviceSize off = h->offset;
    h->offset += size;
    h->size -= size;
    if (h->size == 0)
      g_array_remove_index (b->holes, i);
    return off;
  }
  return G_MAXUINT64;
}

static void
block_give (SvVkBlock *b, VkDeviceSize offset, VkDeviceSize size)
{
  guint i = 0;
  while (i < b->holes->len && g_array_index (b->holes, SvVkRange, i).offset < offset)
    i++;
  SvVkRange r = { offset, size };
  g_array_insert_val (b->holes, i, r);
  /* coalesce with the next, then with the previous hole */
  if (i + 1 < b->holes->len) {
    SvVkRange *h = &g_array_index (b->holes, SvVkRange, i), *n = h + 1;
    if (h->offset + h->size == n->offset) {
      h->size += n->size;
      g_array_remove_index (b->holes, i + 1);
    }
  }
  if (i > 0) {
    SvVkRange *p = &g_array_index (b->holes, SvVkRange, i - 1), *h = p + 1;
    if (p->offset + p->size == h->offset) {
      p->size += h->size;
      g_array_remove_index (b->holes, i);
    }
  }
}

SvVkAlloc *
sv_vk_alloc (SvVk *vk, VkDeviceSize bytes, GError **error)
{
  VkDeviceSize size = round_up (MAX (bytes, 4), vk->alloc_align);
  for (guint i = 0; i < vk->blocks->len; i++) {
    SvVkBlock *b = g_ptr_array_index (vk->blocks, i);
    VkDeviceSize off = block_take (b, size);
    if (off != G_MAXUINT64) {
      SvVkAlloc *a = g_new0 (SvVkAlloc, 1);
      *a = (SvVkAlloc){ b, off, size };
      return a;
    }
  }
  /* a request of more than half a block gets a block of its own */
  SvVkBlock *b = block_new (vk, size > vk->block_size / 2 ? size : vk->block_size, FALSE, error);
  if (!b)
    return NULL;
  g_ptr_array_add (vk->blocks, b);
  SvVkAlloc *a = g_new0 (SvVkAlloc, 1);
  *a = (SvVkAlloc){ b, block_take (b, size), size };
  return a;
}

void
sv_vk_free_now (SvVk *vk, SvVkAlloc *a)
{
  SvVkBlock *b = a->block;
  block_give (b, a->offset, a->size);
  g_free (a);
  if (b->holes->len == 1 && g_array_index (b->holes, SvVkRange, 0).size == b->size) {
    g_ptr_array_remove (vk->blocks, b);
    block_free (vk, b);
  }
}

void
sv_vk_free (SvVk *vk, SvVkAlloc *a)
{
  if (!a)
    return;
  if (vk->n_commands > 0)
    g_ptr_array_add (vk->free_later, a); /* recorded commands may still use it */
  else
    sv_vk_free_now (vk, a);
}

gboolean
sv_vk_staging (SvVk *vk, VkDeviceSize bytes, VkBuffer *buffer, VkDeviceSize *offset, void **map,
               GError **error)
{
  VkDeviceSize size = round_up (MAX (bytes, 4), 256);
  while (vk->staging_cur < vk->staging_blocks->len) {
    SvVkBlock *b = g_ptr_array_index (vk->staging_blocks, vk->staging_cur);
    if (vk->staging_used + size <= b->size) {
      *buffer = b->buffer;
      *offset = vk->staging_used;
      *map = (char *) b->map + vk->staging_used;
      vk->staging_used += size;
      return TRUE;
    }
    vk->staging_cur++;
    vk->staging_used = 0;
  }
  SvVkBlock *b = block_new (vk, MAX (size, STAGING_SIZE), TRUE, error);
  if (!b)
    return FALSE;
  g_ptr_array_add (vk->staging_blocks, b);
  vk->staging_cur = vk->staging_blocks->len - 1;
  *buffer = b->buffer;
  *offset = 0;
  *map = b->map;
  vk->staging_used = size;
  return TRUE;
}

void
sv_vk_staging_rewind (SvVk *vk)
{
  /* called before a new batch starts (nothing reads staging memory any more):
   * keep one default-sized block, give back the rest */
  for (guint i = vk->staging_blocks->len; i-- > 0;) {
    SvVkBlock *b = g_ptr_array_index (vk->staging_blocks, i);
    if (i > 0 || b->size > STAGING_SIZE) {
      g_ptr_array_remove_index (vk->staging_blocks, i);
      block_free (vk, b);
    }
  }
  vk->staging_cur = 0;
  vk->staging_used = 0;
}

SvVkAlloc *
sv_vk_scratch (SvVk *vk, VkDeviceSize bytes)
{
  /* a replaced scratch is freed after the batch: recorded commands keep using it */
  GError *error = NULL;
  SvVkAlloc *s;
  g_rec_mutex_lock (&vk->lock);
  if (vk->scratch && vk->scratch->size >= bytes) {
    s = vk->scratch;
  } else if ((s = sv_vk_alloc (vk, MAX (bytes, SCRATCH_MIN), &error))) {
    sv_vk_free (vk, vk->scratch);
    vk->scratch = s;
  } else {
    sv_vk_fail_error (vk, error);
  }
  g_rec_mutex_unlock (&vk->lock);
  return s;
}

gboolean
sv_vk_memory_init (SvVk *vk, GError **error)
{
  vk->blocks = g_ptr_array_new ();
  vk->staging_blocks = g_ptr_array_new ();
  vk->free_later = g_ptr_array_new ();
  vk->block_size = BLOCK_SIZE;
  vk->alloc_align = MAX (256, vk->props.limits.minStorageBufferOffsetAlignment);

  /* which memory types can back our buffers: ask with a small probe buffer */
  VkBufferCreateInfo bci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = 4096,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
             VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkBuffer probe;
  VkResult r = vk->fn.vkCreateBuffer (vk->device, &bci, NULL, &probe);
  if (r != VK_SUCCESS)
    return mem_error (r, "probe buffer", 4096, error);
  VkMemoryRequirements req;
  vk->fn.vkGetBufferMemoryRequirements (vk->device, probe, &req);
  vk->fn.vkDestroyBuffer (vk->device, probe, NULL);

  const VkMemoryPropertyFlags host =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  /* storages: device-local, preferably the kind the host cannot see (the big heap of
   * a discrete GPU; a small host-visible BAR window would run out) */
  int dev = find_type (vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
  if (dev < 0)
    dev = find_type (vk, req.memoryTypeBits, 0, 0);
  int stg = find_type (vk, req.memoryTypeBits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0);
  if (stg < 0)
    stg = find_type (vk, req.memoryTypeBits, host, 0);
  if (dev < 0 || stg < 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: %s has no suitable memory type for storage buffers",
                 vk->props.deviceName);
    return FALSE;
  }
  vk->device_type_index = (uint32_t) dev;
  vk->staging_type_index = (uint32_t) stg;
  VkMemoryPropertyFlags df = vk->mem_props.memoryTypes[dev].propertyFlags;
  const char *force = g_getenv ("SVILM_VULKAN_STAGING");
  vk->device_mappable = (df & host) == host && !(force && *force && strcmp (force, "0") != 0);

  if (!(vk->dummy = sv_vk_alloc (vk, 256, error)))
    return FALSE;
  return TRUE;
}

void
sv_vk_memory_cleanup (SvVk *vk)
{
  if (vk->free_later) {
    for (guint i = 0; i < vk->free_later->len; i++)
      g_free (g_ptr_array_index (vk->free_later, i));
    g_ptr_array_unref (vk->free_later);
  }
  g_clear_pointer (&vk->dummy, g_free);
  g_clear_pointer (&vk->scratch, g_free);
  /* storages still alive are the caller's leak; their blocks go with the device */
  if (vk->blocks) {
    for (guint i = 0; i < vk->blocks->len; i++)
      block_free (vk, g_ptr_array_index (vk->blocks, i));
    g_ptr_array_unref (vk->blocks);
  }
  if (vk->staging_blocks) {
    for (guint i = 0; i < vk->staging_blocks->len; i++)
      block_free (vk, g_ptr_array_index (vk->staging_blocks, i));
    g_ptr_array_unref (vk->staging_blocks);
  }
  vk->free_later = vk->blocks = vk->staging_blocks = NULL;
}

/* ---- storages and transfers (backend entry points) ---- */

SvStorage *
sv_vk_storage_new (SvBackend *be, size_t bytes, GError **error)
{
  SvVk *vk = SV_VK (be);
  g_rec_mutex_lock (&vk->lock);
  SvVkAlloc *a = sv_vk_alloc (vk, bytes, error);
  g_rec_mutex_unlock (&vk->lock);
  if (!a)
    return NULL;
  SvStorage *s = g_new0 (SvStorage, 1);
  s->backend = be;
  s->bytes = bytes;
  s->handle = a;
  return s;
}

void
sv_vk_storage_free (SvBackend *be, SvStorage *s)
{
  SvVk *vk = SV_VK (be);
  g_rec_mutex_lock (&vk->lock);
  sv_vk_free (vk, s->handle);
  g_rec_mutex_unlock (&vk->lock);
  g_free (s);
}

void *
sv_vk_storage_host_ptr (SvBackend *be, SvStorage *s)
{
  return NULL; /* device memory: only upload/download touch it from the host */
}

gboolean
sv_vk_upload (SvBackend *be, SvTensor *t, const void *src, size_t bytes, GError **error)
{
  SvVk *vk = SV_VK (be);
  SvVkAlloc *a = t->storage->handle;
  VkDeviceSize off = a->offset + t->offset;
  gboolean ok = TRUE;
  if (bytes == 0)
    return TRUE;
  g_rec_mutex_lock (&vk->lock);
  if (vk->lost) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: the device was lost");
    ok = FALSE;
  } else if (a->block->map && vk->n_commands == 0) {
    memcpy ((char *) a->block->map + off, src, bytes); /* the device is idle */
  } else {
    VkBuffer sbuf;
    VkDeviceSize soff;
    void *smap;
    ok = sv_vk_begin (vk, error) && sv_vk_staging (vk, bytes, &sbuf, &soff, &smap, error);
    if (ok) {
      memcpy (smap, src, bytes);
      SvVkAccess acc = { a->block->buffer, off, bytes, TRUE };
      sv_vk_hazard (vk, &acc, 1);
      VkBufferCopy region = { soff, off, bytes };
      vk->fn.vkCmdCopyBuffer (vk->cmd, sbuf, a->block->buffer, 1, &region);
      vk->n_commands++;
    }
  }
  g_rec_mutex_unlock (&vk->lock);
  return ok;
}

gboolean
sv_vk_download (SvBackend *be, const SvTensor *t, void *dst, size_t bytes, GError **error)
{
  SvVk *vk = SV_VK (be);
  SvVkAlloc *a = t->storage->handle;
  VkDeviceSize off = a->offset + t->offset;
  gboolean ok;
  g_rec_mutex_lock (&vk->lock);
  if (a->block->map || bytes == 0) {
    ok = sv_vk_flush (vk, error);
    if (ok && bytes)
      memcpy (dst, (char *) a->block->map + off, bytes);
  } else {
    VkBuffer sbuf;
    VkDeviceSize soff;
    void *smap = NULL;
    ok = sv_vk_begin (vk, error) && sv_vk_staging (vk, bytes, &sbuf, &soff, &smap, error);
    if (ok) {
      SvVkAccess acc = { a->block->buffer, off, bytes, FALSE };
      sv_vk_hazard (vk, &acc, 1);
      VkBufferCopy region = { off, soff, bytes };
      vk->fn.vkCmdCopyBuffer (vk->cmd, a->block->buffer, sbuf, 1, &region);
      vk->n_commands++;
    }
    /* submit even after a failure above: earlier work and errors are reported */
    ok = sv_vk_flush (vk, ok ? error : NULL) && ok;
    if (ok)
      memcpy (dst, smap, bytes); /* staging is only reused once a new batch begins */
  }
  g_rec_mutex_unlock (&vk->lock);
  return ok;
}

gboolean
sv_vk_zero (SvBackend *be, SvTensor *t, GError **error)
{
  SvVk *vk = SV_VK (be);
  gboolean ok = TRUE;
  g_rec_mutex_lock (&vk->lock);
  if (vk->lost) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: the device was lost");
    ok = FALSE;
  } else if (t->numel > 0) {
    SvVkAlloc *a = t->storage->handle;
    if (a->block->map && vk->n_commands == 0) /* the device is idle */
      memset ((char *) a->block->map + a->offset + t->offset, 0, t->numel * 4);
    else if ((ok = sv_vk_begin (vk, error)))
      sv_vk_fill_zero (vk, t);
  }
  g_rec_mutex_unlock (&vk->lock);
  return ok;
}
