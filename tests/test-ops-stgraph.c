/* STGT graph attention, block-banded (method.md section 9):
 * - the band graph against the dense graph built naively from the definition;
 * - band attention against the dense attention op (sv_attention_*) with that dense graph,
 *   forward and gradients, over frames 1, 2, 3, 5, spatial sizes 1, 4, 7, heads 1, 2, 4
 *   and theta -1 (everything in the band), 0.5 and 1 (exact matches and the diagonal);
 * - finite differences, partial gradients, determinism, argument errors, a backend
 *   without the op, timings of band against dense attention (a message, not a check),
 *   and PyTorch references (/torch/ cases, tests/torch/ref_stgraph.py). */
#include "sv-test.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* ---- the definition, naively and densely ----
 * Sim = cos(u_i, u_j) = u_i.u_j / sqrt(max(|u_i|^2 |u_j|^2, 1e-24)) in double (sums in
 * index order), clamped to [-1, 1]; A = Sim where Sim >= theta else 0; A[i][i] = 1;
 * Gt = |i/S - j/S| <= 1; M = A * Gt.  g[B,N,N]. */
static double
dot_d (const float *a, const float *b, int n)
{
  double s = 0.0;
  for (int c = 0; c < n; c++)
    s += (double) a[c] * (double) b[c];
  return s;
}

static void
naive_dense_graph (float *g, const float *u, int B, int Tf, int S, int Cg, float theta)
{
  int N = Tf * S;
  for (int b = 0; b < B; b++)
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        const float *ui = u + ((size_t) b * N + i) * Cg, *uj = u + ((size_t) b * N + j) * Cg;
        double s =
            dot_d (ui, uj, Cg) / sqrt (fmax (dot_d (ui, ui, Cg) * dot_d (uj, uj, Cg), 1e-24));
        s = fmin (fmax (s, -1.0), 1.0);
        double a = s >= (double) theta ? s : 0.0;
        if (i == j)
          a = 1.0;
        int band = abs (i / S - j / S) <= 1;
        g[((size_t) b * N + i) * N + j] = band ? (float) a : 0.0f;
      }
}

/* dense graph of the plain temporal band (what a NULL band graph means) */
static void
naive_band_ones (float *g, int B, int Tf, int S)
{
  int N = Tf * S;
  for (int b = 0; b < B; b++)
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++)
        g[((size_t) b * N + i) * N + j] = abs (i / S - j / S) <= 1 ? 1.0f : 0.0f;
}

/* the dense column of band column jb of query i, or -1 when out of range */
static int
band_key (int i, int jb, int Tf, int S)
{
  int ts = i / S - 1 + jb / S;
  return ts < 0 || ts >= Tf ? -1 : ts * S + jb % S;
}

/* graph features: uniform, with some rows copied exactly onto others (same slice,
 * adjacent slice, far slice) so that theta = 1 keeps more than the diagonal */
static void
fill_u (float *u, SvRng *rng, int B, int N, int Cg)
{
  sv_rng_fill_uniform (rng, u, (size_t) B * N * Cg, -1, 1);
  for (int b = 0; b < B; b++)
    for (int r = 0; r < N / 3; r++) {
      int from = (int) sv_rng_below (rng, N), to = (int) sv_rng_below (rng, N);
      memcpy (u + ((size_t) b * N + to) * Cg, u + ((size_t) b * N + from) * Cg,
              sizeof (float) * Cg);
    }
}

/* ---- the band graph against the naive dense graph ---- */

static void
check_build (int B, int Tf, int S, int Cg, float theta, SvRng *rng)
{
  GError *error = NULL;
  int N = Tf * S, W = 3 * S;
  SvTensor *u = SV_TEST_TENSOR (B, N, Cg), *g = SV_TEST_TENSOR (B, N, W);
  float *uf = sv_tensor_f32 (u), *gf = sv_tensor_f32 (g);
  fill_u (uf, rng, B, N, Cg);
  for (size_t i = 0; i < g->numel; i++)
    gf[i] = NAN; /* every entry must be written */
  g_assert_true (sv_stgraph_build (g, u, Tf, theta, &error));
  g_assert_no_error (error);
  float *dense = g_new (float, (size_t) B *N *N);
  naive_dense_graph (dense, uf, B, Tf, S, Cg, theta);
  size_t bad = 0, kept = 0, in_range = 0;
  double max_err = 0;
  for (int b = 0; b < B; b++)
    for (int i = 0; i < N; i++)
      for (int jb = 0; jb < W; jb++) {
        float got = gf[((size_t) b * N + i) * W + jb];
        int j = band_key (i, jb, Tf, S);
        if (j < 0) {
          bad += got != 0.0f;
          continue;
        }
        in_range++;
        float want = dense[((size_t) b * N + i) * N + j];
        kept += got != 0.0f;
        if ((got == 0.0f) != (want == 0.0f) || !(fabsf (got - want) <= 2e-6f))
          bad++;
        max_err = fmax (max_err, fabs ((double) got - want));
        if (j == i && got != 1.0f)
          bad++;
        if (theta == 1.0f && got != 0.0f) {
          /* only the diagonal and exact duplicates, with weight exactly 1 */
          const float *ui = uf + ((size_t) b * N + i) * Cg, *uj = uf + ((size_t) b * N + j) * Cg;
          if (got != 1.0f || (j != i && memcmp (ui, uj, sizeof (float) * Cg) != 0))
            bad++;
        }
      }
  /* dense entries outside the band are zero by the definition; every kept dense entry
   * inside the band was matched above, so the counts agree */
  size_t dense_kept = 0;
  for (size_t i = 0; i < (size_t) B * N * N; i++)
    dense_kept += dense[i] != 0.0f;
  if (bad || dense_kept != kept) {
    g_test_message ("stgraph build B=%d Tf=%d S=%d Cg=%d theta=%g: %zu bad entries, kept %zu "
                    "(dense %zu), max err %.3g",
                    B, Tf, S, Cg, (double) theta, bad, kept, dense_kept, max_err);
    g_test_fail ();
  }
  if (theta == -1.0f && kept != in_range) {
    g_test_message ("stgraph build theta=-1: %zu of %zu band entries kept", kept, in_range);
    g_test_fail ();
  }
  g_free (dense);
  sv_tensor_free (u);
  sv_tensor_free (g);
}

