/* svilm-core ops: embedding lookup, tubelet patchify and tubelet embedding
 * (shape and argument checks, then the backend).
 *
 * Shapes accepted:
 * - embedding: ids int32 of any shape [...], table [V, C]; out [..., C] (ids' shape
 *   plus C) or flattened [N, C] with N = number of ids.  Ids are checked to lie in
 *   [0, V) when they are host tensors (device ids cannot be read here).
 * - patchify: video [B, T, H, W, Cin]; patches [B, Np, K] or flattened [B*Np, K],
 *   Np = (T/pt)(H/p)(W/p), K = pt*p*p*Cin.
 * - tubelet embedding: as patchify, plus weight [D, K], bias [D] (or NULL) and
 *   out [B, Np, D] or [B*Np, D].  In the backward, dpatches (same shape as patches)
 *   is scratch: it is zeroed and overwritten, and only used when dvideo is wanted.
 */
#include "sv-error.h"
#include "sv-ops.h"

#define BE(t) ((t)->backend)

/* ---- embedding ---- */

static gboolean
check_ids (const SvTensor *ids, const char *op, GError **error)
{
  if (!ids) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "%s: ids are required", op);
    return FALSE;
  }
  if (ids->dtype != SV_I32) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "%s: ids must be int32", op);
    return FALSE;
  }
  return TRUE;
}

/* every id in [0, V) when readable from the host */
static gboolean
check_id_range (const SvTensor *ids, int64_t V, const char *op, GError **error)
{
  const int32_t *id = sv_tensor_i32 (ids);
  if (!id)
    return TRUE; /* device tensor: the kernel must not be given bad ids */
  for (size_t i = 0; i < ids->numel; i++) {
    if (id[i] < 0 || id[i] >= V) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                   "%s: id %d at position %zu is outside the table's rows [0, %" G_GINT64_FORMAT
                   ")",
                   op, (int) id[i], i, V);
      return FALSE;
    }
  }
  return TRUE;
}

/* t is [lead..., last] or the flattened [numel(lead), last] */
static gboolean
check_rows_of (const SvTensor *t, const char *op, const char *what, const SvTensor *lead,
               int64_t last, GError **error)
{
  gboolean ok = FALSE;
  if (t->ndim == lead->ndim + 1 && t->shape[t->ndim - 1] == last) {
    ok = TRUE;
    for (int i = 0; i < lead->ndim; i++)
      ok = ok && t->shape[i] == lead->shape[i];
  }
  if (!ok && t->ndim == 2 && t->shape[0] == (int64_t) lead->numel && t->shape[1] == last)
    ok = TRUE;
  if (!ok) {
    char a[96], b[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, expected the ids' shape %s followed by %" G_GINT64_FORMAT
                 " (or [%zu, %" G_GINT64_FORMAT "])",
                 op, what, sv_tensor_shape_str (t, a, sizeof a),
                 sv_tensor_shape_str (lead, b, sizeof b), last, lead->numel, last);
  }
  return ok;
}

static gboolean
check_table (const SvTensor *table, const char *op, const char *what, GError **error)
{
  if (!sv_check_f32 (table, op, what, error))
    return FALSE;
  if (table->ndim != 2) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s has shape %s, expected [V, C]", op, what,
                 sv_tensor_shape_str (table, a, sizeof a));
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_embedding_forward (SvTensor *out, const SvTensor *ids, const SvTensor *table, GError **error)
{
  const char *op = "embedding";
  if (!check_ids (ids, op, error) || !check_table (table, op, "table", error) ||
      !sv_check_f32 (out, op, "out", error))
    return FALSE;
  if (!sv_check_same_backend (op, error, out, ids, table, NULL))
    return FALSE;
  int64_t V = table->shape[0], C = table->shape[1];
  if (!check_rows_of (out, op, "out", ids, C, error) || !check_id_range (ids, V, op, error))
    return FALSE;
  BE (out)->klass->embedding_forward (BE (out), out, ids, table, (int) ids->numel, (int) V,
                                      (int) C);
  return TRUE;
}

gboolean
sv_embedding_backward (SvTensor *dtable, const SvTensor *dout, const SvTensor *ids, GError **error)
{
  const char *op = "embedding backward";
  if (!check_ids (ids, op, error) || !sv_check_f32 (dout, op, "dout", error))
    return FALSE;
  if (!dtable)
    return TRUE;
  if (!check_table (dtable, op, "dtable", error))
    return FALSE;
  if (!sv_check_same_backend (op, error, dtable, dout, ids, NULL))
    return FALSE;
  int64_t V = dtable->shape[0], C = dtable->shape[1];
  if (!check_rows_of (dout, op, "dout", ids, C, error) || !check_id_range (ids, V, op, error))
    return FALSE;
  BE (dtable)->klass->embedding_backward (BE (dtable), dtable, dout, ids, (int) ids->numel, (int) V,
                                          (int) C);
  return TRUE;
}

