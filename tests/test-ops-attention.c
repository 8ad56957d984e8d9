/* multi-head attention core, self and cross, with and without the STGT graph:
 * forward vs a naive double loop using a dense additive -inf mask, backward vs
 * finite differences, all-zero graph rows, determinism, argument errors, and
 * PyTorch references (/torch/ cases). */
#include "sv-test.h"

#include <math.h>
#include <string.h>

/* ---- STGT graph, as method.md section 9 builds it ----
 * g[b,i,j] = cos(fq[b,i], fk[b,j]) if >= 0.5 else 0, times the temporal band
 * |frame(i) - frame(j)| <= 1 (tokens spread evenly over `frames` frames); the
 * diagonal is kept for self-attention; row `zero_row` of batch 0 is all zero. */
static void
build_graph (float *g, const float *fq, const float *fk, int B, int Nq, int Nk, int D, int frames,
             gboolean self, int zero_row)
{
  for (int b = 0; b < B; b++)
    for (int i = 0; i < Nq; i++)
      for (int j = 0; j < Nk; j++) {
        const float *a = fq + ((size_t) b * Nq + i) * D, *c = fk + ((size_t) b * Nk + j) * D;
        double ab = 0, aa = 0, cc = 0;
        for (int d = 0; d < D; d++) {
          ab += (double) a[d] * c[d];
          aa += (double) a[d] * a[d];
          cc += (double) c[d] * c[d];
        }
        double s = ab / fmax (sqrt (aa) * sqrt (cc), 1e-12);
        int fi = i * frames / Nq, fj = j * frames / Nk;
        double band = abs (fi - fj) <= 1 ? 1.0 : 0.0;
        double v = (s >= 0.5 ? s : 0.0) * band;
        if (self && i == j)
          v = 1.0;
        g[((size_t) b * Nq + i) * Nk + j] = (float) v;
      }
  if (zero_row >= 0 && zero_row < Nq)
    for (int j = 0; j < Nk; j++)
      g[(size_t) zero_row * Nk + j] = 0.0f;
}

/* ---- naive reference (double): logits * g plus a dense additive mask that is
 * -inf where g == 0, softmax (all -inf rows -> 0), then @ v ---- */
static void
naive_attention (float *out, float *att, const float *q, const float *k, const float *v,
                 const float *g, int B, int Nq, int Nk, int C, int H)
{
  int hs = C / H;
  double *l = g_new (double, Nk > 0 ? Nk : 1);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int i = 0; i < Nq; i++) {
        double maxv = -INFINITY;
        for (int j = 0; j < Nk; j++) {
          double s = 0;
          for (int c = 0; c < hs; c++)
            s += (double) q[((size_t) b * Nq + i) * C + h * hs + c] *
                 k[((size_t) b * Nk + j) * C + h * hs + c];
          s /= sqrt ((double) hs);
          if (g) {
            double gv = g[((size_t) b * Nq + i) * Nk + j];
            double add_mask = gv == 0.0 ? -INFINITY : 0.0;
            s = s * gv + add_mask;
          }
          l[j] = s;
          maxv = fmax (maxv, s);
        }
        double sum = 0;
        for (int j = 0; j < Nk; j++) {
          l[j] = maxv == -INFINITY ? 0.0 : exp (l[j] - maxv);
          sum += l[j];
        }
        for (int j = 0; j < Nk; j++) {
          l[j] = sum > 0 ? l[j] / sum : 0.0;
          att[(((size_t) b * H + h) * Nq + i) * Nk + j] = (float) l[j];
        }
        for (int c = 0; c < hs; c++) {
          double s = 0;
          for (int j = 0; j < Nk; j++)
            s += l[j] * v[((size_t) b * Nk + j) * C + h * hs + c];
          out[((size_t) b * Nq + i) * C + h * hs + c] = (float) s;
        }
      }
  g_free (l);
}

typedef struct {
  SvTensor *out, *att, *q, *k, *v, *graph, *probe;
  int H;
} AttCase;

