/* svilm-core ops: softmax with temperature and optional mask (checks, then the backend). */
#include "sv-error.h"
#include "sv-ops.h"

#include <limits.h>
#include <math.h>

#define BE(t) ((t)->backend)

/* temperature > 0 and finite, and 1/temperature finite too (no denormals) */
static gboolean
check_temperature (const char *op, float temperature, GError **error)
{
  if (!(temperature > 0.0f) || !isfinite (temperature) || !isfinite (1.0f / temperature)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: temperature must be positive and finite, with a finite inverse (got %g)", op,
                 (double) temperature);
    return FALSE;
  }
  return TRUE;
}

/* rows N and last axis C of t, both within int range for the kernels */
static gboolean
softmax_dims (const SvTensor *t, const char *op, const char *what, int *N, int *C, GError **error)
{
  int64_t c = sv_tensor_last (t), n = sv_tensor_rows (t);
  if (c > INT_MAX || n > INT_MAX) {
    char s[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s of shape %s is too large", op, what,
                 sv_tensor_shape_str (t, s, sizeof s));
    return FALSE;
  }
  *N = (int) n;
  *C = (int) c;
  return TRUE;
}

gboolean
sv_softmax_forward (SvTensor *out, const SvTensor *inp, const SvTensor *mask, float temperature,
                    GError **error)
{
  const char *op = "softmax";
  int N, C;
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (inp, op, "input", error) ||
      (mask && !sv_check_f32 (mask, op, "mask", error)))
    return FALSE;
  if (!check_temperature (op, temperature, error))
    return FALSE;
  if (!sv_check_shape (out, op, "out", inp->ndim, inp->shape, error) ||
      (mask && !sv_check_shape (mask, op, "mask", inp->ndim, inp->shape, error)))
    return FALSE;
  if (!softmax_dims (inp, op, "input", &N, &C, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, out, inp, mask ? mask : inp, NULL))
    return FALSE;
  BE (out)->klass->softmax_forward (BE (out), out, inp, mask, N, C, 1.0f / temperature);
  return TRUE;
}

gboolean
sv_softmax_backward (SvTensor *dinp, const SvTensor *dout, const SvTensor *out, float temperature,
                     GError **error)
{
  const char *op = "softmax backward";
  int N, C;
  if (!sv_check_f32 (dout, op, "dout", error) || !sv_check_f32 (out, op, "out", error) ||
      (dinp && !sv_check_f32 (dinp, op, "dinp", error)))
    return FALSE;
  if (!check_temperature (op, temperature, error))
    return FALSE;
  if (!sv_check_shape (dout, op, "dout", out->ndim, out->shape, error) ||
      (dinp && !sv_check_shape (dinp, op, "dinp", out->ndim, out->shape, error)))
    return FALSE;
  if (!softmax_dims (out, op, "out", &N, &C, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, dout, out, dinp ? dinp : dout, NULL))
    return FALSE;
  if (!dinp)
    return TRUE;
  BE (dout)->klass->softmax_backward (BE (dout), dinp, dout, out, N, C, 1.0f / temperature);
  return TRUE;
}