/* ---- patchify ---- */

typedef struct {
  int64_t B, T, H, W, Cin, Np, K;
} PatchDims;

static gboolean
patch_dims (const SvTensor *video, const char *op, const char *what, int pt, int p, PatchDims *d,
            GError **error)
{
  char a[96];
  if (pt < 1 || p < 1) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: tubelet size %d x %d x %d must be positive", op, pt, p, p);
    return FALSE;
  }
  if (!sv_check_f32 (video, op, what, error))
    return FALSE;
  if (video->ndim != 5) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s has shape %s, expected [B, T, H, W, C]",
                 op, what, sv_tensor_shape_str (video, a, sizeof a));
    return FALSE;
  }
  d->B = video->shape[0];
  d->T = video->shape[1];
  d->H = video->shape[2];
  d->W = video->shape[3];
  d->Cin = video->shape[4];
  /* one video's elements must fit an int (the batch axis may make numel 0) */
  int64_t per = 1;
  for (int i = 1; i < 5; i++) {
    if (video->shape[i] != 0 && per > G_MAXINT32 / video->shape[i]) {
      g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s of shape %s is too large", op, what,
                   sv_tensor_shape_str (video, a, sizeof a));
      return FALSE;
    }
    per *= video->shape[i];
  }
  if (d->T < pt || d->T % pt || d->H < p || d->H % p || d->W < p || d->W % p) {
    g_set_error (
        error, SV_ERROR, SV_ERROR_SHAPE,
        "%s: %s of shape %s cannot be cut into %d x %d x %d tubelets (T = %" G_GINT64_FORMAT
        " must be a multiple of %d, H = %" G_GINT64_FORMAT " and W = %" G_GINT64_FORMAT
        " multiples of %d)",
        op, what, sv_tensor_shape_str (video, a, sizeof a), pt, p, p, d->T, pt, d->H, d->W, p);
    return FALSE;
  }
  d->Np = (d->T / pt) * (d->H / p) * (d->W / p);
  d->K = (int64_t) pt * p * p * d->Cin;
  return TRUE;
}

/* t is [B, Np, last] or [B*Np, last] */
static gboolean
check_tokens (const SvTensor *t, const char *op, const char *what, const PatchDims *d, int64_t last,
              GError **error)
{
  if (!sv_check_f32 (t, op, what, error))
    return FALSE;
  gboolean ok =
      (t->ndim == 3 && t->shape[0] == d->B && t->shape[1] == d->Np && t->shape[2] == last) ||
      (t->ndim == 2 && t->shape[0] == d->B * d->Np && t->shape[1] == last);
  if (!ok) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, expected [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT "] (or [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "])",
                 op, what, sv_tensor_shape_str (t, a, sizeof a), d->B, d->Np, last, d->B * d->Np,
                 last);
  }
  return ok;
}

gboolean
sv_patchify_forward (SvTensor *patches, const SvTensor *video, int pt, int p, GError **error)
{
  const char *op = "patchify";
  PatchDims d;
  if (!patch_dims (video, op, "video", pt, p, &d, error) ||
      !check_tokens (patches, op, "patches", &d, d.K, error) ||
      !sv_check_same_backend (op, error, patches, video, NULL))
    return FALSE;
  BE (patches)->klass->patchify_forward (BE (patches), patches, video, (int) d.B, (int) d.T,
                                         (int) d.H, (int) d.W, (int) d.Cin, pt, p);
  return TRUE;
}

gboolean
sv_patchify_backward (SvTensor *dvideo, const SvTensor *dpatches, int pt, int p, GError **error)
{
  const char *op = "patchify backward";
  PatchDims d;
  if (!dvideo)
    return TRUE;
  if (!patch_dims (dvideo, op, "dvideo", pt, p, &d, error) ||
      !check_tokens (dpatches, op, "dpatches", &d, d.K, error) ||
      !sv_check_same_backend (op, error, dvideo, dpatches, NULL))
    return FALSE;
  BE (dvideo)->klass->patchify_backward (BE (dvideo), dvideo, dpatches, (int) d.B, (int) d.T,
                                         (int) d.H, (int) d.W, (int) d.Cin, pt, p);
  return TRUE;
}

