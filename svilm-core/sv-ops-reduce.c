/* svilm-core ops: mean over axes, L2 normalisation and cosine similarity
 * (shape and argument checks, then the backend).
 *
 * Shapes accepted:
 * - mean: inp of any rank (<= SV_MAX_DIMS), axes_mask any subset of its axes (0 =
 *   copy, all = a single value).  out may be
 *     (a) the kept axes exactly, e.g. [B, Nt, H, W, D] with mask 0b01100 -> [B, Nt, D]
 *         (rank 0 when every axis is reduced),
 *     (b) keepdim form: inp's shape with the reduced axes set to 1, e.g. [B, Nt, 1, 1, D],
 *     (c) flattened: 1-D with the kept element count, e.g. [B*Nt*D] (or [1]).
 *   A reduced axis of size 0 is an error (the mean of nothing).
 * - l2norm: inp [..., C]; out with inp's element count and last axis C; norm with
 *   N = numel / C elements; eps > 0.
 * - cosine_sim: a [batch, Na, C] (or [Na, C]: batch 1), b [batch, Nb, C];
 *   sim [batch, Na, Nb] (or [Na, Nb] when batch is 1); an, bn with a's / b's element
 *   count and last axis C; anorm, bnorm with batch*Na / batch*Nb elements; backward
 *   scratch with at least batch*(Na+Nb)*C elements (its contents are overwritten).
 */
#include "sv-error.h"
#include "sv-ops.h"

#include <math.h>

#define BE(t) ((t)->backend)

/* ---- mean ---- */

/* checks the mask against `full` (the un-reduced tensor) and `red` (the reduced one) */
static gboolean
mean_check (const char *op, const SvTensor *full, const char *full_what, const SvTensor *red,
            const char *red_what, unsigned axes_mask, GError **error)
{
  char a[96], b[96], c[96];
  if (full->ndim < 32 && (axes_mask >> full->ndim) != 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: axes mask 0x%x names an axis beyond the %d axes of %s %s", op, axes_mask,
                 full->ndim, full_what, sv_tensor_shape_str (full, a, sizeof a));
    return FALSE;
  }
  SvTensor kept = { 0 }, keepdim = { 0 };
  size_t out_n = 1;
  keepdim.ndim = full->ndim;
  for (int i = 0; i < full->ndim; i++) {
    if ((axes_mask >> i) & 1u) {
      if (full->shape[i] == 0) {
        g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                     "%s: cannot average over axis %d of %s %s, which is empty", op, i, full_what,
                     sv_tensor_shape_str (full, a, sizeof a));
        return FALSE;
      }
      keepdim.shape[i] = 1;
    } else {
      kept.shape[kept.ndim++] = full->shape[i];
      keepdim.shape[i] = full->shape[i];
      out_n *= (size_t) full->shape[i];
    }
  }
  gboolean ok = red->numel == out_n;
  if (ok) {
    gboolean same_kept = red->ndim == kept.ndim, same_keepdim = red->ndim == keepdim.ndim;
    for (int i = 0; i < red->ndim; i++) {
      same_kept = same_kept && red->shape[i] == kept.shape[i];
      same_keepdim = same_keepdim && red->shape[i] == keepdim.shape[i];
    }
    ok = same_kept || same_keepdim || red->ndim == 1;
  }
  if (!ok) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, expected %s (the axes of %s %s not in mask 0x%x; "
                 "keepdim or flattened [%zu] also accepted)",
                 op, red_what, sv_tensor_shape_str (red, a, sizeof a),
                 sv_tensor_shape_str (&kept, b, sizeof b), full_what,
                 sv_tensor_shape_str (full, c, sizeof c), axes_mask, out_n);
  }
  return ok;
}

gboolean
sv_mean_forward (SvTensor *out, const SvTensor *inp, unsigned axes_mask, GError **error)
{
  const char *op = "mean";
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (inp, op, "input", error) ||
      !sv_check_same_backend (op, error, out, inp, NULL) ||
      !mean_check (op, inp, "input", out, "out", axes_mask, error))
    return FALSE;
  BE (out)->klass->mean_forward (BE (out), out, inp, inp->shape, inp->ndim, axes_mask);
  return TRUE;
}