static double
attention_loss (gpointer user)
{
  AttCase *c = user;
  GError *error = NULL;
  sv_attention_forward (c->out, c->att, c->q, c->k, c->v, c->graph, c->H, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
free_case (AttCase *c)
{
  sv_tensor_free (c->out);
  sv_tensor_free (c->att);
  sv_tensor_free (c->q);
  sv_tensor_free (c->k);
  sv_tensor_free (c->v);
  sv_tensor_free (c->graph);
  sv_tensor_free (c->probe);
}

static AttCase
make_case (int B, int Nq, int Nk, int C, int H, gboolean with_graph, gboolean self, SvRng *rng)
{
  AttCase c = {
    .out = SV_TEST_TENSOR (B, Nq, C),
    .att = SV_TEST_TENSOR (B, H, Nq, Nk),
    .q = SV_TEST_TENSOR (B, Nq, C),
    .k = SV_TEST_TENSOR (B, Nk, C),
    .v = SV_TEST_TENSOR (B, Nk, C),
    .graph = with_graph ? SV_TEST_TENSOR (B, Nq, Nk) : NULL,
    .probe = SV_TEST_TENSOR (B, Nq, C),
    .H = H,
  };
  sv_test_fill (c.q, rng, -1, 1);
  sv_test_fill (c.k, rng, -1, 1);
  sv_test_fill (c.v, rng, -1, 1);
  sv_test_fill (c.probe, rng, -1, 1);
  if (with_graph) {
    /* graph features: for self-attention the same tokens on both sides */
    int D = 4;
    float *fq = g_new (float, (size_t) B *Nq *D), *fk = g_new (float, (size_t) B *Nk *D);
    sv_rng_fill_uniform (rng, fq, (size_t) B * Nq * D, -1, 1);
    if (self)
      memcpy (fk, fq, sizeof (float) * B * Nk * D);
    else
      sv_rng_fill_uniform (rng, fk, (size_t) B * Nk * D, -1, 1);
    build_graph (sv_tensor_f32 (c.graph), fq, fk, B, Nq, Nk, D, 4, self, Nq > 1 ? Nq / 2 : -1);
    g_free (fq);
    g_free (fk);
  }
  return c;
}

static void
check_attention (int B, int Nq, int Nk, int C, int H, gboolean with_graph, size_t max_checks)
{
  SvRng rng;
  GError *error = NULL;
  gboolean self = Nq == Nk;
  sv_rng_seed (&rng, (uint64_t) (B * 100003 + Nq * 1009 + Nk * 101 + C * 11 + H) * 2 + with_graph);
  AttCase c = make_case (B, Nq, Nk, C, H, with_graph, self, &rng);

  /* forward vs naive (dense additive -inf mask) */
  sv_attention_forward (c.out, c.att, c.q, c.k, c.v, c.graph, H, &error);
  g_assert_no_error (error);
  float *want = g_new (float, c.out->numel), *want_att = g_new (float, c.att->numel + 1);
  naive_attention (want, want_att, sv_tensor_f32 (c.q), sv_tensor_f32 (c.k), sv_tensor_f32 (c.v),
                   sv_tensor_f32 (c.graph), B, Nq, Nk, C, H);
  sv_test_assert_close ("attention out", sv_tensor_f32 (c.out), want, c.out->numel, 1e-5, 1e-6);
  sv_test_assert_close ("attention att", sv_tensor_f32 (c.att), want_att, c.att->numel, 1e-5, 1e-6);
  g_free (want);
  g_free (want_att);

  /* backward, accumulating onto non-zero starts */
  SvTensor *dq = SV_TEST_TENSOR (B, Nq, C), *dk = SV_TEST_TENSOR (B, Nk, C);
  SvTensor *dv = SV_TEST_TENSOR (B, Nk, C), *scratch = SV_TEST_TENSOR (B * H * Nq * Nk);
  SvTensor *grads[3] = { dq, dk, dv };
  for (int t = 0; t < 3; t++)
    for (size_t i = 0; i < grads[t]->numel; i++)
      sv_tensor_f32 (grads[t])[i] = 0.5f;
  sv_attention_backward (dq, dk, dv, scratch, c.probe, c.att, c.q, c.k, c.v, c.graph, H, &error);
  g_assert_no_error (error);
  for (int t = 0; t < 3; t++)
    for (size_t i = 0; i < grads[t]->numel; i++)
      sv_tensor_f32 (grads[t])[i] -= 0.5f;

  /* the all-zero graph row: att and out rows are zero, and so is its dq */
  if (with_graph && Nq > 1) {
    int zr = Nq / 2;
    for (int h = 0; h < H; h++)
      for (int j = 0; j < Nk; j++)
        g_assert_cmpfloat (sv_tensor_f32 (c.att)[((size_t) h * Nq + zr) * Nk + j], ==, 0.0f);
    for (int ch = 0; ch < C; ch++) {
      g_assert_cmpfloat (sv_tensor_f32 (c.out)[(size_t) zr * C + ch], ==, 0.0f);
      g_assert_cmpfloat (fabsf (sv_tensor_f32 (dq)[(size_t) zr * C + ch]), <=, 1e-7f);
    }
  }

  sv_test_gradcheck ("attention dq", sv_tensor_f32 (c.q), c.q->numel, sv_tensor_f32 (dq),
                     attention_loss, &c, 1e-2, 2e-3, 1e-3, max_checks);
  sv_test_gradcheck ("attention dk", sv_tensor_f32 (c.k), c.k->numel, sv_tensor_f32 (dk),
                     attention_loss, &c, 1e-2, 2e-3, 1e-3, max_checks);
  sv_test_gradcheck ("attention dv", sv_tensor_f32 (c.v), c.v->numel, sv_tensor_f32 (dv),
                     attention_loss, &c, 1e-2, 2e-3, 1e-3, max_checks);

  /* only some gradients: the others are left alone and the rest unchanged */
  SvTensor *dv2 = SV_TEST_TENSOR (B, Nk, C), *dk2 = SV_TEST_TENSOR (B, Nk, C);
  sv_attention_forward (c.out, c.att, c.q, c.k, c.v, c.graph, H, &error);
  g_assert_no_error (error);
  sv_attention_backward (NULL, NULL, dv2, NULL, c.probe, c.att, c.q, c.k, c.v, c.graph, H, &error);
  g_assert_no_error (error);
  sv_attention_backward (NULL, dk2, NULL, scratch, c.probe, c.att, c.q, c.k, c.v, c.graph, H,
                         &error);
  g_assert_no_error (error);
  sv_test_assert_close ("attention dv alone", sv_tensor_f32 (dv2), sv_tensor_f32 (dv), dv->numel,
                        1e-5, 1e-6);
  sv_test_assert_close ("attention dk alone", sv_tensor_f32 (dk2), sv_tensor_f32 (dk), dk->numel,
                        1e-5, 1e-6);

  sv_tensor_free (dv2);
  sv_tensor_free (dk2);
  sv_tensor_free (dq);
  sv_tensor_free (dk);
  sv_tensor_free (dv);
  sv_tensor_free (scratch);
  free_case (&c);
}

static void
test_attention_self (void)
{
  const int heads[] = { 1, 2, 4 };
  for (int g = 0; g < 2; g++) {
    check_attention (1, 1, 1, 1, 1, g, 200);
    check_attention (1, 1, 1, 4, 4, g, 200);
    for (guint h = 0; h < G_N_ELEMENTS (heads); h++) {
      check_attention (2, 7, 7, 12, heads[h], g, 200);
      check_attention (2, 33, 33, 16, heads[h], g, 200);
    }
  }
}

static void
test_attention_cross (void)
{
  const int heads[] = { 1, 2, 4 };
  for (int g = 0; g < 2; g++)
    for (guint h = 0; h < G_N_ELEMENTS (heads); h++) {
      /* 8 group-token queries against 33 video tokens, and the reverse */
      check_attention (2, 8, 33, 16, heads[h], g, 200);
      check_attention (1, 33, 8, 8, heads[h], g, 200);
      check_attention (3, 1, 7, 4, heads[h], g, 200);
    }
}

/* sizes where the sgemms have real work; the gradient is sampled */
static void
test_attention_large (void)
{
  check_attention (2, 64, 64, 64, 4, TRUE, 60);
  check_attention (3, 50, 197, 96, 6, TRUE, 60);
  /* one big slice (Nq*Nk*hs >= 2^22): OpenBLAS threads the products, OpenMP the rows */
  check_attention (1, 300, 300, 48, 1, FALSE, 40);
}

/* a graph of ones is exactly no graph */
static void
test_attention_graph_ones (void)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 5);
  AttCase c = make_case (2, 9, 13, 12, 3, TRUE, FALSE, &rng);
  float *g = sv_tensor_f32 (c.graph);
  for (size_t i = 0; i < c.graph->numel; i++)
    g[i] = 1.0f;
  SvTensor *out2 = SV_TEST_TENSOR (2, 9, 12), *att2 = SV_TEST_TENSOR (2, 3, 9, 13);
  sv_attention_forward (c.out, c.att, c.q, c.k, c.v, c.graph, 3, &error);
  g_assert_no_error (error);
  sv_attention_forward (out2, att2, c.q, c.k, c.v, NULL, 3, &error);
  g_assert_no_error (error);
  g_assert_true (memcmp (sv_tensor_f32 (c.out), sv_tensor_f32 (out2), c.out->numel * 4) == 0);
  g_assert_true (memcmp (sv_tensor_f32 (c.att), sv_tensor_f32 (att2), c.att->numel * 4) == 0);
  sv_tensor_free (out2);
  sv_tensor_free (att2);
  free_case (&c);
}

