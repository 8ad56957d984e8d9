/* svilm-core: tensors, views and the activation arena. */
#include "sv-tensor.h"

#include "sv-backend.h"
#include "sv-error.h"

#include <glib/gi18n-lib.h>
#include <string.h>

size_t
sv_dtype_size (SvDType dtype)
{
  return 4; /* f32 and i32 */
}

gboolean
sv_tensor_set_shape (SvTensor *t, int ndim, const int64_t *shape, GError **error)
{
  if (ndim < 0 || ndim > SV_MAX_DIMS) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "tensor rank %d is outside 0..%d", ndim,
                 SV_MAX_DIMS);
    return FALSE;
  }
  size_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) {
      g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                   "tensor axis %d has negative size %" G_GINT64_FORMAT, i, shape[i]);
      return FALSE;
    }
    /* keep every element count addressable in bytes and in an int index */
    if (shape[i] != 0 && numel > (size_t) G_MAXINT32 / (size_t) shape[i]) {
      g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                   "tensor of rank %d is too large (over 2^31 elements)", ndim);
      return FALSE;
    }
    numel *= (size_t) shape[i];
  }
  t->ndim = ndim;
  for (int i = 0; i < SV_MAX_DIMS; i++)
    t->shape[i] = i < ndim ? shape[i] : 1;
  t->numel = numel;
  return TRUE;
}

static void
bind (SvTensor *t, SvStorage *s, size_t offset)
{
  t->storage = s;
  t->backend = s->backend;
  t->offset = offset;
  t->data = s->host ? (char *) s->host + offset : NULL;
}

SvTensor *
sv_tensor_new (SvBackend *backend, SvDType dtype, int ndim, const int64_t *shape, GError **error)
{
  SvTensor tmp = { 0 };
  if (!sv_tensor_set_shape (&tmp, ndim, shape, error))
    return NULL;
  tmp.dtype = dtype;
  size_t bytes = MAX (tmp.numel, 1) * sv_dtype_size (dtype);
  SvStorage *s = backend->klass->storage_new (backend, bytes, error);
  if (!s)
    return NULL;
  SvTensor *t = g_new (SvTensor, 1);
  *t = tmp;
  bind (t, s, 0);
  if (!sv_tensor_zero (t, error)) {
    sv_tensor_free (t);
    return NULL;
  }
  return t;
}

void
sv_tensor_free (SvTensor *t)
{
  if (!t)
    return;
  if (t->storage)
    t->backend->klass->storage_free (t->backend, t->storage);
  g_free (t);
}

gboolean
sv_tensor_reshape (SvTensor *view, const SvTensor *t, int ndim, const int64_t *shape,
                   GError **error)
{
  SvTensor tmp = *t;
  if (!sv_tensor_set_shape (&tmp, ndim, shape, error))
    return FALSE;
  if (tmp.numel != t->numel) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "cannot reshape %s tensor of shape %s (%zu elements) to %zu elements",
                 t->name ? t->name : "a", sv_tensor_shape_str (t, a, sizeof a), t->numel,
                 tmp.numel);
    return FALSE;
  }
  *view = tmp;
  return TRUE;
}

gboolean
sv_tensor_slice0 (SvTensor *view, const SvTensor *t, int64_t start, int64_t count, GError **error)
{
  if (t->ndim < 1 || start < 0 || count < 0 || start + count > t->shape[0]) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "slice [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 ") is outside axis 0 of size %" G_GINT64_FORMAT,
                 start, start + count, t->ndim ? t->shape[0] : 0);
    return FALSE;
  }
  SvTensor tmp = *t;
  size_t row = t->shape[0] ? t->numel / (size_t) t->shape[0] : 0;
  tmp.shape[0] = count;
  tmp.numel = row * (size_t) count;
  tmp.offset = t->offset + row * (size_t) start * sv_dtype_size (t->dtype);
  tmp.data = t->data ? (char *) t->data + row * (size_t) start * sv_dtype_size (t->dtype) : NULL;
  *view = tmp;
  return TRUE;
}

static gboolean
check_bytes (const SvTensor *t, size_t bytes, GError **error)
{
  if (bytes != t->numel * sv_dtype_size (t->dtype)) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "copy of %zu bytes into a tensor of %zu bytes",
                 bytes, t->numel * sv_dtype_size (t->dtype));
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_tensor_upload (SvTensor *t, const void *src, size_t bytes, GError **error)
{
  if (!check_bytes (t, bytes, error))
    return FALSE;
  return t->backend->klass->upload (t->backend, t, src, bytes, error);
}

