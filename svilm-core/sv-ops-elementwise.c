/* svilm-core ops: GELU, broadcast add, scale (shape checks, then the backend).
 *
 * Forward outputs may be the same tensor as their (first) input, for in-place
 * updates such as the residual add out == a; a partial overlap between an output
 * and an input is refused, since the result would depend on the element order. */
#include "sv-error.h"
#include "sv-ops.h"

#include <math.h>

#define BE(t) ((t)->backend)

/* TRUE when out and in share bytes, other than by being exactly the same
 * elements (when allow_same) */
static gboolean
overlaps (const SvTensor *out, const SvTensor *in, gboolean allow_same)
{
  if (!out->storage || out->storage != in->storage || out->numel == 0 || in->numel == 0)
    return FALSE;
  size_t o0 = out->offset, o1 = o0 + out->numel * sv_dtype_size (out->dtype);
  size_t i0 = in->offset, i1 = i0 + in->numel * sv_dtype_size (in->dtype);
  if (o1 <= i0 || i1 <= o0)
    return FALSE;
  return !(allow_same && o0 == i0 && o1 == i1);
}

static gboolean
check_alias (const SvTensor *out, const SvTensor *in, gboolean allow_same, const char *op,
             const char *what_out, const char *what_in, GError **error)
{
  if (overlaps (out, in, allow_same)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 allow_same ? "%s: %s partially overlaps %s in memory (it may be the same "
                              "tensor, not a shifted view)"
                            : "%s: %s overlaps %s in memory",
                 op, what_out, what_in);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_alpha (float alpha, const char *op, GError **error)
{
  if (!isfinite (alpha)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "%s: alpha must be finite (got %g)", op,
                 (double) alpha);
    return FALSE;
  }
  return TRUE;
}

/* ---- GELU ---- */

gboolean
sv_gelu_forward (SvTensor *out, const SvTensor *inp, GError **error)
{
  const char *op = "gelu";
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (inp, op, "input", error) ||
      !sv_check_shape (out, op, "out", inp->ndim, inp->shape, error) ||
      !sv_check_same_backend (op, error, out, inp, NULL) ||
      !check_alias (out, inp, TRUE, op, "out", "the input", error))
    return FALSE;
  BE (out)->klass->gelu_forward (BE (out), out, inp, inp->numel);
  return TRUE;
}

gboolean
sv_gelu_backward (SvTensor *dinp, const SvTensor *dout, const SvTensor *inp, GError **error)
{
  const char *op = "gelu backward";
  if (!sv_check_f32 (dout, op, "dout", error) || !sv_check_f32 (inp, op, "input", error) ||
      !sv_check_shape (dout, op, "dout", inp->ndim, inp->shape, error))
    return FALSE;
  if (!dinp)
    return TRUE;
  if (!sv_check_f32 (dinp, op, "dinp", error) ||
      !sv_check_shape (dinp, op, "dinp", inp->ndim, inp->shape, error) ||
      !sv_check_same_backend (op, error, dinp, dout, inp, NULL))
    return FALSE;
  BE (dinp)->klass->gelu_backward (BE (dinp), dinp, dout, inp, inp->numel);
  return TRUE;
}

/* ---- add with broadcast ---- */

/* b's shape must equal the last b->ndim axes of `full`'s shape; gives
 * outer = product of the leading axes and inner = b's element count */
static gboolean
add_dims (const SvTensor *full, const SvTensor *b, const char *op, const char *what_full,
          const char *what_b, size_t *outer, size_t *inner, GError **error)
{
  int lead = full->ndim - b->ndim;
  gboolean ok = lead >= 0;
  for (int i = 0; ok && i < b->ndim; i++)
    ok = b->shape[i] == full->shape[lead + i];
  if (!ok) {
    char s1[96], s2[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, which is not the trailing axes of %s's shape %s", op, what_b,
                 sv_tensor_shape_str (b, s1, sizeof s1), what_full,
                 sv_tensor_shape_str (full, s2, sizeof s2));
    return FALSE;
  }
  size_t o = 1;
  for (int i = 0; i < lead; i++)
    o *= (size_t) full->shape[i];
  *outer = o;
  *inner = b->numel;
  return TRUE;
}

gboolean
sv_add_forward (SvTensor *out, const SvTensor *a, const SvTensor *b, GError **error)
{
  const char *op = "add";
  size_t outer, inner;
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (a, op, "a", error) ||
      !sv_check_f32 (b, op, "b", error) || !add_dims (a, b, op, "a", "b", &outer, &inner, error) ||
      !sv_check_shape (out, op, "out", a->ndim, a->shape, error) ||
      !sv_check_same_backend (op, error, out, a, b, NULL) ||
      !check_alias (out, a, TRUE, op, "out", "a", error) ||
      /* out may be b itself only when b is not broadcast (elementwise add) */
      !check_alias (out, b, outer == 1, op, "out", "b", error))
    return FALSE;
  BE (out)->klass->add_forward (BE (out), out, a, b, outer, inner);
  return TRUE;
}

gboolean
sv_add_backward (SvTensor *da, SvTensor *db, const SvTensor *dout, GError **error)
{
  const char *op = "add backward";
  size_t outer = 1, inner = 0;
  if (!sv_check_f32 (dout, op, "dout", error) || (da && !sv_check_f32 (da, op, "da", error)) ||
      (db && !sv_check_f32 (db, op, "db", error)))
    return FALSE;
  if (da && !sv_check_shape (da, op, "da", dout->ndim, dout->shape, error))
    return FALSE;
  if (db) {
    if (!add_dims (dout, db, op, "dout", "db", &outer, &inner, error))
      return FALSE;
  } else {
    inner = dout->numel; /* only da += dout: one row */
  }
  if (!sv_check_same_backend (op, error, dout, da ? da : dout, db ? db : dout, NULL))
    return FALSE;
  if (!da && !db)
    return TRUE;
  BE (dout)->klass->add_backward (BE (dout), da, db, dout, outer, inner);
  return TRUE;
}

/* ---- scale ---- */

gboolean
sv_scale_forward (SvTensor *out, const SvTensor *inp, float alpha, GError **error)
{
  const char *op = "scale";
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (inp, op, "input", error) ||
      !check_alpha (alpha, op, error) ||
      !sv_check_shape (out, op, "out", inp->ndim, inp->shape, error) ||
      !sv_check_same_backend (op, error, out, inp, NULL) ||
      !check_alias (out, inp, TRUE, op, "out", "the input", error))
    return FALSE;
  BE (out)->klass->scale_forward (BE (out), out, inp, alpha, inp->numel);
  return TRUE;
}

gboolean
sv_scale_backward (SvTensor *dinp, const SvTensor *dout, float alpha, GError **error)
{
  const char *op = "scale backward";
  if (!sv_check_f32 (dout, op, "dout", error) || !check_alpha (alpha, op, error))
    return FALSE;
  if (!dinp)
    return TRUE;
  if (!sv_check_f32 (dinp, op, "dinp", error) ||
      !sv_check_shape (dinp, op, "dinp", dout->ndim, dout->shape, error) ||
      !sv_check_same_backend (op, error, dinp, dout, NULL))
    return FALSE;
  BE (dinp)->klass->scale_backward (BE (dinp), dinp, dout, alpha, dout->numel);
  return TRUE;
}