static const int frames_list[] = { 1, 2, 3, 5 };
static const int spatial_list[] = { 1, 4, 7 };
static const float theta_list[] = { -1.0f, 0.5f, 1.0f };

static void
test_stgraph_build (void)
{
  SvRng rng;
  sv_rng_seed (&rng, 11);
  for (guint f = 0; f < G_N_ELEMENTS (frames_list); f++)
    for (guint s = 0; s < G_N_ELEMENTS (spatial_list); s++)
      for (guint t = 0; t < G_N_ELEMENTS (theta_list); t++) {
        check_build (2, frames_list[f], spatial_list[s], 3, theta_list[t], &rng);
        check_build (1, frames_list[f], spatial_list[s], 40, theta_list[t], &rng);
      }
  /* bigger blocks: more than one chunk of norms per block, many near-threshold values */
  check_build (1, 3, 150, 17, 0.5f, &rng);
  check_build (2, 4, 49, 192, 0.1f, &rng);
}

/* Entries at the threshold are decided by the definition in double, whatever the float
 * sgemm gives: cos = exactly theta is kept, one ulp below is dropped. */
static void
test_stgraph_build_threshold (void)
{
  GError *error = NULL;
  /* 1 frame of 4 tokens in 2-D: angles chosen so the cosines sit right at 0.5 */
  SvTensor *u = SV_TEST_TENSOR (1, 4, 2), *g = SV_TEST_TENSOR (1, 4, 12);
  float *uf = sv_tensor_f32 (u);
  const float rows[4][2] = { { 1.0f, 0.0f }, { 0.5f, 0.0f }, { 3.0f, 0.0f }, { 0.0f, 0.0f } };
  memcpy (uf, rows, sizeof rows);
  /* token 1 = (0.5, 0) is parallel to token 0: cos 1; token 3 is zero: cos 0 */
  float dense[16];
  for (int pass = 0; pass < 2; pass++) {
    float theta = pass == 0 ? 1.0f : 0.0f;
    g_assert_true (sv_stgraph_build (g, u, 1, theta, &error));
    g_assert_no_error (error);
    naive_dense_graph (dense, uf, 1, 1, 4, 2, theta);
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++)
        g_assert_cmpfloat (sv_tensor_f32 (g)[i * 12 + 4 + j], ==, dense[i * 4 + j]);
  }
  /* parallel vectors at theta 1 are kept (cos is exactly 1 in the definition) */
  g_assert_cmpfloat (sv_tensor_f32 (g)[0 * 12 + 4 + 2], ==, 1.0f);
  sv_tensor_free (u);
  sv_tensor_free (g);

  /* many random pairs whose cos is within float rounding of theta */
  SvRng rng;
  sv_rng_seed (&rng, 3);
  int S = 64, Cg = 2;
  u = SV_TEST_TENSOR (1, S, Cg);
  g = SV_TEST_TENSOR (1, S, 3 * S);
  uf = sv_tensor_f32 (u);
  for (int i = 0; i < S; i++) {
    double a = (i % 2 ? M_PI / 3 : 0) + (sv_rng_uniform (&rng) - 0.5) * 1e-6;
    double r = 0.5 + sv_rng_uniform (&rng);
    uf[i * 2] = (float) (r * cos (a));
    uf[i * 2 + 1] = (float) (r * sin (a));
  }
  float *dn = g_new (float, S *S);
  g_assert_true (sv_stgraph_build (g, u, 1, 0.5f, &error));
  g_assert_no_error (error);
  naive_dense_graph (dn, uf, 1, 1, S, Cg, 0.5f);
  size_t bad = 0, near = 0;
  for (int i = 0; i < S; i++)
    for (int j = 0; j < S; j++) {
      float got = sv_tensor_f32 (g)[i * 3 * S + S + j], want = dn[i * S + j];
      bad += (got == 0.0f) != (want == 0.0f);
      near += (i + j) % 2 == 1;
    }
  g_test_message ("stgraph build: %zu near-threshold pairs, %zu decided differently", near, bad);
  g_assert_cmpuint (bad, ==, 0);
  g_free (dn);
  sv_tensor_free (u);
  sv_tensor_free (g);
}

/* ---- band attention against the dense attention op ---- */

typedef struct {
  int B, Tf, S, C, H;
  SvTensor *out, *att, *q, *k, *v, *graph, *probe;
} StgCase;

