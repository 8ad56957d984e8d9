/* assign (GroupViT grouping assignment): forward vs a naive double loop, soft backward vs
 * finite differences, hard (straight-through) backward vs the formula of method.md section 5,
 * Gumbel noise, argument errors, and PyTorch references (/torch/ cases). */
#include "sv-test.h"

#include <math.h>
#include <string.h>

/* ---- naive double references ---- */

/* y, out [B,M,N], denom [B,M], best [B,N] (argmax over m, ties -> lowest) */
static void
naive_assign (double *y, double *out, double *denom, int *best, const float *logits,
              const float *noise, int B, int M, int N, double inv_tau, gboolean hard)
{
  for (int b = 0; b < B; b++) {
    for (int n = 0; n < N; n++) {
      double maxv = -INFINITY, sum = 0.0;
      for (int m = 0; m < M; m++) {
        size_t i = ((size_t) b * M + m) * N + n;
        double z = ((double) logits[i] + (noise ? noise[i] : 0.0)) * inv_tau;
        y[i] = z;
        maxv = MAX (maxv, z);
      }
      for (int m = 0; m < M; m++) {
        size_t i = ((size_t) b * M + m) * N + n;
        y[i] = exp (y[i] - maxv);
        sum += y[i];
      }
      int bm = 0;
      for (int m = 0; m < M; m++) {
        size_t i = ((size_t) b * M + m) * N + n;
        y[i] /= sum;
        if (y[i] > y[((size_t) b * M + bm) * N + n])
          bm = m;
      }
      best[b * N + n] = bm;
      for (int m = 0; m < M; m++) {
        size_t i = ((size_t) b * M + m) * N + n;
        out[i] = hard ? (m == bm ? 1.0 : 0.0) : y[i];
      }
    }
    for (int m = 0; m < M; m++) {
      double s = 0.0;
      for (int n = 0; n < N; n++)
        s += out[((size_t) b * M + m) * N + n];
      denom[b * M + m] = s + 1.0;
      for (int n = 0; n < N; n++)
        out[((size_t) b * M + m) * N + n] /= s + 1.0;
    }
  }
}

/* the backward formula of method.md section 5, in double, from the op's caches */
static void
naive_assign_backward (double *dlogits, const float *dout, const float *out, const float *y,
                       const float *denom, int B, int M, int N, double inv_tau)
{
  double *ga = g_new (double, (size_t) M *N + 1);
  for (int b = 0; b < B; b++) {
    const size_t o = (size_t) b * M * N;
    for (int m = 0; m < M; m++) {
      double s = 0.0;
      for (int n = 0; n < N; n++)
        s += (double) dout[o + m * N + n] * out[o + m * N + n];
      for (int n = 0; n < N; n++)
        ga[m * N + n] = (dout[o + m * N + n] - s) / denom[b * M + m];
    }
    for (int n = 0; n < N; n++) {
      double dot = 0.0;
      for (int m = 0; m < M; m++)
        dot += ga[m * N + n] * y[o + m * N + n];
      for (int m = 0; m < M; m++)
        dlogits[o + m * N + n] = inv_tau * y[o + m * N + n] * (ga[m * N + n] - dot);
    }
  }
  g_free (ga);
}

static void
assert_close_d (const char *what, const float *got, const double *want, size_t n, double rtol,
                double atol)
{
  float *w = g_new (float, n + 1);
  for (size_t i = 0; i < n; i++)
    w[i] = (float) want[i];
  sv_test_assert_close (what, got, w, n, rtol, atol);
  g_free (w);
}

typedef struct {
  SvTensor *out, *y, *denom, *logits, *noise, *probe;
  float tau;
  gboolean hard;
} AssignCase;

