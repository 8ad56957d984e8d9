/* svilm-core: operand checks shared by the ops. */
#include "sv-error.h"
#include "sv-ops.h"

#include <stdarg.h>

gboolean
sv_check_f32 (const SvTensor *t, const char *op, const char *what, GError **error)
{
  if (!t) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "%s: %s is required", op, what);
    return FALSE;
  }
  if (t->dtype != SV_F32) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "%s: %s must be float32", op, what);
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_check_same_backend (const char *op, GError **error, const SvTensor *first, ...)
{
  va_list ap;
  gboolean ok = TRUE;
  va_start (ap, first);
  for (const SvTensor *t = va_arg (ap, const SvTensor *); t; t = va_arg (ap, const SvTensor *)) {
    if (t->backend != first->backend) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                   "%s: operands live on different backends (%s and %s)", op,
                   first->backend->klass->name, t->backend->klass->name);
      ok = FALSE;
      break;
    }
  }
  va_end (ap);
  return ok;
}

gboolean
sv_check_shape (const SvTensor *t, const char *op, const char *what, int ndim, const int64_t *shape,
                GError **error)
{
  gboolean ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++)
    ok = t->shape[i] == shape[i];
  if (!ok) {
    SvTensor want = { 0 };
    char a[96], b[96];
    want.ndim = ndim;
    for (int i = 0; i < ndim; i++)
      want.shape[i] = shape[i];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s has shape %s, expected %s", op, what,
                 sv_tensor_shape_str (t, a, sizeof a), sv_tensor_shape_str (&want, b, sizeof b));
  }
  return ok;
}

gboolean
sv_check_numel (const SvTensor *t, const char *op, const char *what, size_t numel, GError **error)
{
  if (t->numel != numel) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s (%zu elements), expected %zu elements", op, what,
                 sv_tensor_shape_str (t, a, sizeof a), t->numel, numel);
    return FALSE;
  }
  return TRUE;
}

int64_t
sv_tensor_last (const SvTensor *t)
{
  return t->ndim ? t->shape[t->ndim - 1] : 1;
}

int64_t
sv_tensor_rows (const SvTensor *t)
{
  int64_t c = sv_tensor_last (t);
  return c ? (int64_t) t->numel / c : 0;
}
