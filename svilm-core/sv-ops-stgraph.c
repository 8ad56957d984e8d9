/* svilm-core ops: STGT graph attention computed block-banded (method.md section 9):
 * the band graph from the detached graph features, and the banded attention core
 * (checks, then the backend; kernels in cpu/stgraph.c). */
#include "sv-error.h"
#include "sv-ops.h"

#include <limits.h>
#include <math.h>

#define BE(t) ((t)->backend)

typedef struct {
  int B, Tf, S, C, H;
} StgDims;

/* tokens [B, N, C] of `what` with N = frames * S; fills B, Tf, S, C */
static gboolean
stgraph_tokens (const char *op, const char *what, const SvTensor *x, int frames, StgDims *d,
                GError **error)
{
  if (x->ndim != 3) {
    char s[96];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s has shape %s, expected [B, N, C]", op,
                 what, sv_tensor_shape_str (x, s, sizeof s));
    return FALSE;
  }
  int64_t B = x->shape[0], N = x->shape[1], C = x->shape[2];
  if (C < 1) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s needs at least one channel", op, what);
    return FALSE;
  }
  if (frames < 1 || N % frames != 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: frames = %d must be positive and divide the %" G_GINT64_FORMAT
                 " tokens of %s",
                 op, frames, N, what);
    return FALSE;
  }
  int64_t S = N / frames;
  /* band rows are 3S wide; tasks are B*H*frames (checked with H by the caller) */
  if (B > INT_MAX || N > INT_MAX || C > INT_MAX || 3 * S > INT_MAX ||
      (double) B * N * 3 * S > (double) (SIZE_MAX / 4)) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: operands too large", op);
    return FALSE;
  }
  d->B = (int) B;
  d->Tf = frames;
  d->S = (int) S;
  d->C = (int) C;
  d->H = 1;
  return TRUE;
}

static gboolean
stgraph_supported (const char *op, const SvBackend *be, gboolean have, GError **error)
{
  if (!have) {
    g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED, "%s: not implemented on the %s backend", op,
                 be->klass->name);
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_stgraph_build (SvTensor *graph, const SvTensor *u, int frames, float theta, GError **error)
{
  const char *op = "stgraph build";
  StgDims d;
  if (!sv_check_f32 (graph, op, "graph", error) || !sv_check_f32 (u, op, "u", error) ||
      !stgraph_tokens (op, "u", u, frames, &d, error))
    return FALSE;
  if (!(theta >= -1.0f && theta <= 1.0f)) { /* also NaN */
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "%s: theta = %g must be in [-1, 1]", op,
                 (double) theta);
    return FALSE;
  }
  int64_t gshape[3] = { d.B, (int64_t) d.Tf * d.S, 3 * (int64_t) d.S };
  if (!sv_check_shape (graph, op, "graph", 3, gshape, error) ||
      !sv_check_same_backend (op, error, graph, u, NULL) ||
      !stgraph_supported (op, BE (graph), BE (graph)->klass->stgraph_build != NULL, error))
    return FALSE;
  BE (graph)->klass->stgraph_build (BE (graph), graph, u, d.B, d.Tf, d.S, d.C, theta);
  return TRUE;
}

/* q, k, v [B, N, C] (same shape), n_heads dividing C, N = frames * S; optional
 * graph [B, N, 3S] and att [B, H, N, 3S] (checked when non-NULL) */