/* outputs and gradients of one forward + backward, copied out */
static float *
run_all (AttCase *c)
{
  GError *error = NULL;
  SvTensor *dq = sv_test_tensor (SV_F32, 3, c->q->shape),
           *dk = sv_test_tensor (SV_F32, 3, c->k->shape);
  SvTensor *dv = sv_test_tensor (SV_F32, 3, c->v->shape);
  SvTensor *scratch = sv_test_tensor (SV_F32, 4, c->att->shape);
  sv_attention_forward (c->out, c->att, c->q, c->k, c->v, c->graph, c->H, &error);
  g_assert_no_error (error);
  sv_attention_backward (dq, dk, dv, scratch, c->probe, c->att, c->q, c->k, c->v, c->graph, c->H,
                         &error);
  g_assert_no_error (error);
  SvTensor *parts[] = { c->out, c->att, dq, dk, dv };
  size_t n = 0;
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    n += parts[i]->numel;
  float *all = g_new (float, n), *p = all;
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
    memcpy (p, sv_tensor_f32 (parts[i]), parts[i]->numel * sizeof (float));
    p += parts[i]->numel;
  }
  sv_tensor_free (dq);
  sv_tensor_free (dk);
  sv_tensor_free (dv);
  sv_tensor_free (scratch);
  return all;
}