gboolean
sv_mean_backward (SvTensor *dinp, const SvTensor *dout, unsigned axes_mask, GError **error)
{
  const char *op = "mean backward";
  if (!sv_check_f32 (dout, op, "dout", error))
    return FALSE;
  if (!dinp)
    return TRUE;
  if (!sv_check_f32 (dinp, op, "dinp", error) ||
      !sv_check_same_backend (op, error, dinp, dout, NULL) ||
      !mean_check (op, dinp, "dinp", dout, "dout", axes_mask, error))
    return FALSE;
  BE (dinp)->klass->mean_backward (BE (dinp), dinp, dout, dinp->shape, dinp->ndim, axes_mask);
  return TRUE;
}

/* ---- l2norm ---- */

static gboolean
check_eps (float eps, const char *op, GError **error)
{
  if (!(eps > 0.0f) || !isfinite (eps)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "%s: eps must be positive and finite, not %g",
                 op, (double) eps);
    return FALSE;
  }
  return TRUE;
}

/* t has `numel` elements and last axis C */
static gboolean
check_like (const SvTensor *t, const char *op, const char *what, size_t numel, int64_t C,
            GError **error)
{
  if (!sv_check_f32 (t, op, what, error) || !sv_check_numel (t, op, what, numel, error))
    return FALSE;
  if (sv_tensor_last (t) != C) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, expected a last axis of %" G_GINT64_FORMAT, op, what,
                 sv_tensor_shape_str (t, a, sizeof a), C);
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_l2norm_forward (SvTensor *out, SvTensor *norm, const SvTensor *inp, float eps, GError **error)
{
  const char *op = "l2norm";
  if (!check_eps (eps, op, error) || !sv_check_f32 (inp, op, "input", error))
    return FALSE;
  int64_t C = sv_tensor_last (inp), N = sv_tensor_rows (inp);
  if (!check_like (out, op, "out", inp->numel, C, error) ||
      !sv_check_f32 (norm, op, "norm", error) ||
      !sv_check_numel (norm, op, "norm", (size_t) N, error) ||
      !sv_check_same_backend (op, error, out, norm, inp, NULL))
    return FALSE;
  BE (out)->klass->l2norm_forward (BE (out), out, norm, inp, (int) N, (int) C, eps);
  return TRUE;
}

gboolean
sv_l2norm_backward (SvTensor *dinp, const SvTensor *dout, const SvTensor *out, const SvTensor *norm,
                    float eps, GError **error)
{
  const char *op = "l2norm backward";
  if (!check_eps (eps, op, error) || !sv_check_f32 (out, op, "out", error))
    return FALSE;
  int64_t C = sv_tensor_last (out), N = sv_tensor_rows (out);
  if (!check_like (dout, op, "dout", out->numel, C, error) ||
      !sv_check_f32 (norm, op, "norm", error) ||
      !sv_check_numel (norm, op, "norm", (size_t) N, error) ||
      (dinp && !check_like (dinp, op, "dinp", out->numel, C, error)) ||
      !sv_check_same_backend (op, error, dout, out, norm, dinp ? dinp : dout, NULL))
    return FALSE;
  if (dinp)
    BE (dinp)->klass->l2norm_backward (BE (dinp), dinp, dout, out, norm, (int) N, (int) C, eps);
  return TRUE;
}

/* ---- cosine similarity ---- */

/* [batch, r, c] or [r, c] (batch 1) */
static gboolean
mat_dims (const SvTensor *t, const char *op, const char *what, int64_t *batch, int64_t *r,
          int64_t *c, GError **error)
{
  if (!sv_check_f32 (t, op, what, error))
    return FALSE;
  if (t->ndim == 2 || t->ndim == 3) {
    *batch = t->ndim == 3 ? t->shape[0] : 1;
    *r = t->shape[t->ndim - 2];
    *c = t->shape[t->ndim - 1];
    return TRUE;
  }
  char a[96];
  g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
               "%s: %s has shape %s, expected [batch, rows, C] or [rows, C]", op, what,
               sv_tensor_shape_str (t, a, sizeof a));
  return FALSE;
}