static gboolean
stgraph_attention_dims (const char *op, const SvTensor *q, const SvTensor *k, const SvTensor *v,
                        const SvTensor *graph, const SvTensor *att, int frames, int n_heads,
                        StgDims *d, GError **error)
{
  if (!sv_check_f32 (q, op, "q", error) || !sv_check_f32 (k, op, "k", error) ||
      !sv_check_f32 (v, op, "v", error) || (graph && !sv_check_f32 (graph, op, "graph", error)) ||
      (att && !sv_check_f32 (att, op, "att", error)))
    return FALSE;
  if (!stgraph_tokens (op, "q", q, frames, d, error) ||
      !sv_check_shape (k, op, "k", 3, q->shape, error) ||
      !sv_check_shape (v, op, "v", 3, q->shape, error))
    return FALSE;
  if (n_heads < 1 || d->C % n_heads != 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: n_heads = %d must be positive and divide the %d channels of q, k, v", op,
                 n_heads, d->C);
    return FALSE;
  }
  if ((int64_t) d->B * n_heads * frames > INT_MAX ||
      (double) d->B * n_heads * d->Tf * d->S * 3 * d->S > (double) (SIZE_MAX / 4)) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: operands too large", op);
    return FALSE;
  }
  d->H = n_heads;
  int64_t N = (int64_t) d->Tf * d->S, W = 3 * (int64_t) d->S;
  int64_t gshape[3] = { d->B, N, W }, ashape[4] = { d->B, n_heads, N, W };
  if ((graph && !sv_check_shape (graph, op, "graph", 3, gshape, error)) ||
      (att && !sv_check_shape (att, op, "att", 4, ashape, error)))
    return FALSE;
  return TRUE;
}

gboolean
sv_stgraph_attention_forward (SvTensor *out, SvTensor *att, const SvTensor *q, const SvTensor *k,
                              const SvTensor *v, const SvTensor *graph, int frames, int n_heads,
                              GError **error)
{
  const char *op = "stgraph attention";
  StgDims d;
  if (!sv_check_f32 (out, op, "out", error) || !sv_check_f32 (att, op, "att", error) ||
      !stgraph_attention_dims (op, q, k, v, graph, att, frames, n_heads, &d, error) ||
      !sv_check_shape (out, op, "out", 3, q->shape, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, out, att, q, k, v, graph ? graph : q, NULL) ||
      !stgraph_supported (op, BE (out), BE (out)->klass->stgraph_attention_forward != NULL, error))
    return FALSE;
  BE (out)->klass->stgraph_attention_forward (BE (out), out, att, q, k, v, graph, d.B, d.Tf, d.S,
                                              d.C, d.H);
  return TRUE;
}

gboolean
sv_stgraph_attention_backward (SvTensor *dq, SvTensor *dk, SvTensor *dv, SvTensor *scratch,
                               const SvTensor *dout, const SvTensor *att, const SvTensor *q,
                               const SvTensor *k, const SvTensor *v, const SvTensor *graph,
                               int frames, int n_heads, GError **error)
{
  const char *op = "stgraph attention backward";
  StgDims d;
  if (!sv_check_f32 (dout, op, "dout", error) || !sv_check_f32 (att, op, "att", error) ||
      (dq && !sv_check_f32 (dq, op, "dq", error)) || (dk && !sv_check_f32 (dk, op, "dk", error)) ||
      (dv && !sv_check_f32 (dv, op, "dv", error)) ||
      (scratch && !sv_check_f32 (scratch, op, "scratch", error)))
    return FALSE;
  if (!stgraph_attention_dims (op, q, k, v, graph, att, frames, n_heads, &d, error) ||
      !sv_check_shape (dout, op, "dout", 3, q->shape, error) ||
      (dq && !sv_check_shape (dq, op, "dq", 3, q->shape, error)) ||
      (dk && !sv_check_shape (dk, op, "dk", 3, q->shape, error)) ||
      (dv && !sv_check_shape (dv, op, "dv", 3, q->shape, error)))
    return FALSE;
  if ((dq || dk) && !scratch) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: scratch of B*H*N*3S floats is required for dq or dk", op);
    return FALSE;
  }
  if (scratch && !sv_check_numel (scratch, op, "scratch", att->numel, error))
    return FALSE;
  if (!sv_check_same_backend (op, error, dout, att, q, k, v, graph ? graph : q, dq ? dq : q,
                              dk ? dk : q, dv ? dv : q, scratch ? scratch : q, NULL))
    return FALSE;
  if (!dq && !dk && !dv)
    return TRUE;
  if (!stgraph_supported (op, BE (dout), BE (dout)->klass->stgraph_attention_backward != NULL,
                          error))
    return FALSE;
  BE (dout)->klass->stgraph_attention_backward (BE (dout), dq, dk, dv, scratch, dout, att, q, k, v,
                                                graph, d.B, d.Tf, d.S, d.C, d.H);
  return TRUE;
}
