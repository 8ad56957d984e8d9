/* svilm-core: tensors.
 *
 * A tensor is a view (shape, dtype, byte offset) into storage that a backend
 * owns.  Host backends expose a plain pointer in `data`; device backends keep
 * `data` NULL and use `storage` + `offset`.  Tensors are contiguous row-major.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SV_MAX_DIMS 5

typedef enum {
  SV_F32 = 0,
  SV_I32 = 1,
} SvDType;

typedef struct _SvBackend SvBackend;
typedef struct _SvStorage SvStorage;

typedef struct {
  SvBackend *backend;
  SvStorage *storage; /* owning allocation (may be shared by many views) */
  size_t offset;      /* byte offset of element 0 inside storage */
  void *data;         /* host pointer to element 0, NULL on device backends */
  SvDType dtype;
  int ndim;
  int64_t shape[SV_MAX_DIMS];
  size_t numel;
  const char *name; /* for error messages; static or arena-owned string */
} SvTensor;

size_t sv_dtype_size (SvDType dtype);

/* Fills t->shape/ndim/numel; returns FALSE (with error) on bad rank, negative
 * or overflowing sizes. */
gboolean sv_tensor_set_shape (SvTensor *t, int ndim, const int64_t *shape, GError **error);

/* A standalone tensor with its own storage, zero-initialised. */
SvTensor *sv_tensor_new (SvBackend *backend, SvDType dtype, int ndim, const int64_t *shape,
                         GError **error);
void sv_tensor_free (SvTensor *t);

/* A view of `t` with another shape of the same element count. */
gboolean sv_tensor_reshape (SvTensor *view, const SvTensor *t, int ndim, const int64_t *shape,
                            GError **error);

/* Views rows [start, start+count) along axis 0. */
gboolean sv_tensor_slice0 (SvTensor *view, const SvTensor *t, int64_t start, int64_t count,
                           GError **error);

/* Host pointer accessors (NULL on device tensors). */
static inline float *
sv_tensor_f32 (const SvTensor *t)
{
  return t ? (float *) t->data : NULL;
}

static inline int32_t *
sv_tensor_i32 (const SvTensor *t)
{
  return t ? (int32_t *) t->data : NULL;
}

/* Copies between host memory and a tensor of any backend. */
gboolean sv_tensor_upload (SvTensor *t, const void *src, size_t bytes, GError **error);
gboolean sv_tensor_download (const SvTensor *t, void *dst, size_t bytes, GError **error);
gboolean sv_tensor_zero (SvTensor *t, GError **error);

/* "[2, 3, 4]" into buf; returns buf. */
const char *sv_tensor_shape_str (const SvTensor *t, char *buf, size_t len);

/* Arena: activations/gradients of a pass allocated up front (llm.c style).
 * Plan phase: sv_arena_alloc() records sizes only (tensor->data stays NULL).
 * sv_arena_commit() makes one allocation and binds every planned tensor.
 * After commit, further sv_arena_alloc() calls fail. */
typedef struct _SvArena SvArena;

SvArena *sv_arena_new (SvBackend *backend);
gboolean sv_arena_alloc (SvArena *arena, SvTensor *t, SvDType dtype, int ndim, const int64_t *shape,
                         const char *name, GError **error);
gboolean sv_arena_commit (SvArena *arena, GError **error);
size_t sv_arena_bytes (const SvArena *arena);
/* Reusing memory while planning: the tensors planned after sv_arena_rewind (arena, mark)
 * start again at `mark` (from sv_arena_mark) and share memory with those planned after
 * it before, for tensors that are dead by the time the later ones are written (the
 * intermediates of one layer at inference, once the layer's output exists).
 * sv_arena_seal puts what comes next after everything planned so far. */
size_t sv_arena_mark (const SvArena *arena);
void sv_arena_rewind (SvArena *arena, size_t mark);
void sv_arena_seal (SvArena *arena);
/* Zero every tensor of the arena (e.g. gradients before a backward pass). */
gboolean sv_arena_zero (SvArena *arena, GError **error);
void sv_arena_free (SvArena *arena);

G_END_DECLS