static double
assign_loss (gpointer user)
{
  AssignCase *c = user;
  GError *error = NULL;
  sv_assign_forward (c->out, c->y, c->denom, c->logits, c->noise, c->tau, c->hard, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_assign (int B, int M, int N, float tau, gboolean hard, gboolean with_noise)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (B * 100000 + M * 1000 + N * 10 + hard));
  AssignCase c = {
    .out = SV_TEST_TENSOR (B, M, N),
    .y = SV_TEST_TENSOR (B, M, N),
    .denom = SV_TEST_TENSOR (B, M),
    .logits = SV_TEST_TENSOR (B, M, N),
    .noise = with_noise ? SV_TEST_TENSOR (B, M, N) : NULL,
    .probe = SV_TEST_TENSOR (B, M, N),
    .tau = tau,
    .hard = hard,
  };
  const size_t numel = (size_t) B * M * N;
  sv_test_fill (c.logits, &rng, -2, 2);
  sv_test_fill (c.probe, &rng, -1, 1);
  if (c.noise)
    sv_rng_fill_gumbel (42, (uint64_t) N, sv_tensor_f32 (c.noise), numel);

  /* forward vs naive */
  sv_assign_forward (c.out, c.y, c.denom, c.logits, c.noise, tau, hard, &error);
  g_assert_no_error (error);
  double *y = g_new (double, numel + 1), *out = g_new (double, numel + 1);
  double *denom = g_new (double, (size_t) B *M + 1);
  int *best = g_new (int, (size_t) B *N + 1);
  naive_assign (y, out, denom, best, sv_tensor_f32 (c.logits), sv_tensor_f32 (c.noise), B, M, N,
                1.0 / tau, hard);
  assert_close_d ("assign y", sv_tensor_f32 (c.y), y, numel, 1e-5, 1e-6);
  assert_close_d ("assign denom", sv_tensor_f32 (c.denom), denom, (size_t) B * M, 1e-5, 1e-6);
  assert_close_d ("assign out", sv_tensor_f32 (c.out), out, numel, 1e-5, 1e-6);
  if (hard) {
    /* exactly one-hot / (count + 1) */
    const float *o = sv_tensor_f32 (c.out), *d = sv_tensor_f32 (c.denom);
    for (int b = 0; b < B; b++)
      for (int m = 0; m < M; m++) {
        int count = 0;
        for (int n = 0; n < N; n++)
          count += best[b * N + n] == m;
        g_assert_cmpfloat (d[b * M + m], ==, (float) (count + 1));
        for (int n = 0; n < N; n++) {
          float want = best[b * N + n] == m ? 1.0f / (float) (count + 1) : 0.0f;
          g_assert_cmpfloat (o[((size_t) b * M + m) * N + n], ==, want);
        }
      }
  }

  /* backward onto a non-zero start */
  SvTensor *dlogits = SV_TEST_TENSOR (B, M, N), *scratch = SV_TEST_TENSOR (B, M);
  float *dl = sv_tensor_f32 (dlogits);
  for (size_t i = 0; i < numel; i++)
    dl[i] = 0.25f;
  sv_assign_backward (dlogits, scratch, c.probe, c.out, c.y, c.denom, tau, &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < numel; i++)
    dl[i] -= 0.25f;
  double *want = g_new (double, numel + 1);
  naive_assign_backward (want, sv_tensor_f32 (c.probe), sv_tensor_f32 (c.out), sv_tensor_f32 (c.y),
                         sv_tensor_f32 (c.denom), B, M, N, 1.0 / tau);
  assert_close_d ("assign dlogits vs formula", dl, want, numel, 1e-4, 1e-6);
  if (!hard) /* the hard forward is piecewise constant: no finite differences there */
    sv_test_gradcheck ("assign dlogits", sv_tensor_f32 (c.logits), numel, dl, assign_loss, &c, 1e-2,
                       2e-3, 2e-4, 200);

  g_free (want);
  g_free (y);
  g_free (out);
  g_free (denom);
  g_free (best);
  SvTensor *all[] = { dlogits, scratch, c.out, c.y, c.denom, c.logits, c.noise, c.probe };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static const int sizes[][3] = {
  { 1, 1, 1 }, { 1, 3, 1 }, { 2, 7, 5 }, { 1, 7, 33 }, { 3, 33, 7 }, { 2, 8, 196 },
};

static void
test_assign_soft (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    check_assign (sizes[i][0], sizes[i][1], sizes[i][2], 1.0f, FALSE, FALSE);
    check_assign (sizes[i][0], sizes[i][1], sizes[i][2], 0.5f, FALSE, TRUE);
    check_assign (sizes[i][0], sizes[i][1], sizes[i][2], 2.0f, FALSE, TRUE);
  }
}

