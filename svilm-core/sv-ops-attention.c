/* svilm-core ops: multi-head attention core with the optional STGT graph
 * (checks, then the backend). */
#include "sv-error.h"
#include "sv-ops.h"

#include <limits.h>

#define BE(t) ((t)->backend)

typedef struct {
  int B, Nq, Nk, C, H;
} AttDims;

/* q[B,Nq,C], k[B,Nk,C], v[B,Nk,C], n_heads dividing C; optional graph[B,Nq,Nk]
 * and att[B,H,Nq,Nk] (checked when non-NULL). */
static gboolean
attention_dims (const char *op, const SvTensor *q, const SvTensor *k, const SvTensor *v,
                const SvTensor *graph, const SvTensor *att, int n_heads, AttDims *d, GError **error)
{
  if (!sv_check_f32 (q, op, "q", error) || !sv_check_f32 (k, op, "k", error) ||
      !sv_check_f32 (v, op, "v", error) || (graph && !sv_check_f32 (graph, op, "graph", error)) ||
      (att && !sv_check_f32 (att, op, "att", error)))
    return FALSE;
  if (q->ndim != 3) {
    char s[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: q has shape %s, expected [B, Nq, C]", op,
                 sv_tensor_shape_str (q, s, sizeof s));
    return FALSE;
  }
  int64_t B = q->shape[0], Nq = q->shape[1], C = q->shape[2];
  if (k->ndim != 3 || k->shape[0] != B || k->shape[2] != C) {
    char s1[96], s2[96];
    g_set_error (
        error, SV_ERROR, SV_ERROR_SHAPE,
        "%s: k has shape %s, expected [%" G_GINT64_FORMAT ", Nk, %" G_GINT64_FORMAT "] to fit q %s",
        op, sv_tensor_shape_str (k, s1, sizeof s1), B, C, sv_tensor_shape_str (q, s2, sizeof s2));
    return FALSE;
  }
  int64_t Nk = k->shape[1];
  if (!sv_check_shape (v, op, "v", 3, k->shape, error))
    return FALSE;
  if (C < 1) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: q, k, v need at least one channel", op);
    return FALSE;
  }
  if (n_heads < 1 || C % n_heads != 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: n_heads = %d must be positive and divide the %" G_GINT64_FORMAT
                 " channels of q, k, v",
                 op, n_heads, C);
    return FALSE;
  }
  if (B > INT_MAX || Nq > INT_MAX || Nk > INT_MAX || C > INT_MAX || B * n_heads > INT_MAX) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: operands too large", op);
    return FALSE;
  }
  int64_t gshape[3] = { B, Nq, Nk }, ashape[4] = { B, n_heads, Nq, Nk };
  if ((graph && !sv_check_shape (graph, op, "graph", 3, gshape, error)) ||
      (att && !sv_check_shape (att, op, "att", 4, ashape, error)))
    return FALSE;
  d->B = (int) B;
  d->Nq = (int) Nq;
  d->Nk = (int) Nk;
  d->C = (int) C;
  d->H = n_heads;
  return TRUE;
}

gboolean
sv_attention_forward (SvTensor *out, SvTensor *att, const SvTensor *q, const SvTensor *k,
                      const SvTensor *v, const SvTensor *graph, int n_heads, GError **error)
{
  const char *op = "attention";
  AttDims d;
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (att, op, "att", error) ||
      !attention_dims (op, q, k, v, graph, att, n_heads, &d, error) ||
      !sv_check_shape (out, op, "out", 3, q->shape, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, out, att, q, k, v, graph ? graph : q, NULL))
    return FALSE;
  BE (out)->klass->attention_forward (BE (out), out, att, q, k, v, graph, d.B, d.Nq, d.Nk, d.C,
                                      d.H);
  return TRUE;
}

gboolean
sv_attention_backward (SvTensor *dq, SvTensor *dk, SvTensor *dv, SvTensor *scratch,
                       const SvTensor *dout, const SvTensor *att, const SvTensor *q,
                       const SvTensor *k, const SvTensor *v, const SvTensor *graph, int n_heads,
                       GError **error)
{
  const char *op = "attention backward";
  AttDims d;
  if (!sv_check_f32 (dout, op, "dout", error) || !sv_check_f32 (att, op, "att", error) ||
      (dq && !sv_check_f32 (dq, op, "dq", error)) || (dk && !sv_check_f32 (dk, op, "dk", error)) ||
      (dv && !sv_check_f32 (dv, op, "dv", error)) ||
      (scratch && !sv_check_f32 (scratch, op, "scratch", error)))
    return FALSE;
  if (!attention_dims (op, q, k, v, graph, att, n_heads, &d, error) ||
      !sv_check_shape (dout, op, "dout", 3, q->shape, error) ||
      (dq && !sv_check_shape (dq, op, "dq", 3, q->shape, error)) ||
      (dk && !sv_check_shape (dk, op, "dk", 3, k->shape, error)) ||
      (dv && !sv_check_shape (dv, op, "dv", 3, v->shape, error)))
    return FALSE;
  if ((dq || dk) && !scratch) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: scratch of B*H*Nq*Nk floats is required for dq or dk", op);
    return FALSE;
  }
  if (scratch && !sv_check_numel (scratch, op, "scratch", att->numel, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, dout, att, q, k, v, graph ? graph : q, dq ? dq : q,
                              dk ? dk : q, dv ? dv : q, scratch ? scratch : q, NULL))
    return FALSE;
  if (!dq && !dk && !dv)
    return TRUE;
  BE (dout)->klass->attention_backward (BE (dout), dq, dk, dv, scratch, dout, att, q, k, v, graph,
                                        d.B, d.Nq, d.Nk, d.C, d.H);
  return TRUE;
}