/* Repeated runs are bit-identical; and at these sizes the (b,h) slices run in
 * parallel, each computed by one thread with single-threaded BLAS, so the bits
 * do not depend on the thread count either. */
static void
test_attention_deterministic (void)
{
  SvRng rng;
  sv_rng_seed (&rng, 9);
  int B = 4, Nq = 40, Nk = 57, C = 64, H = 8;
  AttCase c = make_case (B, Nq, Nk, C, H, TRUE, FALSE, &rng);
  size_t n = 2 * c.out->numel + c.att->numel + 2 * c.k->numel;
  int saved = sv_get_num_threads ();
  float *r0 = run_all (&c), *r1 = run_all (&c);
  g_assert_true (memcmp (r0, r1, n * sizeof (float)) == 0);
  sv_set_num_threads (saved > 1 ? 1 : 3);
  float *r2 = run_all (&c);
  sv_set_num_threads (saved);
  if (memcmp (r0, r2, n * sizeof (float)) != 0) {
    g_test_message ("attention: %d and %d threads give different bits", saved, saved > 1 ? 1 : 3);
    g_test_fail ();
  }
  g_free (r2);
  g_free (r0);
  g_free (r1);
  free_case (&c);
}

static void
test_attention_empty (void)
{
  GError *error = NULL;
  /* no keys: every query row is fully masked, out is 0 */
  SvTensor *q = SV_TEST_TENSOR (2, 3, 4), *k = SV_TEST_TENSOR (2, 0, 4),
           *v = SV_TEST_TENSOR (2, 0, 4);
  SvTensor *out = SV_TEST_TENSOR (2, 3, 4), *att = SV_TEST_TENSOR (2, 2, 3, 0);
  float *o = sv_tensor_f32 (out);
  for (size_t i = 0; i < out->numel; i++)
    o[i] = 7.0f;
  g_assert_true (sv_attention_forward (out, att, q, k, v, NULL, 2, &error));
  g_assert_no_error (error);
  for (size_t i = 0; i < out->numel; i++)
    g_assert_cmpfloat (o[i], ==, 0.0f);
  sv_tensor_free (q);
  sv_tensor_free (k);
  sv_tensor_free (v);
  sv_tensor_free (out);
  sv_tensor_free (att);
}