static double
stgraph_loss (gpointer user)
{
  StgCase *c = user;
  GError *error = NULL;
  sv_stgraph_attention_forward (c->out, c->att, c->q, c->k, c->v, c->graph, c->Tf, c->H, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

/* with_graph: 0 = NULL (plain band), 1 = built from random u with theta */
static StgCase
make_case (int B, int Tf, int S, int C, int H, gboolean with_graph, float theta, int Cg,
           float *dense, SvRng *rng)
{
  GError *error = NULL;
  int N = Tf * S;
  StgCase c = {
    .B = B,
    .Tf = Tf,
    .S = S,
    .C = C,
    .H = H,
    .out = SV_TEST_TENSOR (B, N, C),
    .att = SV_TEST_TENSOR (B, H, N, 3 * S),
    .q = SV_TEST_TENSOR (B, N, C),
    .k = SV_TEST_TENSOR (B, N, C),
    .v = SV_TEST_TENSOR (B, N, C),
    .graph = with_graph ? SV_TEST_TENSOR (B, N, 3 * S) : NULL,
    .probe = SV_TEST_TENSOR (B, N, C),
  };
  sv_test_fill (c.q, rng, -1.5, 1.5);
  sv_test_fill (c.k, rng, -1.5, 1.5);
  sv_test_fill (c.v, rng, -1, 1);
  sv_test_fill (c.probe, rng, -1, 1);
  if (with_graph) {
    SvTensor *u = SV_TEST_TENSOR (B, N, Cg);
    fill_u (sv_tensor_f32 (u), rng, B, N, Cg);
    g_assert_true (sv_stgraph_build (c.graph, u, Tf, theta, &error));
    g_assert_no_error (error);
    if (dense)
      naive_dense_graph (dense, sv_tensor_f32 (u), B, Tf, S, Cg, theta);
    sv_tensor_free (u);
  } else if (dense) {
    naive_band_ones (dense, B, Tf, S);
  }
  return c;
}

static void
free_case (StgCase *c)
{
  sv_tensor_free (c->out);
  sv_tensor_free (c->att);
  sv_tensor_free (c->q);
  sv_tensor_free (c->k);
  sv_tensor_free (c->v);
  sv_tensor_free (c->graph);
  sv_tensor_free (c->probe);
}

static void
fill_const (SvTensor *t, float x)
{
  for (size_t i = 0; i < t->numel; i++)
    sv_tensor_f32 (t)[i] = x;
}

/* band forward + backward (onto gradients starting at 0.5) against the dense op */
static void
check_vs_dense (int B, int Tf, int S, int C, int H, gboolean with_graph, float theta, SvRng *rng)
{
  GError *error = NULL;
  int N = Tf * S, W = 3 * S;
  SvTensor *dg = SV_TEST_TENSOR (B, N, N);
  StgCase c = make_case (B, Tf, S, C, H, with_graph, theta, 5, sv_tensor_f32 (dg), rng);
  char what[128];
  g_snprintf (what, sizeof what, "stgraph B=%d Tf=%d S=%d C=%d H=%d graph=%d theta=%g", B, Tf, S, C,
              H, with_graph, (double) theta);

  /* band (att starts as NaN: every entry, out-of-range ones included, must be written) */
  fill_const (c.att, NAN);
  g_assert_true (
      sv_stgraph_attention_forward (c.out, c.att, c.q, c.k, c.v, c.graph, Tf, H, &error));
  g_assert_no_error (error);
  SvTensor *dq = SV_TEST_TENSOR (B, N, C), *dk = SV_TEST_TENSOR (B, N, C);
  SvTensor *dv = SV_TEST_TENSOR (B, N, C), *scratch = SV_TEST_TENSOR (B, H, N, W);
  fill_const (dq, 0.5f);
  fill_const (dk, 0.5f);
  fill_const (dv, 0.5f);
  fill_const (scratch, NAN); /* overwritten before it is read */
  g_assert_true (sv_stgraph_attention_backward (dq, dk, dv, scratch, c.probe, c.att, c.q, c.k, c.v,
                                                c.graph, Tf, H, &error));
  g_assert_no_error (error);

  /* dense */
  SvTensor *out_d = SV_TEST_TENSOR (B, N, C), *att_d = SV_TEST_TENSOR (B, H, N, N);
  SvTensor *scr_d = SV_TEST_TENSOR (B, H, N, N), *dq_d = SV_TEST_TENSOR (B, N, C);
  SvTensor *dk_d = SV_TEST_TENSOR (B, N, C), *dv_d = SV_TEST_TENSOR (B, N, C);
  g_assert_true (sv_attention_forward (out_d, att_d, c.q, c.k, c.v, dg, H, &error));
  g_assert_no_error (error);
  fill_const (dq_d, 0.5f);
  fill_const (dk_d, 0.5f);
  fill_const (dv_d, 0.5f);
  g_assert_true (sv_attention_backward (dq_d, dk_d, dv_d, scr_d, c.probe, att_d, c.q, c.k, c.v, dg,
                                        H, &error));
  g_assert_no_error (error);

  char w2[160];
  g_snprintf (w2, sizeof w2, "%s out", what);
  sv_test_assert_close (w2, sv_tensor_f32 (c.out), sv_tensor_f32 (out_d), c.out->numel, 1e-5, 1e-6);
  /* gradients: both sides float with different summation orders and graph values that
   * differ in the last bits (float path vs the double definition) */
  g_snprintf (w2, sizeof w2, "%s dq", what);
  sv_test_assert_close (w2, sv_tensor_f32 (dq), sv_tensor_f32 (dq_d), dq->numel, 1e-5, 2e-6);
  g_snprintf (w2, sizeof w2, "%s dk", what);
  sv_test_assert_close (w2, sv_tensor_f32 (dk), sv_tensor_f32 (dk_d), dk->numel, 1e-5, 2e-6);
  g_snprintf (w2, sizeof w2, "%s dv", what);
  sv_test_assert_close (w2, sv_tensor_f32 (dv), sv_tensor_f32 (dv_d), dv->numel, 1e-5, 2e-6);

  /* att: band entries equal the dense ones, out-of-range band entries are 0, and the
   * dense att is 0 outside the band */
  const float *ab = sv_tensor_f32 (c.att), *ad = sv_tensor_f32 (att_d);
  size_t bad = 0;
  double in_band_sum = 0, dense_sum = 0;
  for (int bh = 0; bh < B * H; bh++)
    for (int i = 0; i < N; i++) {
      for (int jb = 0; jb < W; jb++) {
        float got = ab[((size_t) bh * N + i) * W + jb];
        int j = band_key (i, jb, Tf, S);
        if (j < 0) {
          bad += got != 0.0f;
          continue;
        }
        float want = ad[((size_t) bh * N + i) * N + j];
        bad += !(fabsf (got - want) <= 1e-6f + 1e-5f * fabsf (want));
        in_band_sum += got;
      }
      for (int j = 0; j < N; j++)
        dense_sum += ad[((size_t) bh * N + i) * N + j];
    }
  if (bad || fabs (in_band_sum - dense_sum) > 1e-4 * B * H * N) {
    g_test_message ("%s: %zu att entries differ; att sums band %.6f dense %.6f", what, bad,
                    in_band_sum, dense_sum);
    g_test_fail ();
  }

  SvTensor *all[] = { dg, dq, dk, dv, scratch, out_d, att_d, scr_d, dq_d, dk_d, dv_d };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  free_case (&c);
}

static void
test_stgraph_vs_dense (void)
{
  SvRng rng;
  sv_rng_seed (&rng, 21);
  const int heads[] = { 1, 2, 4 };
  for (guint f = 0; f < G_N_ELEMENTS (frames_list); f++)
    for (guint s = 0; s < G_N_ELEMENTS (spatial_list); s++)
      for (guint h = 0; h < G_N_ELEMENTS (heads); h++) {
        for (guint t = 0; t < G_N_ELEMENTS (theta_list); t++)
          check_vs_dense (2, frames_list[f], spatial_list[s], 8, heads[h], TRUE, theta_list[t],
                          &rng);
        check_vs_dense (1, frames_list[f], spatial_list[s], 12, heads[h], FALSE, 0, &rng);
      }
}

/* sizes where the sgemms have real work and the tasks run in parallel */
static void
test_stgraph_large (void)
{
  SvRng rng;
  sv_rng_seed (&rng, 31);
  check_vs_dense (2, 8, 49, 96, 3, TRUE, 0.5f, &rng);
  check_vs_dense (1, 6, 33, 64, 2, TRUE, -1.0f, &rng);
  /* few, big tasks (fewer than threads when there are more than 2): threaded BLAS */
  check_vs_dense (1, 2, 400, 64, 1, TRUE, 0.0f, &rng);
  check_vs_dense (1, 1, 300, 64, 1, TRUE, 0.5f, &rng);
}

static void
check_gradients (int B, int Tf, int S, int C, int H, gboolean with_graph, float theta,
                 size_t max_checks)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (B * 1009 + Tf * 101 + S * 11 + H));
  StgCase c = make_case (B, Tf, S, C, H, with_graph, theta, 4, NULL, &rng);
  int N = Tf * S;
  g_assert_true (
      sv_stgraph_attention_forward (c.out, c.att, c.q, c.k, c.v, c.graph, Tf, H, &error));
  g_assert_no_error (error);
  SvTensor *dq = SV_TEST_TENSOR (B, N, C), *dk = SV_TEST_TENSOR (B, N, C);
  SvTensor *dv = SV_TEST_TENSOR (B, N, C), *scratch = SV_TEST_TENSOR (B * H * N * 3 * S);
  g_assert_true (sv_stgraph_attention_backward (dq, dk, dv, scratch, c.probe, c.att, c.q, c.k, c.v,
                                                c.graph, Tf, H, &error));
  g_assert_no_error (error);
  sv_test_gradcheck ("stgraph dq", sv_tensor_f32 (c.q), c.q->numel, sv_tensor_f32 (dq),
                     stgraph_loss, &c, 1e-2, 2e-3, 1e-3, max_checks);
  sv_test_gradcheck ("stgraph dk", sv_tensor_f32 (c.k), c.k->numel, sv_tensor_f32 (dk),
                     stgraph_loss, &c, 1e-2, 2e-3, 1e-3, max_checks);
  sv_test_gradcheck ("stgraph dv", sv_tensor_f32 (c.v), c.v->numel, sv_tensor_f32 (dv),
                     stgraph_loss, &c, 1e-2, 2e-3, 1e-3, max_checks);

  /* only some gradients: the same values, the others untouched */
  SvTensor *dv2 = SV_TEST_TENSOR (B, N, C), *dk2 = SV_TEST_TENSOR (B, N, C);
  SvTensor *dq2 = SV_TEST_TENSOR (B, N, C);
  stgraph_loss (&c);
  g_assert_true (sv_stgraph_attention_backward (NULL, NULL, dv2, NULL, c.probe, c.att, c.q, c.k,
                                                c.v, c.graph, Tf, H, &error));
  g_assert_no_error (error);
  g_assert_true (sv_stgraph_attention_backward (NULL, dk2, NULL, scratch, c.probe, c.att, c.q, c.k,
                                                c.v, c.graph, Tf, H, &error));
  g_assert_no_error (error);
  g_assert_true (sv_stgraph_attention_backward (dq2, NULL, NULL, scratch, c.probe, c.att, c.q, c.k,
                                                c.v, c.graph, Tf, H, &error));
  g_assert_no_error (error);
  g_assert_true (memcmp (sv_tensor_f32 (dv2), sv_tensor_f32 (dv), dv->numel * 4) == 0);
  g_assert_true (memcmp (sv_tensor_f32 (dk2), sv_tensor_f32 (dk), dk->numel * 4) == 0);
  g_assert_true (memcmp (sv_tensor_f32 (dq2), sv_tensor_f32 (dq), dq->numel * 4) == 0);

  SvTensor *all[] = { dq, dk, dv, scratch, dv2, dk2, dq2 };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  free_case (&c);
}

