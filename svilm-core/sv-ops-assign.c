/* svilm-core ops: grouping assignment (shape and argument checks, then the backend). */
#include "sv-error.h"
#include "sv-ops.h"

#include <limits.h>
#include <math.h>

#define BE(t) ((t)->backend)

/* tau must be a positive finite number whose inverse is finite too */
static gboolean
check_tau (const char *op, float tau, float *inv_tau, GError **error)
{
  if (!(tau > 0.0f) || !isfinite (tau) || !isfinite (1.0f / tau)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: temperature tau must be a positive finite number, got %g", op, (double) tau);
    return FALSE;
  }
  *inv_tau = 1.0f / tau;
  return TRUE;
}

/* `t` must be [B, M, N]; returns the dims (each fitting an int) */
static gboolean
assign_dims (const char *op, const char *what, const SvTensor *t, int64_t shape[3], GError **error)
{
  if (t->ndim != 3) {
    char s[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s must be [batch, groups, tokens] (3 axes), got shape %s", op, what,
                 sv_tensor_shape_str (t, s, sizeof s));
    return FALSE;
  }
  for (int i = 0; i < 3; i++) {
    if (t->shape[i] > INT_MAX) {
      g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                   "%s: %s axis %d is too large (%" G_GINT64_FORMAT ")", op, what, i, t->shape[i]);
      return FALSE;
    }
    shape[i] = t->shape[i];
  }
  return TRUE;
}

gboolean
sv_assign_forward (SvTensor *out, SvTensor *y, SvTensor *denom, const SvTensor *logits,
                   const SvTensor *noise, float tau, gboolean hard, GError **error)
{
  const char *op = "assign";
  float inv_tau;
  int64_t s[3];
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (y, op, "y", error) ||
      !sv_check_f32 (denom, op, "denom", error) || !sv_check_f32 (logits, op, "logits", error) ||
      (noise && !sv_check_f32 (noise, op, "noise", error)))
    return FALSE;
  if (!check_tau (op, tau, &inv_tau, error) || !assign_dims (op, "logits", logits, s, error))
    return FALSE;
  if (!sv_check_shape (out, op, "out", 3, s, error) || !sv_check_shape (y, op, "y", 3, s, error) ||
      !sv_check_shape (denom, op, "denom", 2, s, error) ||
      (noise && !sv_check_shape (noise, op, "noise", 3, s, error)))
    return FALSE;
  if (!sv_check_same_backend (op, error, out, y, denom, logits, noise ? noise : logits, NULL))
    return FALSE;
  BE (out)->klass->assign_forward (BE (out), out, y, denom, logits, noise, (int) s[0], (int) s[1],
                                   (int) s[2], inv_tau, hard);
  return TRUE;
}

gboolean
sv_assign_backward (SvTensor *dlogits, SvTensor *scratch, const SvTensor *dout, const SvTensor *out,
                    const SvTensor *y, const SvTensor *denom, float tau, GError **error)
{
  const char *op = "assign backward";
  float inv_tau;
  int64_t s[3];
  if (!sv_check_f32 (dout, op, "dout", error) || !sv_check_f32 (out, op, "out", error) ||
      !sv_check_f32 (y, op, "y", error) || !sv_check_f32 (denom, op, "denom", error) ||
      (dlogits && !sv_check_f32 (dlogits, op, "dlogits", error)))
    return FALSE;
  if (!check_tau (op, tau, &inv_tau, error) || !assign_dims (op, "y", y, s, error))
    return FALSE;
  if (!sv_check_shape (dout, op, "dout", 3, s, error) ||
      !sv_check_shape (out, op, "out", 3, s, error) ||
      !sv_check_shape (denom, op, "denom", 2, s, error) ||
      (dlogits && !sv_check_shape (dlogits, op, "dlogits", 3, s, error)))
    return FALSE;
  if (!dlogits) /* nothing to compute */
    return sv_check_same_backend (op, error, dout, out, y, denom, NULL);
  if (!sv_check_f32 (scratch, op, "scratch", error))
    return FALSE;
  if (scratch->numel < (size_t) (s[0] * s[1])) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: scratch has shape %s (%zu elements), needs at least batch * groups = "
                 "%" G_GINT64_FORMAT,
                 op, sv_tensor_shape_str (scratch, a, sizeof a), scratch->numel, s[0] * s[1]);
    return FALSE;
  }
  if (!sv_check_same_backend (op, error, dout, out, y, denom, dlogits, scratch, NULL))
    return FALSE;
  BE (dout)->klass->assign_backward (BE (dout), dlogits, scratch, dout, out, y, denom, (int) s[0],
                                     (int) s[1], (int) s[2], inv_tau);
  return TRUE;
}
