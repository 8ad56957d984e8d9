/* svilm-core ops: layernorm over the last axis (shape checks, then the backend). */
#include "sv-error.h"
#include "sv-ops.h"

#include <math.h>

#define BE(t) ((t)->backend)

/* inp [..., C] with C >= 1: gives N (rows) and C */
static gboolean
ln_dims (const SvTensor *inp, const char *op, int64_t *N, int64_t *C, GError **error)
{
  if (inp->ndim < 1) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: input must have at least one axis", op);
    return FALSE;
  }
  *C = sv_tensor_last (inp);
  if (*C < 1) {
    char s[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: input %s has an empty last axis (nothing to normalise)", op,
                 sv_tensor_shape_str (inp, s, sizeof s));
    return FALSE;
  }
  *N = sv_tensor_rows (inp);
  return TRUE;
}

gboolean
sv_layernorm_forward (SvTensor *out, SvTensor *mean, SvTensor *rstd, const SvTensor *inp,
                      const SvTensor *weight, const SvTensor *bias, float eps, GError **error)
{
  const char *op = "layernorm";
  int64_t N, C;
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (mean, op, "mean", error) ||
      !sv_check_f32 (rstd, op, "rstd", error) || !sv_check_f32 (inp, op, "input", error) ||
      !sv_check_f32 (weight, op, "weight", error) ||
      (bias && !sv_check_f32 (bias, op, "bias", error)))
    return FALSE;
  if (!(eps > 0.0f) || !isfinite (eps)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "layernorm: eps must be positive and finite (got %g)", (double) eps);
    return FALSE;
  }
  if (!ln_dims (inp, op, &N, &C, error) ||
      !sv_check_shape (out, op, "out", inp->ndim, inp->shape, error) ||
      !sv_check_shape (weight, op, "weight", 1, &C, error) ||
      (bias && !sv_check_shape (bias, op, "bias", 1, &C, error)) ||
      !sv_check_numel (mean, op, "mean", (size_t) N, error) ||
      !sv_check_numel (rstd, op, "rstd", (size_t) N, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, out, mean, rstd, inp, weight, bias ? bias : out, NULL))
    return FALSE;
  BE (out)->klass->layernorm_forward (BE (out), out, mean, rstd, inp, weight, bias, (int) N,
                                      (int) C, eps);
  return TRUE;
}

gboolean
sv_layernorm_backward (SvTensor *dinp, SvTensor *dweight, SvTensor *dbias, const SvTensor *dout,
                       const SvTensor *inp, const SvTensor *weight, const SvTensor *mean,
                       const SvTensor *rstd, GError **error)
{
  const char *op = "layernorm backward";
  int64_t N, C;
  if (!sv_check_f32 (dout, op, "dout", error) || !sv_check_f32 (inp, op, "input", error) ||
      !sv_check_f32 (weight, op, "weight", error) || !sv_check_f32 (mean, op, "mean", error) ||
      !sv_check_f32 (rstd, op, "rstd", error) ||
      (dinp && !sv_check_f32 (dinp, op, "dinp", error)) ||
      (dweight && !sv_check_f32 (dweight, op, "dweight", error)) ||
      (dbias && !sv_check_f32 (dbias, op, "dbias", error)))
    return FALSE;
  if (!ln_dims (inp, op, &N, &C, error) ||
      !sv_check_shape (dout, op, "dout", inp->ndim, inp->shape, error) ||
      !sv_check_shape (weight, op, "weight", 1, &C, error) ||
      !sv_check_numel (mean, op, "mean", (size_t) N, error) ||
      !sv_check_numel (rstd, op, "rstd", (size_t) N, error) ||
      (dinp && !sv_check_shape (dinp, op, "dinp", inp->ndim, inp->shape, error)) ||
      (dweight && !sv_check_shape (dweight, op, "dweight", 1, &C, error)) ||
      (dbias && !sv_check_shape (dbias, op, "dbias", 1, &C, error)))
    return FALSE;
  if (!sv_check_same_backend (op, error, dout, inp, weight, mean, rstd, dinp ? dinp : dout,
                              dweight ? dweight : dout, dbias ? dbias : dout, NULL))
    return FALSE;
  if (!dinp && !dweight && !dbias)
    return TRUE;
  BE (dout)->klass->layernorm_backward (BE (dout), dinp, dweight, dbias, dout, inp, weight, mean,
                                        rstd, (int) N, (int) C);
  return TRUE;
}