static void
test_stgraph_gradients (void)
{
  check_gradients (2, 3, 4, 8, 2, TRUE, 0.5f, 200);
  check_gradients (1, 5, 7, 8, 4, TRUE, -1.0f, 200);
  check_gradients (2, 1, 7, 6, 1, TRUE, 0.5f, 200);
  check_gradients (1, 2, 1, 4, 2, TRUE, 1.0f, 200);
  check_gradients (2, 4, 3, 6, 3, FALSE, 0, 200);
  check_gradients (1, 8, 49, 48, 3, TRUE, 0.5f, 60);
}

/* outputs and gradients of one forward + backward, copied out */
static float *
run_all (StgCase *c, size_t *n_out)
{
  GError *error = NULL;
  int N = c->Tf * c->S;
  SvTensor *dq = SV_TEST_TENSOR (c->B, N, c->C), *dk = SV_TEST_TENSOR (c->B, N, c->C);
  SvTensor *dv = SV_TEST_TENSOR (c->B, N, c->C), *scratch = SV_TEST_TENSOR (c->att->numel);
  g_assert_true (sv_stgraph_attention_forward (c->out, c->att, c->q, c->k, c->v, c->graph, c->Tf,
                                               c->H, &error));
  g_assert_true (sv_stgraph_attention_backward (dq, dk, dv, scratch, c->probe, c->att, c->q, c->k,
                                                c->v, c->graph, c->Tf, c->H, &error));
  g_assert_no_error (error);
  SvTensor *parts[] = { c->out, c->att, c->graph, dq, dk, dv };
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
  *n_out = n;
  return all;
}

