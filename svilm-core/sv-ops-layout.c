/* svilm-core ops: layout changes. */
#include "sv-error.h"
#include "sv-ops.h"

static gboolean
transpose_dims (const char *op, const SvTensor *out, const SvTensor *inp, int axis, int *A, int *R,
                int *C, int *E, GError **error)
{
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (inp, op, "input", error))
    return FALSE;
  if (axis < 0 || axis + 1 >= inp->ndim) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: cannot swap axes %d and %d of a tensor with %d axes", op, axis, axis + 1,
                 inp->ndim);
    return FALSE;
  }
  int64_t want[SV_MAX_DIMS];
  int64_t a = 1, e = 1;
  for (int i = 0; i < inp->ndim; i++) {
    want[i] = inp->shape[i];
    if (i < axis)
      a *= inp->shape[i];
    if (i > axis + 1)
      e *= inp->shape[i];
  }
  want[axis] = inp->shape[axis + 1];
  want[axis + 1] = inp->shape[axis];
  if (!sv_check_shape (out, op, "out", inp->ndim, want, error) ||
      !sv_check_same_backend (op, error, out, inp, NULL))
    return FALSE;
  *A = (int) a;
  *R = (int) inp->shape[axis];
  *C = (int) inp->shape[axis + 1];
  *E = (int) e;
  return TRUE;
}

gboolean
sv_transpose_forward (SvTensor *out, const SvTensor *inp, int axis, GError **error)
{
  int A, R, C, E;
  if (!transpose_dims ("transpose", out, inp, axis, &A, &R, &C, &E, error))
    return FALSE;
  out->backend->klass->transpose_forward (out->backend, out, inp, A, R, C, E);
  return TRUE;
}

gboolean
sv_transpose_backward (SvTensor *dinp, const SvTensor *dout, int axis, GError **error)
{
  /* dinp has the input's shape: dout's axes swapped back */
  int A, R, C, E;
  if (!transpose_dims ("transpose backward", dout, dinp, axis, &A, &R, &C, &E, error))
    return FALSE;
  dinp->backend->klass->transpose_backward (dinp->backend, dinp, dout, A, R, C, E);
  return TRUE;
}
