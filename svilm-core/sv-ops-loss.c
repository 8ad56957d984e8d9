/* svilm-core ops: losses (shape checks, then the backend). */
#include "sv-error.h"
#include "sv-ops.h"

#include <limits.h>

#define BE(t) ((t)->backend)

/* rows N and classes C of t[..., C], both fitting an int */
static gboolean
xent_dims (const char *op, const char *what, const SvTensor *t, int *N, int *C, GError **error)
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
sv_softmax_xent_forward (SvTensor *loss, SvTensor *probs, const SvTensor *logits,
                         const SvTensor *targets, GError **error)
{
  const char *op = "softmax_xent";
  int N, C;
  if (!sv_check_f32 (loss, op, "loss", error) || !sv_check_f32 (probs, op, "probs", error) ||
      !sv_check_f32 (logits, op, "logits", error) || !sv_check_f32 (targets, op, "targets", error))
    return FALSE;
  if (!xent_dims (op, "logits", logits, &N, &C, error) ||
      !sv_check_shape (targets, op, "targets", logits->ndim, logits->shape, error) ||
      !sv_check_numel (probs, op, "probs", logits->numel, error) ||
      !sv_check_numel (loss, op, "loss", 1, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, loss, probs, logits, targets, NULL))
    return FALSE;
  BE (loss)->klass->softmax_xent_forward (BE (loss), loss, probs, logits, targets, N, C);
  return TRUE;
}

gboolean
sv_softmax_xent_backward (SvTensor *dlogits, const SvTensor *dloss, const SvTensor *probs,
                          const SvTensor *targets, GError **error)
{
  const char *op = "softmax_xent backward";
  int N, C;
  if (!sv_check_f32 (dloss, op, "dloss", error) || !sv_check_f32 (probs, op, "probs", error) ||
      !sv_check_f32 (targets, op, "targets", error) ||
      (dlogits && !sv_check_f32 (dlogits, op, "dlogits", error)))
    return FALSE;
  if (!xent_dims (op, "targets", targets, &N, &C, error) ||
      !sv_check_numel (probs, op, "probs", targets->numel, error) ||
      !sv_check_numel (dloss, op, "dloss", 1, error) ||
      (dlogits && !sv_check_numel (dlogits, op, "dlogits", targets->numel, error)))
    return FALSE;
  if (!sv_check_same_backend (op, error, dloss, probs, targets, dlogits ? dlogits : dloss, NULL))
    return FALSE;
  if (dlogits)
    BE (dloss)->klass->softmax_xent_backward (BE (dloss), dlogits, dloss, probs, targets, N, C);
  return TRUE;
}

gboolean
sv_mse_forward (SvTensor *loss, const SvTensor *a, const SvTensor *b, GError **error)
{
  const char *op = "mse";
  if (!sv_check_f32 (loss, op, "loss", error) || !sv_check_f32 (a, op, "a", error) ||
      !sv_check_f32 (b, op, "b", error))
    return FALSE;
  if (!sv_check_shape (b, op, "b", a->ndim, a->shape, error) ||
      !sv_check_numel (loss, op, "loss", 1, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, loss, a, b, NULL))
    return FALSE;
  BE (loss)->klass->mse_forward (BE (loss), loss, a, b, a->numel);
  return TRUE;
}

gboolean
sv_mse_backward (SvTensor *da, SvTensor *db, const SvTensor *dloss, const SvTensor *a,
                 const SvTensor *b, GError **error)
{
  const char *op = "mse backward";
  if (!sv_check_f32 (dloss, op, "dloss", error) || !sv_check_f32 (a, op, "a", error) ||
      !sv_check_f32 (b, op, "b", error) || (da && !sv_check_f32 (da, op, "da", error)) ||
      (db && !sv_check_f32 (db, op, "db", error)))
    return FALSE;
  if (!sv_check_shape (b, op, "b", a->ndim, a->shape, error) ||
      !sv_check_numel (dloss, op, "dloss", 1, error) ||
      (da && !sv_check_numel (da, op, "da", a->numel, error)) ||
      (db && !sv_check_numel (db, op, "db", b->numel, error)))
    return FALSE;
  if (!sv_check_same_backend (op, error, dloss, a, b, da ? da : dloss, db ? db : dloss, NULL))
    return FALSE;
  if (da || db)
    BE (dloss)->klass->mse_backward (BE (dloss), da, db, dloss, a, b, a->numel);
  return TRUE;
}
