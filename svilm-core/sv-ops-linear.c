/* svilm-core ops: linear and matmul (shape checks, then the backend). */
#include "sv-error.h"
#include "sv-ops.h"

#define BE(t) ((t)->backend)

gboolean
sv_linear_forward (SvTensor *out, const SvTensor *inp, const SvTensor *weight, const SvTensor *bias,
                   GError **error)
{
  const char *op = "linear";
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (inp, op, "input", error) ||
      !sv_check_f32 (weight, op, "weight", error) ||
      (bias && !sv_check_f32 (bias, op, "bias", error)))
    return FALSE;
  if (!sv_check_same_backend (op, error, out, inp, weight, bias, NULL))
    return FALSE;
  int64_t C = sv_tensor_last (inp), N = sv_tensor_rows (inp);
  if (weight->ndim != 2 || weight->shape[1] != C) {
    char a[96], b[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "linear: weight has shape %s but the input %s has %" G_GINT64_FORMAT
                 " features (weight must be [out, %" G_GINT64_FORMAT "])",
                 sv_tensor_shape_str (weight, a, sizeof a), sv_tensor_shape_str (inp, b, sizeof b),
                 C, C);
    return FALSE;
  }
  int64_t OC = weight->shape[0];
  if (bias && !sv_check_shape (bias, op, "bias", 1, &OC, error))
    return FALSE;
  if (sv_tensor_last (out) != OC || !sv_check_numel (out, op, "out", (size_t) (N * OC), error)) {
    if (error && !*error)
      g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                   "linear: out's last axis is %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT,
                   sv_tensor_last (out), OC);
    return FALSE;
  }
  BE (out)->klass->linear_forward (BE (out), out, inp, weight, bias, (int) N, (int) C, (int) OC);
  return TRUE;
}

gboolean
sv_linear_backward (SvTensor *dinp, SvTensor *dweight, SvTensor *dbias, const SvTensor *dout,
                    const SvTensor *inp, const SvTensor *weight, GError **error)
{
  const char *op = "linear backward";
  if (!sv_check_f32 (dout, op, "dout", error) || !sv_check_f32 (inp, op, "input", error) ||
      !sv_check_f32 (weight, op, "weight", error))
    return FALSE;
  int64_t C = sv_tensor_last (inp), N = sv_tensor_rows (inp);
  int64_t wshape[2] = { weight->shape[0], C };
  if (!sv_check_shape (weight, op, "weight", 2, wshape, error))
    return FALSE;
  int64_t OC = weight->shape[0];
  if (!sv_check_numel (dout, op, "dout", (size_t) (N * OC), error) ||
      (dinp && !sv_check_numel (dinp, op, "dinp", inp->numel, error)) ||
      (dweight && !sv_check_shape (dweight, op, "dweight", 2, wshape, error)) ||
      (dbias && !sv_check_shape (dbias, op, "dbias", 1, &OC, error)))
    return FALSE;
  if (!sv_check_same_backend (op, error, dout, inp, weight, dinp ? dinp : dout,
                              dweight ? dweight : dout, dbias ? dbias : dout, NULL))
    return FALSE;
  BE (dout)->klass->linear_backward (BE (dout), dinp, dweight, dbias, dout, inp, weight, (int) N,
                                     (int) C, (int) OC);
  return TRUE;
}

/* a [batch, r, c] or [r, c] -> batch, rows, cols */
static gboolean
mat_dims (const SvTensor *t, const char *op, const char *what, int64_t *batch, int64_t *r,
          int64_t *c, GError **error)
{
  if (t->ndim == 2) {
    *batch = 1;
    *r = t->shape[0];
    *c = t->shape[1];
    return TRUE;
  }
  if (t->ndim == 3) {
    *batch = t->shape[0];
    *r = t->shape[1];
    *c = t->shape[2];
    return TRUE;
  }
  g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s must have 2 or 3 axes, not %d", op, what,
               t->ndim);
  return FALSE;
}

static gboolean
matmul_dims (const char *op, const SvTensor *c, const SvTensor *a, const SvTensor *b,
             gboolean trans_a, gboolean trans_b, int *batch, int *M, int *N, int *K, GError **error)
{
  int64_t ba, ar, ac, bb, br, bc, bcc, cr, cc;
  if (!sv_check_f32 (c, op, "c", error) || !sv_check_f32 (a, op, "a", error) ||
      !sv_check_f32 (b, op, "b", error) || !mat_dims (a, op, "a", &ba, &ar, &ac, error) ||
      !mat_dims (b, op, "b", &bb, &br, &bc, error) || !mat_dims (c, op, "c", &bcc, &cr, &cc, error))
    return FALSE;
  int64_t m = trans_a ? ac : ar, ka = trans_a ? ar : ac;
  int64_t kb = trans_b ? bc : br, n = trans_b ? br : bc;
  if (ba != bb || ba != bcc || ka != kb || cr != m || cc != n) {
    char s1[96], s2[96], s3[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: shapes do not fit: a %s%s @ b %s%s -> c %s",
                 op, sv_tensor_shape_str (a, s1, sizeof s1), trans_a ? "^T" : "",
                 sv_tensor_shape_str (b, s2, sizeof s2), trans_b ? "^T" : "",
                 sv_tensor_shape_str (c, s3, sizeof s3));
    return FALSE;
  }
  *batch = (int) ba;
  *M = (int) m;
  *N = (int) n;
  *K = (int) ka;
  return sv_check_same_backend (op, error, c, a, b, NULL);
}

gboolean
sv_matmul_forward (SvTensor *c, const SvTensor *a, const SvTensor *b, gboolean trans_a,
                   gboolean trans_b, float alpha, GError **error)
{
  int batch, M, N, K;
  if (!matmul_dims ("matmul", c, a, b, trans_a, trans_b, &batch, &M, &N, &K, error))
    return FALSE;
  BE (c)->klass->matmul_forward (BE (c), c, a, b, batch, M, N, K, trans_a, trans_b, alpha);
  return TRUE;
}

gboolean
sv_matmul_backward (SvTensor *da, SvTensor *db, const SvTensor *dc, const SvTensor *a,
                    const SvTensor *b, gboolean trans_a, gboolean trans_b, float alpha,
                    GError **error)
{
  const char *op = "matmul backward";
  int batch, M, N, K;
  if (!matmul_dims (op, dc, a, b, trans_a, trans_b, &batch, &M, &N, &K, error))
    return FALSE;
  if ((da && !sv_check_numel (da, op, "da", a->numel, error)) ||
      (db && !sv_check_numel (db, op, "db", b->numel, error)))
    return FALSE;
  BE (dc)->klass->matmul_backward (BE (dc), da, db, dc, a, b, batch, M, N, K, trans_a, trans_b,
                                   alpha);
  return TRUE;
}