static void
test_assign_hard (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    check_assign (sizes[i][0], sizes[i][1], sizes[i][2], 1.0f, TRUE, FALSE);
    check_assign (sizes[i][0], sizes[i][1], sizes[i][2], 0.7f, TRUE, TRUE);
    check_assign (sizes[i][0], sizes[i][1], sizes[i][2], 3.0f, TRUE, TRUE);
  }
}

/* Hand-made cases: noise moves the argmax where expected, a low temperature makes
 * the soft assignment nearly one-hot, exact ties go to the lowest group, and a tiny
 * tau with large logits stays finite. */
static void
test_assign_noise_argmax (void)
{
  GError *error = NULL;
  /* B=1, M=3 groups, N=4 tokens; group 0 wins every token without noise */
  SvTensor *logits = SV_TEST_TENSOR (1, 3, 4), *noise = SV_TEST_TENSOR (1, 3, 4);
  SvTensor *out = SV_TEST_TENSOR (1, 3, 4), *y = SV_TEST_TENSOR (1, 3, 4);
  SvTensor *denom = SV_TEST_TENSOR (1, 3);
  const float lg[12] = { 1, 1, 1, 1, 0, 0, 0, 0, -1, -1, -1, -1 };
  memcpy (sv_tensor_f32 (logits), lg, sizeof lg);
  sv_assign_forward (out, y, denom, logits, NULL, 1.0f, TRUE, &error);
  g_assert_no_error (error);
  const float *o = sv_tensor_f32 (out), *d = sv_tensor_f32 (denom);
  for (int n = 0; n < 4; n++) {
    g_assert_cmpfloat (o[0 * 4 + n], ==, 1.0f / 5.0f);
    g_assert_cmpfloat (o[1 * 4 + n], ==, 0.0f);
    g_assert_cmpfloat (o[2 * 4 + n], ==, 0.0f);
  }
  g_assert_cmpfloat (d[0], ==, 5.0f);
  g_assert_cmpfloat (d[1], ==, 1.0f);
  g_assert_cmpfloat (d[2], ==, 1.0f);

  /* noise: token 1 -> group 2 (+3 beats the gap of 2), token 3 -> group 1 */
  float *nz = sv_tensor_f32 (noise);
  nz[2 * 4 + 1] = 3.0f;
  nz[1 * 4 + 3] = 1.5f;
  sv_assign_forward (out, y, denom, logits, noise, 1.0f, TRUE, &error);
  g_assert_no_error (error);
  const int want_best[4] = { 0, 2, 0, 1 };
  const float want_denom[3] = { 3, 2, 2 };
  for (int m = 0; m < 3; m++) {
    g_assert_cmpfloat (d[m], ==, want_denom[m]);
    for (int n = 0; n < 4; n++)
      g_assert_cmpfloat (o[m * 4 + n], ==, want_best[n] == m ? 1.0f / want_denom[m] : 0.0f);
  }
  /* the same noise at a low temperature: soft y is nearly the one-hot */
  sv_assign_forward (out, y, denom, logits, noise, 0.01f, FALSE, &error);
  g_assert_no_error (error);
  const float *yy = sv_tensor_f32 (y);
  for (int n = 0; n < 4; n++)
    for (int m = 0; m < 3; m++)
      g_assert_cmpfloat (fabsf (yy[m * 4 + n] - (want_best[n] == m ? 1.0f : 0.0f)), <, 1e-6f);

  /* exact ties -> lowest group; M groups with equal logits */
  float *l = sv_tensor_f32 (logits);
  for (int i = 0; i < 12; i++)
    l[i] = 0.5f;
  sv_assign_forward (out, y, denom, logits, NULL, 1.0f, TRUE, &error);
  g_assert_no_error (error);
  for (int n = 0; n < 4; n++) {
    g_assert_cmpfloat (o[0 * 4 + n], ==, 1.0f / 5.0f);
    g_assert_cmpfloat (o[1 * 4 + n] + o[2 * 4 + n], ==, 0.0f);
  }

  /* extreme temperature: large logits * inv_tau stay finite */
  for (int i = 0; i < 12; i++)
    l[i] = (float) (i % 5) * 30.0f - 60.0f;
  sv_assign_forward (out, y, denom, logits, NULL, 1e-3f, FALSE, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 12; i++)
    g_assert_true (isfinite (yy[i]) && isfinite (o[i]));

  SvTensor *all[] = { logits, noise, out, y, denom };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* Gumbel noise from sv_rng_fill_gumbel is thread-count independent, so the whole
 * assignment is reproducible; also check the noise is not degenerate (it moves
 * some argmaxes of equal-logit columns). */
static void
test_assign_gumbel (void)
{
  GError *error = NULL;
  const int B = 2, M = 8, N = 64;
  SvTensor *logits = SV_TEST_TENSOR (B, M, N), *noise = SV_TEST_TENSOR (B, M, N);
  SvTensor *out = SV_TEST_TENSOR (B, M, N), *y = SV_TEST_TENSOR (B, M, N);
  SvTensor *denom = SV_TEST_TENSOR (B, M);
  sv_rng_fill_gumbel (7, 3, sv_tensor_f32 (noise), noise->numel);
  sv_assign_forward (out, y, denom, logits, noise, 1.0f, TRUE, &error);
  g_assert_no_error (error);
  /* with all-zero logits the argmax is the argmax of the noise; several groups win */
  const float *nz = sv_tensor_f32 (noise), *o = sv_tensor_f32 (out);
  int wins[8] = { 0 };
  for (int b = 0; b < B; b++)
    for (int n = 0; n < N; n++) {
      int bm = 0;
      for (int m = 1; m < M; m++)
        if (nz[((size_t) b * M + m) * N + n] > nz[((size_t) b * M + bm) * N + n])
          bm = m;
      wins[bm]++;
      for (int m = 0; m < M; m++)
        g_assert_cmpfloat (o[((size_t) b * M + m) * N + n] != 0.0f, ==, m == bm);
    }
  int groups_used = 0;
  for (int m = 0; m < M; m++)
    groups_used += wins[m] > 0;
  g_assert_cmpint (groups_used, >=, 4);
  SvTensor *all[] = { logits, noise, out, y, denom };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_assign_errors (void)
{
  GError *error = NULL;
  SvTensor *logits = SV_TEST_TENSOR (2, 3, 5), *out = SV_TEST_TENSOR (2, 3, 5);
  SvTensor *y = SV_TEST_TENSOR (2, 3, 5), *denom = SV_TEST_TENSOR (2, 3);
  SvTensor *bad = SV_TEST_TENSOR (2, 5, 3), *flat = SV_TEST_TENSOR (6, 5);
  SvTensor *bad_denom = SV_TEST_TENSOR (2, 5), *scratch = SV_TEST_TENSOR (6);
  SvTensor *small = SV_TEST_TENSOR (5);
  SvTensor *ids = sv_test_tensor (SV_I32, 3, (int64_t[]){ 2, 3, 5 });

  /* temperatures */
  const float taus[] = { 0.0f, -1.0f, NAN, INFINITY, 1e-45f };
  for (guint i = 0; i < G_N_ELEMENTS (taus); i++) {
    g_assert_false (sv_assign_forward (out, y, denom, logits, NULL, taus[i], TRUE, &error));
    sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
    g_assert_false (sv_assign_backward (logits, scratch, out, out, y, denom, taus[i], &error));
    sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  }
  /* shapes */
  g_assert_false (sv_assign_forward (out, y, denom, flat, NULL, 1.0f, TRUE, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_forward (bad, y, denom, logits, NULL, 1.0f, TRUE, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_forward (out, bad, denom, logits, NULL, 1.0f, FALSE, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_forward (out, y, bad_denom, logits, NULL, 1.0f, TRUE, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_forward (out, y, denom, logits, bad, 1.0f, TRUE, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_forward (out, y, denom, ids, NULL, 1.0f, TRUE, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_assign_forward (out, y, NULL, logits, NULL, 1.0f, TRUE, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* backward */
  SvTensor *dl = SV_TEST_TENSOR (2, 3, 5);
  g_assert_false (sv_assign_backward (dl, small, out, out, y, denom, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_backward (dl, NULL, out, out, y, denom, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_assign_backward (bad, scratch, out, out, y, denom, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_backward (dl, scratch, bad, out, y, denom, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_backward (dl, scratch, out, out, y, bad_denom, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_assign_backward (dl, scratch, out, out, flat, denom, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* no gradient wanted: fine without scratch */
  g_assert_true (sv_assign_backward (NULL, NULL, out, out, y, denom, 1.0f, &error));
  g_assert_no_error (error);

  SvTensor *all[] = { logits, out, y, denom, bad, flat, bad_denom, scratch, small, ids, dl };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_assign.py (GroupViT gumbel_softmax + AssignAttention) ---- */

static void
torch_case (SvSafetensors *st, const char *suffix, const SvTensor *logits, const SvTensor *noise,
            float tau, gboolean hard)
{
  GError *error = NULL;
  char name[64];
  g_snprintf (name, sizeof name, "out_%s", suffix);
  SvTensor *want_out = sv_test_ref (st, name);
  g_snprintf (name, sizeof name, "y_%s", suffix);
  SvTensor *want_y = sv_test_ref (st, name);
  g_snprintf (name, sizeof name, "gout_%s", suffix);
  SvTensor *gout = sv_test_ref (st, name);
  g_snprintf (name, sizeof name, "glogits_%s", suffix);
  SvTensor *want_g = sv_test_ref (st, name);
  const int64_t *s = logits->shape;
  SvTensor *out = sv_test_tensor (SV_F32, 3, s), *y = sv_test_tensor (SV_F32, 3, s);
  SvTensor *denom = sv_test_tensor (SV_F32, 2, s), *scratch = sv_test_tensor (SV_F32, 2, s);
  SvTensor *dl = sv_test_tensor (SV_F32, 3, s);
  sv_assign_forward (out, y, denom, logits, noise, tau, hard, &error);
  g_assert_no_error (error);
  sv_assign_backward (dl, scratch, gout, out, y, denom, tau, &error);
  g_assert_no_error (error);
  char what[64];
  g_snprintf (what, sizeof what, "torch assign out (%s)", suffix);
  sv_test_assert_close (what, sv_tensor_f32 (out), sv_tensor_f32 (want_out), out->numel, 1e-4,
                        1e-5);
  g_snprintf (what, sizeof what, "torch assign y (%s)", suffix);
  sv_test_assert_close (what, sv_tensor_f32 (y), sv_tensor_f32 (want_y), y->numel, 1e-4, 1e-5);
  g_snprintf (what, sizeof what, "torch assign dlogits (%s)", suffix);
  sv_test_assert_close (what, sv_tensor_f32 (dl), sv_tensor_f32 (want_g), dl->numel, 1e-4, 1e-5);
  SvTensor *all[] = { want_out, want_y, gout, want_g, out, y, denom, scratch, dl };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_torch_assign (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  SvTensor *logits = sv_test_ref (st, "logits"), *noise = sv_test_ref (st, "noise");
  float tau = sv_test_ref_scalar (st, "tau");
  torch_case (st, "soft", logits, noise, tau, FALSE);
  torch_case (st, "hard", logits, noise, tau, TRUE);
  torch_case (st, "infer", logits, NULL, 1.0f, TRUE);
  sv_tensor_free (logits);
  sv_tensor_free (noise);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/assign/soft", test_assign_soft);
  g_test_add_func ("/assign/hard", test_assign_hard);
  g_test_add_func ("/assign/noise-argmax", test_assign_noise_argmax);
  g_test_add_func ("/assign/gumbel", test_assign_gumbel);
  g_test_add_func ("/assign/errors", test_assign_errors);
  g_test_add_func ("/torch/assign", test_torch_assign);
  return g_test_run ();
}