/* repeated runs are bit-identical, and (tasks in parallel, each on one thread with
 * single-threaded BLAS) so are runs on another thread count; the graph is rebuilt */
static void
test_stgraph_deterministic (void)
{
  SvRng rng;
  sv_rng_seed (&rng, 9);
  int B = 2, Tf = 6, S = 20, C = 64, H = 4, N = Tf * S;
  StgCase c = make_case (B, Tf, S, C, H, TRUE, 0.3f, 32, NULL, &rng);
  SvTensor *u = SV_TEST_TENSOR (B, N, 32);
  fill_u (sv_tensor_f32 (u), &rng, B, N, 32);
  GError *error = NULL;
  size_t n;
  int saved = sv_get_num_threads (), other = saved > 1 ? 1 : 3;
  g_assert_true (sv_stgraph_build (c.graph, u, Tf, 0.3f, &error));
  float *r0 = run_all (&c, &n), *r1 = run_all (&c, &n);
  g_assert_true (memcmp (r0, r1, n * sizeof (float)) == 0);
  sv_set_num_threads (other);
  g_assert_true (sv_stgraph_build (c.graph, u, Tf, 0.3f, &error));
  float *r2 = run_all (&c, &n);
  sv_set_num_threads (saved);
  g_assert_no_error (error);
  if (memcmp (r0, r2, n * sizeof (float)) != 0) {
    g_test_message ("stgraph: %d and %d threads give different bits", saved, other);
    g_test_fail ();
  }
  g_free (r0);
  g_free (r1);
  g_free (r2);
  sv_tensor_free (u);
  free_case (&c);
}

/* a graph row with nothing kept (possible in a hand-made band graph) gives att 0, out 0
 * and no gradient, like the dense op */
static void
test_stgraph_zero_row (void)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 17);
  int B = 1, Tf = 3, S = 4, C = 8, H = 2, N = Tf * S, W = 3 * S;
  StgCase c = make_case (B, Tf, S, C, H, TRUE, 0.5f, 4, NULL, &rng);
  int zr = 5;
  for (int jb = 0; jb < W; jb++)
    sv_tensor_f32 (c.graph)[(size_t) zr * W + jb] = 0.0f;
  g_assert_true (
      sv_stgraph_attention_forward (c.out, c.att, c.q, c.k, c.v, c.graph, Tf, H, &error));
  g_assert_no_error (error);
  SvTensor *dq = SV_TEST_TENSOR (B, N, C), *scratch = SV_TEST_TENSOR (B, H, N, W);
  g_assert_true (sv_stgraph_attention_backward (dq, NULL, NULL, scratch, c.probe, c.att, c.q, c.k,
                                                c.v, c.graph, Tf, H, &error));
  g_assert_no_error (error);
  for (int h = 0; h < H; h++)
    for (int jb = 0; jb < W; jb++)
      g_assert_cmpfloat (sv_tensor_f32 (c.att)[((size_t) h * N + zr) * W + jb], ==, 0.0f);
  for (int ch = 0; ch < C; ch++) {
    g_assert_cmpfloat (sv_tensor_f32 (c.out)[(size_t) zr * C + ch], ==, 0.0f);
    g_assert_cmpfloat (sv_tensor_f32 (dq)[(size_t) zr * C + ch], ==, 0.0f);
  }
  sv_tensor_free (dq);
  sv_tensor_free (scratch);
  free_case (&c);
}