/* a-like and b-like operands -> batch, Na, Nb, C */
static gboolean
cos_dims (const char *op, const SvTensor *a, const char *a_what, const SvTensor *b,
          const char *b_what, int64_t *batch, int64_t *Na, int64_t *Nb, int64_t *C, GError **error)
{
  int64_t bb, cb;
  if (!mat_dims (a, op, a_what, batch, Na, C, error) ||
      !mat_dims (b, op, b_what, &bb, Nb, &cb, error))
    return FALSE;
  if (bb != *batch || cb != *C) {
    char s1[96], s2[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s %s and %s %s differ in batch or feature size", op, a_what,
                 sv_tensor_shape_str (a, s1, sizeof s1), b_what,
                 sv_tensor_shape_str (b, s2, sizeof s2));
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_sim (const SvTensor *sim, const char *op, const char *what, int64_t batch, int64_t Na,
           int64_t Nb, GError **error)
{
  int64_t sb, sr, sc;
  if (!mat_dims (sim, op, what, &sb, &sr, &sc, error))
    return FALSE;
  if (sb != batch || sr != Na || sc != Nb) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, expected [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT "]",
                 op, what, sv_tensor_shape_str (sim, a, sizeof a), batch, Na, Nb);
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_cosine_sim_forward (SvTensor *sim, SvTensor *an, SvTensor *bn, SvTensor *anorm, SvTensor *bnorm,
                       const SvTensor *a, const SvTensor *b, float eps, GError **error)
{
  const char *op = "cosine similarity";
  int64_t batch, Na, Nb, C;
  if (!check_eps (eps, op, error) || !cos_dims (op, a, "a", b, "b", &batch, &Na, &Nb, &C, error) ||
      !check_sim (sim, op, "sim", batch, Na, Nb, error) ||
      !check_like (an, op, "an", a->numel, C, error) ||
      !check_like (bn, op, "bn", b->numel, C, error) || !sv_check_f32 (anorm, op, "anorm", error) ||
      !sv_check_numel (anorm, op, "anorm", (size_t) (batch * Na), error) ||
      !sv_check_f32 (bnorm, op, "bnorm", error) ||
      !sv_check_numel (bnorm, op, "bnorm", (size_t) (batch * Nb), error) ||
      !sv_check_same_backend (op, error, sim, an, bn, anorm, bnorm, a, b, NULL))
    return FALSE;
  BE (sim)->klass->cosine_sim_forward (BE (sim), sim, an, bn, anorm, bnorm, a, b, (int) batch,
                                       (int) Na, (int) Nb, (int) C, eps);
  return TRUE;
}

gboolean
sv_cosine_sim_backward (SvTensor *da, SvTensor *db, SvTensor *scratch, const SvTensor *dsim,
                        const SvTensor *an, const SvTensor *bn, const SvTensor *anorm,
                        const SvTensor *bnorm, float eps, GError **error)
{
  const char *op = "cosine similarity backward";
  int64_t batch, Na, Nb, C;
  if (!check_eps (eps, op, error) ||
      !cos_dims (op, an, "an", bn, "bn", &batch, &Na, &Nb, &C, error) ||
      !check_sim (dsim, op, "dsim", batch, Na, Nb, error) ||
      !sv_check_f32 (anorm, op, "anorm", error) ||
      !sv_check_numel (anorm, op, "anorm", (size_t) (batch * Na), error) ||
      !sv_check_f32 (bnorm, op, "bnorm", error) ||
      !sv_check_numel (bnorm, op, "bnorm", (size_t) (batch * Nb), error) ||
      (da && !check_like (da, op, "da", an->numel, C, error)) ||
      (db && !check_like (db, op, "db", bn->numel, C, error)))
    return FALSE;
  if (!da && !db)
    return TRUE;
  size_t need = (size_t) batch * (size_t) (Na + Nb) * (size_t) C;
  if (!sv_check_f32 (scratch, op, "scratch", error))
    return FALSE;
  if (scratch->numel < need) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: scratch has %zu elements, needs at least batch*(Na+Nb)*C = %zu", op,
                 scratch->numel, need);
    return FALSE;
  }
  if (!sv_check_same_backend (op, error, dsim, an, bn, anorm, bnorm, scratch, da ? da : dsim,
                              db ? db : dsim, NULL))
    return FALSE;
  BE (dsim)->klass->cosine_sim_backward (BE (dsim), da, db, scratch, dsim, an, bn, anorm, bnorm,
                                         (int) batch, (int) Na, (int) Nb, (int) C, eps);
  return TRUE;
}