gboolean
sv_tensor_download (const SvTensor *t, void *dst, size_t bytes, GError **error)
{
  if (!check_bytes (t, bytes, error))
    return FALSE;
  return t->backend->klass->download (t->backend, t, dst, bytes, error);
}

gboolean
sv_tensor_zero (SvTensor *t, GError **error)
{
  return t->backend->klass->zero (t->backend, t, error);
}

const char *
sv_tensor_shape_str (const SvTensor *t, char *buf, size_t len)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < t->ndim; i++)
    g_string_append_printf (s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, t->shape[i]);
  g_string_append_c (s, ']');
  g_strlcpy (buf, s->str, len);
  g_string_free (s, TRUE);
  return buf;
}

/* ---- arena ---- */

#define SV_ARENA_ALIGN 64 /* cache line; also satisfies Vulkan storage-buffer offset alignment */

struct _SvArena {
  SvBackend *backend;
  GPtrArray *tensors; /* SvTensor* planned, not owned */
  GArray *offsets;    /* size_t per tensor */
  size_t bytes;       /* where the next tensor goes */
  size_t peak;        /* the end of the furthest tensor: the arena's size */
  SvStorage *storage;
};

SvArena *
sv_arena_new (SvBackend *backend)
{
  SvArena *a = g_new0 (SvArena, 1);
  a->backend = backend;
  a->tensors = g_ptr_array_new ();
  a->offsets = g_array_new (FALSE, FALSE, sizeof (size_t));
  return a;
}

gboolean
sv_arena_alloc (SvArena *arena, SvTensor *t, SvDType dtype, int ndim, const int64_t *shape,
                const char *name, GError **error)
{
  if (arena->storage) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "arena already committed; cannot add tensor %s", name ? name : "");
    return FALSE;
  }
  memset (t, 0, sizeof *t);
  if (!sv_tensor_set_shape (t, ndim, shape, error))
    return FALSE;
  t->dtype = dtype;
  t->name = name;
  t->backend = arena->backend;
  size_t bytes = t->numel * sv_dtype_size (dtype);
  size_t offset = arena->bytes;
  if (bytes > G_MAXSIZE - offset - SV_ARENA_ALIGN) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "arena size overflows");
    return FALSE;
  }
  arena->bytes = (offset + bytes + SV_ARENA_ALIGN - 1) & ~(size_t) (SV_ARENA_ALIGN - 1);
  arena->peak = MAX (arena->peak, arena->bytes);
  g_ptr_array_add (arena->tensors, t);
  g_array_append_val (arena->offsets, offset);
  return TRUE;
}

gboolean
sv_arena_commit (SvArena *arena, GError **error)
{
  if (arena->storage)
    return TRUE;
  arena->storage = arena->backend->klass->storage_new (arena->backend, MAX (arena->peak, 1), error);
  if (!arena->storage)
    return FALSE;
  for (guint i = 0; i < arena->tensors->len; i++)
    bind (g_ptr_array_index (arena->tensors, i), arena->storage,
          g_array_index (arena->offsets, size_t, i));
  return sv_arena_zero (arena, error);
}

size_t
sv_arena_bytes (const SvArena *arena)
{
  return arena->peak;
}

size_t
sv_arena_mark (const SvArena *arena)
{
  return arena->bytes;
}

void
sv_arena_rewind (SvArena *arena, size_t mark)
{
  g_return_if_fail (!arena->storage && mark <= arena->bytes);
  arena->bytes = mark;
}

void
sv_arena_seal (SvArena *arena)
{
  g_return_if_fail (!arena->storage);
  arena->bytes = arena->peak;
}

gboolean
sv_arena_zero (SvArena *arena, GError **error)
{
  if (!arena->storage) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "arena not committed");
    return FALSE;
  }
  SvTensor all = { 0 };
  int64_t n = (int64_t) (arena->peak / 4);
  all.dtype = SV_F32;
  all.ndim = 1;
  all.shape[0] = n;
  all.numel = (size_t) n;
  bind (&all, arena->storage, 0);
  return sv_tensor_zero (&all, error);
}

void
sv_arena_free (SvArena *arena)
{
  if (!arena)
    return;
  if (arena->storage)
    arena->backend->klass->storage_free (arena->backend, arena->storage);
  g_ptr_array_unref (arena->tensors);
  g_array_unref (arena->offsets);
  g_free (arena);
}