/* ---- tubelet embedding = patchify + linear ---- */

static gboolean
check_weight (const SvTensor *weight, const char *op, const char *what, int64_t K, int64_t *D,
              GError **error)
{
  if (!sv_check_f32 (weight, op, what, error))
    return FALSE;
  if (weight->ndim != 2 || weight->shape[1] != K) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, expected [D, %" G_GINT64_FORMAT
                 "] (D outputs, pt*p*p*Cin inputs)",
                 op, what, sv_tensor_shape_str (weight, a, sizeof a), K);
    return FALSE;
  }
  *D = weight->shape[0];
  return TRUE;
}

gboolean
sv_tubelet_embed_forward (SvTensor *out, SvTensor *patches, const SvTensor *video,
                          const SvTensor *weight, const SvTensor *bias, int pt, int p,
                          GError **error)
{
  const char *op = "tubelet embedding";
  PatchDims d;
  int64_t D;
  /* everything is checked before anything is written */
  if (!patch_dims (video, op, "video", pt, p, &d, error) ||
      !check_tokens (patches, op, "patches", &d, d.K, error) ||
      !check_weight (weight, op, "weight", d.K, &D, error) ||
      (bias && (!sv_check_f32 (bias, op, "bias", error) ||
                !sv_check_shape (bias, op, "bias", 1, &D, error))) ||
      !check_tokens (out, op, "out", &d, D, error) ||
      !sv_check_same_backend (op, error, out, patches, video, weight, bias ? bias : out, NULL))
    return FALSE;
  return sv_patchify_forward (patches, video, pt, p, error) &&
         sv_linear_forward (out, patches, weight, bias, error);
}

gboolean
sv_tubelet_embed_backward (SvTensor *dvideo, SvTensor *dweight, SvTensor *dbias, SvTensor *dpatches,
                           const SvTensor *dout, const SvTensor *patches, const SvTensor *weight,
                           int pt, int p, GError **error)
{
  const char *op = "tubelet embedding backward";
  int64_t K, D;
  if (!sv_check_f32 (patches, op, "patches", error) || !sv_check_f32 (dout, op, "dout", error))
    return FALSE;
  K = sv_tensor_last (patches);
  if (!check_weight (weight, op, "weight", K, &D, error))
    return FALSE;
  if (patches->ndim < 2 || patches->ndim > 3) {
    char a[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: patches has shape %s, expected [B, Np, K] or [B*Np, K]", op,
                 sv_tensor_shape_str (patches, a, sizeof a));
    return FALSE;
  }
  int64_t rows = sv_tensor_rows (patches);
  if (sv_tensor_last (dout) != D ||
      !sv_check_numel (dout, op, "dout", (size_t) (rows * D), error)) {
    if (error && !*error) {
      char a[96];
      g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                   "%s: dout has shape %s, expected %" G_GINT64_FORMAT " rows of %" G_GINT64_FORMAT,
                   op, sv_tensor_shape_str (dout, a, sizeof a), rows, D);
    }
    return FALSE;
  }
  if (dweight) {
    int64_t wshape[2] = { D, K };
    if (!sv_check_f32 (dweight, op, "dweight", error) ||
        !sv_check_shape (dweight, op, "dweight", 2, wshape, error))
      return FALSE;
  }
  if (dbias && (!sv_check_f32 (dbias, op, "dbias", error) ||
                !sv_check_shape (dbias, op, "dbias", 1, &D, error)))
    return FALSE;
  if (dvideo) {
    PatchDims d;
    if (!patch_dims (dvideo, op, "dvideo", pt, p, &d, error) ||
        !check_tokens (patches, op, "patches", &d, d.K, error))
      return FALSE;
    if (!dpatches) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                   "%s: dpatches (scratch shaped like patches) is required for dvideo", op);
      return FALSE;
    }
    if (!check_tokens (dpatches, op, "dpatches", &d, d.K, error))
      return FALSE;
  }
  if (!sv_check_same_backend (op, error, dout, patches, weight, dvideo ? dvideo : dout,
                              dvideo ? dpatches : dout, dweight ? dweight : dout,
                              dbias ? dbias : dout, NULL))
    return FALSE;

  if (dvideo && !sv_tensor_zero (dpatches, error))
    return FALSE;
  if (!sv_linear_backward (dvideo ? dpatches : NULL, dweight, dbias, dout, patches, weight, error))
    return FALSE;
  return !dvideo || sv_patchify_backward (dvideo, dpatches, pt, p, error);
}