static void
test_stgraph_errors (void)
{
  GError *error = NULL;
  /* B=2, Tf=3, S=4 (N=12), C=12, H=3, Cg=5 */
  SvTensor *q = SV_TEST_TENSOR (2, 12, 12), *k = SV_TEST_TENSOR (2, 12, 12);
  SvTensor *v = SV_TEST_TENSOR (2, 12, 12), *out = SV_TEST_TENSOR (2, 12, 12);
  SvTensor *att = SV_TEST_TENSOR (2, 3, 12, 12), *graph = SV_TEST_TENSOR (2, 12, 12);
  SvTensor *u = SV_TEST_TENSOR (2, 12, 5), *scratch = SV_TEST_TENSOR (2 * 3 * 12 * 12);
  SvTensor *dq = SV_TEST_TENSOR (2, 12, 12), *dk = SV_TEST_TENSOR (2, 12, 12);
  SvRng rng;
  sv_rng_seed (&rng, 1);
  sv_test_fill (u, &rng, -1, 1);
  sv_test_fill (q, &rng, -1, 1);
  sv_test_fill (k, &rng, -1, 1);
  sv_test_fill (v, &rng, -1, 1);

  g_assert_true (sv_stgraph_build (graph, u, 3, 0.5f, &error));
  g_assert_no_error (error);
  g_assert_true (sv_stgraph_attention_forward (out, att, q, k, v, graph, 3, 3, &error));
  g_assert_no_error (error);
  g_assert_true (sv_stgraph_attention_forward (out, att, q, k, v, NULL, 3, 3, &error));
  g_assert_no_error (error);

  /* build: frames, theta, shapes, dtypes */
  g_assert_false (sv_stgraph_build (graph, u, 5, 0.5f, &error)); /* 12 % 5 */
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_build (graph, u, 0, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_build (graph, u, -3, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_build (graph, u, 3, 1.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_build (graph, u, 3, -1.01f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_build (graph, u, 3, NAN, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_build (graph, u, 2, 0.5f, &error)); /* S = 6: graph is [2,12,18] */
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  SvTensor *u2 = SV_TEST_TENSOR (24, 5), *u0 = SV_TEST_TENSOR (2, 12, 0);
  SvTensor *u_b = SV_TEST_TENSOR (1, 12, 5), *g_n = SV_TEST_TENSOR (2, 12, 36);
  g_assert_false (sv_stgraph_build (graph, u2, 3, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_stgraph_build (graph, u0, 3, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_stgraph_build (graph, u_b, 3, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_stgraph_build (g_n, u, 3, 0.5f, &error)); /* a dense [N, N]-style 3N */
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  SvTensor *ids = sv_test_tensor (SV_I32, 3, (int64_t[]){ 2, 12, 5 });
  g_assert_false (sv_stgraph_build (graph, ids, 3, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_build (NULL, u, 3, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  /* attention: frames and heads */
  g_assert_false (sv_stgraph_attention_forward (out, att, q, k, v, graph, 5, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_attention_forward (out, att, q, k, v, graph, 0, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_attention_forward (out, att, q, k, v, graph, 3, 5, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_attention_forward (out, att, q, k, v, graph, 3, 0, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* the caches depend on frames and heads */
  g_assert_false (sv_stgraph_attention_forward (out, att, q, k, v, graph, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_stgraph_attention_forward (out, att, q, k, v, graph, 3, 2, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);

  /* shapes */
  SvTensor *k_n = SV_TEST_TENSOR (2, 9, 12), *k_c = SV_TEST_TENSOR (2, 12, 8);
  SvTensor *v_b = SV_TEST_TENSOR (1, 12, 12), *q2 = SV_TEST_TENSOR (24, 12);
  SvTensor *out_bad = SV_TEST_TENSOR (2, 12, 8), *att_dense = SV_TEST_TENSOR (2, 3, 12, 36);
  SvTensor *graph_dense = SV_TEST_TENSOR (2, 12, 36),
           *scratch_bad = SV_TEST_TENSOR (2 * 3 * 12 * 12 - 1);
  SvTensor *q0 = SV_TEST_TENSOR (2, 12, 0);
  SvTensor *shape_fails[][6] = {
    /* out, att, q, k, v, graph */
    { out, att, q, k_n, v, NULL },      { out, att, q, k_c, v, NULL },
    { out, att, q, k, v_b, NULL },      { out, att, q2, k, v, NULL },
    { out_bad, att, q, k, v, NULL },    { out, att_dense, q, k, v, NULL },
    { out, att, q, k, v, graph_dense }, { out, att, q0, q0, q0, NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (shape_fails); i++) {
    SvTensor **s = shape_fails[i];
    g_assert_false (
        sv_stgraph_attention_forward (s[0], s[1], s[2], s[3], s[4], s[5], 3, 3, &error));
    sv_test_expect_error (&error, SV_ERROR_SHAPE);
  }
  SvTensor *qi = sv_test_tensor (SV_I32, 3, (int64_t[]){ 2, 12, 12 });
  g_assert_false (sv_stgraph_attention_forward (out, att, qi, k, v, graph, 3, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_attention_forward (out, NULL, q, k, v, graph, 3, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  /* backward */
  g_assert_true (sv_stgraph_attention_forward (out, att, q, k, v, graph, 3, 3, &error));
  g_assert_true (sv_stgraph_attention_backward (dq, dk, NULL, scratch, out, att, q, k, v, graph, 3,
                                                3, &error));
  g_assert_no_error (error);
  g_assert_false (
      sv_stgraph_attention_backward (dq, NULL, NULL, NULL, out, att, q, k, v, graph, 3, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_stgraph_attention_backward (NULL, dk, NULL, scratch_bad, out, att, q, k, v,
                                                 graph, 3, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_stgraph_attention_backward (NULL, out_bad, NULL, scratch, out, att, q, k, v,
                                                 graph, 3, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_stgraph_attention_backward (NULL, NULL, dk, NULL, out_bad, att, q, k, v, graph,
                                                 3, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_stgraph_attention_backward (NULL, NULL, dk, NULL, out, att, q, k, v, graph, 5, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (
      sv_stgraph_attention_backward (NULL, NULL, dk, NULL, out, att, q, k, v, graph, 3, 5, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (
      sv_stgraph_attention_backward (NULL, NULL, dk, NULL, out, att, q, k, v, graph, 3, 6, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE); /* att has 3 heads */
  g_assert_true (sv_stgraph_attention_backward (NULL, NULL, NULL, NULL, out, att, q, k, v, graph, 3,
                                                3, &error));
  g_assert_no_error (error);

  SvTensor *all[] = { q,  k,       v,         out,         att,         graph, u,   scratch, dq,
                      dk, u2,      u0,        u_b,         g_n,         ids,   k_n, k_c,     v_b,
                      q2, out_bad, att_dense, graph_dense, scratch_bad, q0,    qi };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* A backend whose table has no stgraph entries (a new backend written before these ops)
 * gets SV_ERROR_UNSUPPORTED, not a crash. */
static void
test_stgraph_unsupported (void)
{
  GError *error = NULL;
  SvBackend *cpu = sv_backend_cpu ();
  SvBackendClass klass = *cpu->klass;
  klass.name = "no-stgraph";
  klass.stgraph_build = NULL;
  klass.stgraph_attention_forward = NULL;
  klass.stgraph_attention_backward = NULL;
  SvBackend fake = *cpu;
  fake.klass = &klass;
  SvTensor *q = SV_TEST_TENSOR (1, 4, 4), *u = SV_TEST_TENSOR (1, 4, 3);
  SvTensor *out = SV_TEST_TENSOR (1, 4, 4), *att = SV_TEST_TENSOR (1, 1, 4, 6);
  SvTensor *graph = SV_TEST_TENSOR (1, 4, 6), *dq = SV_TEST_TENSOR (1, 4, 4);
  SvTensor *scratch = SV_TEST_TENSOR (1, 1, 4, 6);
  SvTensor *all[] = { q, u, out, att, graph, dq, scratch };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    all[i]->backend = &fake;
  g_assert_false (sv_stgraph_build (graph, u, 2, 0.5f, &error));
  sv_test_expect_error (&error, SV_ERROR_UNSUPPORTED);
  g_assert_false (sv_stgraph_attention_forward (out, att, q, q, q, graph, 2, 1, &error));
  sv_test_expect_error (&error, SV_ERROR_UNSUPPORTED);
  g_assert_false (sv_stgraph_attention_backward (dq, NULL, NULL, scratch, out, att, q, q, q, graph,
                                                 2, 1, &error));
  sv_test_expect_error (&error, SV_ERROR_UNSUPPORTED);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
    all[i]->backend = cpu;
    sv_tensor_free (all[i]);
  }
}

/* ---- timing: band vs dense (a message, not an assertion) ----
 * Wall time at the configured thread count, and (robust against other load on the
 * machine) the CPU time of the calling thread with everything on one thread. */

static double
now_ms (clockid_t clk)
{
  struct timespec ts;
  clock_gettime (clk, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
time_best (int reps, void (*fn) (gpointer), gpointer user, clockid_t clk)
{
  double best = INFINITY;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms (clk);
    fn (user);
    best = fmin (best, now_ms (clk) - t0);
  }
  return best;
}

typedef struct {
  StgCase *c;
  SvTensor *dg, *att_d, *out_d, *scr, *scr_d, *dq, *dk, *dv;
} Bench;

static void
bench_band (gpointer user)
{
  Bench *b = user;
  StgCase *c = b->c;
  GError *error = NULL;
  sv_stgraph_attention_forward (c->out, c->att, c->q, c->k, c->v, c->graph, c->Tf, c->H, &error);
  sv_stgraph_attention_backward (b->dq, b->dk, b->dv, b->scr, c->probe, c->att, c->q, c->k, c->v,
                                 c->graph, c->Tf, c->H, &error);
  g_assert_no_error (error);
}

static void
bench_dense (gpointer user)
{
  Bench *b = user;
  StgCase *c = b->c;
  GError *error = NULL;
  sv_attention_forward (b->out_d, b->att_d, c->q, c->k, c->v, b->dg, c->H, &error);
  sv_attention_backward (b->dq, b->dk, b->dv, b->scr_d, c->probe, b->att_d, c->q, c->k, c->v, b->dg,
                         c->H, &error);
  g_assert_no_error (error);
}

static void
bench_build (gpointer user)
{
  Bench *b = user;
  GError *error = NULL;
  /* u = q as graph features (the size of the LN'd tokens) */
  sv_stgraph_build (b->c->graph, b->c->q, b->c->Tf, 0.5f, &error);
  g_assert_no_error (error);
}

static void
test_stgraph_bench (void)
{
  const int frames[] = { 8, 16, 32 };
  int B = 1, S = 49, C = 192, H = 3, nt = sv_get_num_threads ();
  g_test_message ("stgraph timing, attention forward + backward, B=%d S=%d C=%d H=%d; best of "
                  "5 runs, ms; wall time on %d threads | CPU time on 1 thread:",
                  B, S, C, H, nt);
  for (guint f = 0; f < G_N_ELEMENTS (frames); f++) {
    SvRng rng;
    sv_rng_seed (&rng, 41);
    int Tf = frames[f], N = Tf * S;
    Bench b = { 0 };
    b.dg = SV_TEST_TENSOR (B, N, N);
    StgCase c = make_case (B, Tf, S, C, H, TRUE, 0.5f, 8, sv_tensor_f32 (b.dg), &rng);
    b.c = &c;
    b.att_d = SV_TEST_TENSOR (B, H, N, N);
    b.scr_d = SV_TEST_TENSOR (B, H, N, N);
    b.out_d = SV_TEST_TENSOR (B, N, C);
    b.scr = SV_TEST_TENSOR (B, H, N, 3 * S);
    b.dq = SV_TEST_TENSOR (B, N, C);
    b.dk = SV_TEST_TENSOR (B, N, C);
    b.dv = SV_TEST_TENSOR (B, N, C);
    bench_band (&b); /* warm up */
    bench_dense (&b);
    sv_test_assert_close ("stgraph bench out", sv_tensor_f32 (c.out), sv_tensor_f32 (b.out_d),
                          c.out->numel, 1e-4, 1e-5);
    double tb = time_best (5, bench_band, &b, CLOCK_MONOTONIC);
    double td = time_best (5, bench_dense, &b, CLOCK_MONOTONIC);
    sv_set_num_threads (1);
    double cb = time_best (5, bench_band, &b, CLOCK_THREAD_CPUTIME_ID);
    double cd = time_best (5, bench_dense, &b, CLOCK_THREAD_CPUTIME_ID);
    double cg = time_best (5, bench_build, &b, CLOCK_THREAD_CPUTIME_ID);
    sv_set_num_threads (nt);
    g_test_message ("  Tf=%2d N=%4d: band %7.2f | %7.2f, dense %7.2f | %7.2f (dense/band %4.1fx "
                    "| %4.1fx); graph build %5.2f (1 thread, Cg=C); att cache %.1f MB band vs "
                    "%.1f MB dense",
                    Tf, N, tb, cb, td, cd, td / tb, cd / cb, cg, c.att->numel * 4e-6,
                    b.att_d->numel * 4e-6);
    SvTensor *all[] = { b.dg, b.att_d, b.scr_d, b.out_d, b.scr, b.dq, b.dk, b.dv };
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
      sv_tensor_free (all[i]);
    free_case (&c);
  }
}

/* ---- PyTorch: tests/torch/ref_stgraph.py ---- */

static void
test_torch_stgraph (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  const char *sets[] = { "a", "b", "c", "d" };
  for (guint s = 0; s < G_N_ELEMENTS (sets); s++) {
    GError *error = NULL;
    const char *names[] = { "u", "q", "k", "v", "graph", "out", "att", "gout", "gq", "gk", "gv" };
    SvTensor *r[G_N_ELEMENTS (names)];
    for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
      char *n = g_strdup_printf ("%s.%s", sets[s], names[i]);
      r[i] = sv_test_ref (st, n);
      g_free (n);
    }
    char *n1 = g_strdup_printf ("%s.heads", sets[s]), *n2 = g_strdup_printf ("%s.frames", sets[s]);
    char *n3 = g_strdup_printf ("%s.theta", sets[s]);
    int H = (int) sv_test_ref_scalar (st, n1), Tf = (int) sv_test_ref_scalar (st, n2);
    float theta = sv_test_ref_scalar (st, n3);
    g_free (n1);
    g_free (n2);
    g_free (n3);
    int B = (int) r[1]->shape[0], N = (int) r[1]->shape[1], C = (int) r[1]->shape[2];
    int S = N / Tf, W = 3 * S;
    SvTensor *graph = SV_TEST_TENSOR (B, N, W), *att = SV_TEST_TENSOR (B, H, N, W);
    SvTensor *scratch = SV_TEST_TENSOR (B, H, N, W), *out = SV_TEST_TENSOR (B, N, C);
    SvTensor *dq = SV_TEST_TENSOR (B, N, C), *dk = SV_TEST_TENSOR (B, N, C);
    SvTensor *dv = SV_TEST_TENSOR (B, N, C);
    g_assert_true (sv_stgraph_build (graph, r[0], Tf, theta, &error));
    g_assert_no_error (error);
    g_assert_true (sv_stgraph_attention_forward (out, att, r[1], r[2], r[3], graph, Tf, H, &error));
    g_assert_no_error (error);
    g_assert_true (sv_stgraph_attention_backward (dq, dk, dv, scratch, r[7], att, r[1], r[2], r[3],
                                                  graph, Tf, H, &error));
    g_assert_no_error (error);

    /* the band graph and att against torch's dense M and att (gathered; out-of-range 0;
     * same zero pattern) */
    float *gw = g_new (float, graph->numel), *aw = g_new (float, att->numel);
    size_t pattern = 0;
    for (int bh = 0; bh < B * H; bh++)
      for (int i = 0; i < N; i++)
        for (int jb = 0; jb < W; jb++) {
          int j = band_key (i, jb, Tf, S), b = bh / H;
          float gd = j < 0 ? 0.0f : sv_tensor_f32 (r[4])[((size_t) b * N + i) * N + j];
          float ad = j < 0 ? 0.0f : sv_tensor_f32 (r[6])[((size_t) bh * N + i) * N + j];
          size_t gi = ((size_t) b * N + i) * W + jb;
          gw[gi] = gd;
          aw[((size_t) bh * N + i) * W + jb] = ad;
          pattern += (sv_tensor_f32 (graph)[gi] == 0.0f) != (gd == 0.0f);
        }
    g_assert_cmpuint (pattern, ==, 0);
    SvTensor *got[] = { graph, att, out, dq, dk, dv };
    const float *want[] = { gw,
                            aw,
                            sv_tensor_f32 (r[5]),
                            sv_tensor_f32 (r[8]),
                            sv_tensor_f32 (r[9]),
                            sv_tensor_f32 (r[10]) };
    const char *what[] = { "graph", "att", "out", "gq", "gk", "gv" };
    for (guint i = 0; i < G_N_ELEMENTS (got); i++) {
      char *w = g_strdup_printf ("torch stgraph %s %s", sets[s], what[i]);
      double e =
          sv_test_assert_close (w, sv_tensor_f32 (got[i]), want[i], got[i]->numel, 1e-4, 1e-5);
      g_test_message ("%s: max abs error %.3g", w, e);
      g_free (w);
    }
    g_free (gw);
    g_free (aw);
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      sv_tensor_free (r[i]);
    SvTensor *all[] = { graph, att, scratch, out, dq, dk, dv };
    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
      sv_tensor_free (all[i]);
  }
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/stgraph/build", test_stgraph_build);
  g_test_add_func ("/stgraph/build-threshold", test_stgraph_build_threshold);
  g_test_add_func ("/stgraph/vs-dense", test_stgraph_vs_dense);
  g_test_add_func ("/stgraph/large", test_stgraph_large);
  g_test_add_func ("/stgraph/gradients", test_stgraph_gradients);
  g_test_add_func ("/stgraph/deterministic", test_stgraph_deterministic);
  g_test_add_func ("/stgraph/zero-row", test_stgraph_zero_row);
  g_test_add_func ("/stgraph/errors", test_stgraph_errors);
  g_test_add_func ("/stgraph/unsupported", test_stgraph_unsupported);
  g_test_add_func ("/stgraph/bench", test_stgraph_bench);
  g_test_add_func ("/torch/stgraph", test_torch_stgraph);
  return g_test_run ();
}