static void
test_attention_errors (void)
{
  GError *error = NULL;
  SvTensor *q = SV_TEST_TENSOR (2, 5, 12), *k = SV_TEST_TENSOR (2, 7, 12);
  SvTensor *v = SV_TEST_TENSOR (2, 7, 12), *out = SV_TEST_TENSOR (2, 5, 12);
  SvTensor *att = SV_TEST_TENSOR (2, 3, 5, 7), *graph = SV_TEST_TENSOR (2, 5, 7);
  SvTensor *scratch = SV_TEST_TENSOR (2 * 3 * 5 * 7), *dq = SV_TEST_TENSOR (2, 5, 12);
  SvTensor *dk = SV_TEST_TENSOR (2, 7, 12);

  g_assert_true (sv_attention_forward (out, att, q, k, v, graph, 3, &error));
  g_assert_no_error (error);

  /* heads */
  g_assert_false (sv_attention_forward (out, att, q, k, v, NULL, 5, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_attention_forward (out, att, q, k, v, NULL, 0, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_attention_forward (out, att, q, k, v, NULL, -3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* att must have the head count */
  g_assert_false (sv_attention_forward (out, att, q, k, v, NULL, 2, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);

  /* shapes */
  SvTensor *k_c = SV_TEST_TENSOR (2, 7, 8), *k_b = SV_TEST_TENSOR (1, 7, 12);
  SvTensor *v_n = SV_TEST_TENSOR (2, 6, 12), *q2 = SV_TEST_TENSOR (10, 12);
  SvTensor *out_bad = SV_TEST_TENSOR (2, 7, 12), *att_t = SV_TEST_TENSOR (2, 3, 7, 5);
  SvTensor *graph_t = SV_TEST_TENSOR (2, 7, 5), *scratch_bad = SV_TEST_TENSOR (2 * 3 * 5 * 7 - 1);
  SvTensor *shape_fails[][6] = {
    /* out, att, q, k, v, graph */
    { out, att, q, k_c, v, NULL },  { out, att, q, k_b, v, NULL },   { out, att, q, k, v_n, NULL },
    { out, att, q2, k, v, NULL },   { out_bad, att, q, k, v, NULL }, { out, att_t, q, k, v, NULL },
    { out, att, q, k, v, graph_t },
  };
  for (guint i = 0; i < G_N_ELEMENTS (shape_fails); i++) {
    SvTensor **s = shape_fails[i];
    g_assert_false (sv_attention_forward (s[0], s[1], s[2], s[3], s[4], s[5], 3, &error));
    sv_test_expect_error (&error, SV_ERROR_SHAPE);
  }

  /* dtypes and missing operands */
  SvTensor *ids = sv_test_tensor (SV_I32, 3, (int64_t[]){ 2, 5, 12 });
  g_assert_false (sv_attention_forward (out, att, ids, k, v, NULL, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_attention_forward (out, NULL, q, k, v, NULL, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  /* backward */
  g_assert_true (
      sv_attention_backward (dq, dk, NULL, scratch, out, att, q, k, v, graph, 3, &error));
  g_assert_no_error (error);
  g_assert_false (
      sv_attention_backward (dq, NULL, NULL, NULL, out, att, q, k, v, graph, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (
      sv_attention_backward (dq, NULL, NULL, scratch_bad, out, att, q, k, v, graph, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_attention_backward (dk, NULL, NULL, scratch, out, att, q, k, v, graph, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_attention_backward (NULL, dq, NULL, scratch, out, att, q, k, v, graph, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_attention_backward (NULL, NULL, NULL, scratch, k, att, q, k, v, graph, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_attention_backward (NULL, NULL, dk, NULL, out, att, q, k, v, graph, 4, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE); /* att has 3 heads */
  g_assert_true (
      sv_attention_backward (NULL, NULL, NULL, NULL, out, att, q, k, v, graph, 3, &error));
  g_assert_no_error (error);

  SvTensor *all[] = { q,   k,   v,   out, att,     graph, scratch, dq,          dk,
                      k_c, k_b, v_n, q2,  out_bad, att_t, graph_t, scratch_bad, ids };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_attention.py ---- */

static void
test_torch_attention (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  const char *sets[] = { "self", "self_graph", "cross", "cross_graph" };
  for (guint s = 0; s < G_N_ELEMENTS (sets); s++) {
    GError *error = NULL;
    const char *names[] = { "q", "k", "v", "out", "att", "gout", "gq", "gk", "gv", "graph" };
    SvTensor *r[G_N_ELEMENTS (names)];
    gboolean with_graph = g_str_has_suffix (sets[s], "_graph");
    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
      char *n = g_strdup_printf ("%s.%s", sets[s], names[i]);
      r[i] = (i < 9 || with_graph) ? sv_test_ref (st, n) : NULL;
      g_free (n);
    }
    char *hn = g_strdup_printf ("%s.heads", sets[s]);
    int H = (int) sv_test_ref_scalar (st, hn);
    g_free (hn);
    SvTensor *out = sv_test_tensor (SV_F32, r[3]->ndim, r[3]->shape);
    SvTensor *att = sv_test_tensor (SV_F32, r[4]->ndim, r[4]->shape);
    SvTensor *scratch = sv_test_tensor (SV_F32, r[4]->ndim, r[4]->shape);
    SvTensor *dq = sv_test_tensor (SV_F32, r[0]->ndim, r[0]->shape);
    SvTensor *dk = sv_test_tensor (SV_F32, r[1]->ndim, r[1]->shape);
    SvTensor *dv = sv_test_tensor (SV_F32, r[2]->ndim, r[2]->shape);
    sv_attention_forward (out, att, r[0], r[1], r[2], r[9], H, &error);
    g_assert_no_error (error);
    sv_attention_backward (dq, dk, dv, scratch, r[5], att, r[0], r[1], r[2], r[9], H, &error);
    g_assert_no_error (error);
    SvTensor *got[] = { out, att, dq, dk, dv }, *want[] = { r[3], r[4], r[6], r[7], r[8] };
    const char *what[] = { "out", "att", "gq", "gk", "gv" };
    for (guint i = 0; i < G_N_ELEMENTS (got); i++) {
      char *w = g_strdup_printf ("torch attention %s %s", sets[s], what[i]);
      double e = sv_test_assert_close (w, sv_tensor_f32 (got[i]), sv_tensor_f32 (want[i]),
                                       want[i]->numel, 1e-4, 1e-5);
      g_test_message ("%s: max abs error %.3g", w, e);
      g_free (w);
    }
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      sv_tensor_free (r[i]);
    sv_tensor_free (out);
    sv_tensor_free (att);
    sv_tensor_free (scratch);
    sv_tensor_free (dq);
    sv_tensor_free (dk);
    sv_tensor_free (dv);
  }
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/attention/self", test_attention_self);
  g_test_add_func ("/attention/cross", test_attention_cross);
  g_test_add_func ("/attention/large", test_attention_large);
  g_test_add_func ("/attention/graph-ones", test_attention_graph_ones);
  g_test_add_func ("/attention/deterministic", test_attention_deterministic);
  g_test_add_func ("/attention/empty", test_attention_empty);
  g_test_add_func ("/attention/errors", test_attention_errors);
  g_test_add_func ("/torch/attention", test_torch_attention);
  return g_test_run ();
}
