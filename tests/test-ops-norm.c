/* layernorm: forward vs a naive double loop, backward vs finite differences,
 * thread-count independence, shape/argument errors, and PyTorch references
 * (/torch/ cases, tests/torch/ref_norm.py). */
#include "sv-test.h"

#include <math.h>
#include <string.h>

/* ---- naive reference (double precision, biased variance) ---- */

static void
naive_layernorm (float *out, float *mean, float *rstd, const float *inp, const float *w,
                 const float *b, int N, int C, float eps)
{
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t) n * C;
    double m = 0.0, v = 0.0;
    for (int c = 0; c < C; c++)
      m += x[c];
    m /= C;
    for (int c = 0; c < C; c++)
      v += (x[c] - m) * (x[c] - m);
    v /= C;
    double s = 1.0 / sqrt (v + eps);
    for (int c = 0; c < C; c++)
      out[(size_t) n * C + c] = (float) ((x[c] - m) * s * w[c] + (b ? b[c] : 0.0));
    mean[n] = (float) m;
    rstd[n] = (float) s;
  }
}

typedef struct {
  SvTensor *out, *mean, *rstd, *inp, *w, *b, *probe;
  float eps;
} LnCase;

static double
ln_loss (gpointer user)
{
  LnCase *c = user;
  GError *error = NULL;
  sv_layernorm_forward (c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->eps, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

/* input [B, T, C] (normalised over C; B*T rows), values in [lo, lo + 2] */
static void
check_layernorm (int B, int T, int C, gboolean with_bias, float lo, float eps)
{
  SvRng rng;
  GError *error = NULL;
  int N = B * T;
  sv_rng_seed (&rng, (uint64_t) (B * 100000 + T * 1000 + C));
  LnCase c = {
    .out = SV_TEST_TENSOR (B, T, C),
    .mean = SV_TEST_TENSOR (B, T),
    .rstd = SV_TEST_TENSOR (B, T),
    .inp = SV_TEST_TENSOR (B, T, C),
    .w = SV_TEST_TENSOR (C),
    .b = with_bias ? SV_TEST_TENSOR (C) : NULL,
    .probe = SV_TEST_TENSOR (B, T, C),
    .eps = eps,
  };
  sv_test_fill (c.inp, &rng, lo, lo + 2);
  sv_test_fill (c.w, &rng, 0.5f, 1.5f);
  if (c.b)
    sv_test_fill (c.b, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);

  /* forward vs naive, caches included */
  sv_layernorm_forward (c.out, c.mean, c.rstd, c.inp, c.w, c.b, eps, &error);
  g_assert_no_error (error);
  size_t n_out = (size_t) N * C;
  float *want = g_new (float, n_out + 1), *wm = g_new (float, N + 1), *wr = g_new (float, N + 1);
  naive_layernorm (want, wm, wr, sv_tensor_f32 (c.inp), sv_tensor_f32 (c.w), sv_tensor_f32 (c.b), N,
                   C, eps);
  sv_test_assert_close ("layernorm forward", sv_tensor_f32 (c.out), want, n_out, 1e-5, 1e-5);
  sv_test_assert_close ("layernorm mean", sv_tensor_f32 (c.mean), wm, N, 1e-6, 1e-6);
  sv_test_assert_close ("layernorm rstd", sv_tensor_f32 (c.rstd), wr, N, 1e-5, 1e-6);
  g_free (want);
  g_free (wm);
  g_free (wr);

  /* backward, accumulating onto non-zero gradients, vs finite differences */
  SvTensor *dinp = SV_TEST_TENSOR (B, T, C), *dw = SV_TEST_TENSOR (C), *db = SV_TEST_TENSOR (C);
  sv_test_fill (dinp, &rng, -1, 1);
  sv_test_fill (dw, &rng, -1, 1);
  sv_test_fill (db, &rng, -1, 1);
  float *start_dinp = g_memdup2 (sv_tensor_f32 (dinp), n_out * 4);
  float *start_dw = g_memdup2 (sv_tensor_f32 (dw), (size_t) C * 4);
  float *start_db = g_memdup2 (sv_tensor_f32 (db), (size_t) C * 4);
  sv_layernorm_backward (dinp, dw, with_bias ? db : NULL, c.probe, c.inp, c.w, c.mean, c.rstd,
                         &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < n_out; i++)
    sv_tensor_f32 (dinp)[i] -= start_dinp[i];
  for (int i = 0; i < C; i++) {
    sv_tensor_f32 (dw)[i] -= start_dw[i];
    sv_tensor_f32 (db)[i] -= start_db[i];
  }
  if (!with_bias) { /* a NULL gradient is left alone */
    float *zeros = g_new0 (float, C);
    sv_test_assert_close ("layernorm dbias untouched", sv_tensor_f32 (db), zeros, C, 0, 0);
    g_free (zeros);
  }
  sv_test_gradcheck ("layernorm dinp", sv_tensor_f32 (c.inp), c.inp->numel, sv_tensor_f32 (dinp),
                     ln_loss, &c, 1e-2, 1e-3, 1e-3, 200);
  sv_test_gradcheck ("layernorm dweight", sv_tensor_f32 (c.w), c.w->numel, sv_tensor_f32 (dw),
                     ln_loss, &c, 1e-2, 1e-3, 1e-3, 200);
  if (with_bias)
    sv_test_gradcheck ("layernorm dbias", sv_tensor_f32 (c.b), c.b->numel, sv_tensor_f32 (db),
                       ln_loss, &c, 1e-2, 1e-3, 1e-3, 200);

  /* only some gradients requested: dinp alone, then dweight alone */
  SvTensor *dinp2 = SV_TEST_TENSOR (B, T, C), *dw2 = SV_TEST_TENSOR (C);
  sv_layernorm_backward (dinp2, NULL, NULL, c.probe, c.inp, c.w, c.mean, c.rstd, &error);
  g_assert_no_error (error);
  sv_layernorm_backward (NULL, dw2, NULL, c.probe, c.inp, c.w, c.mean, c.rstd, &error);
  g_assert_no_error (error);
  sv_test_assert_close ("layernorm dinp alone", sv_tensor_f32 (dinp2), sv_tensor_f32 (dinp), n_out,
                        1e-5, 1e-5);
  sv_test_assert_close ("layernorm dweight alone", sv_tensor_f32 (dw2), sv_tensor_f32 (dw), C, 1e-5,
                        1e-5);

  g_free (start_dinp);
  g_free (start_dw);
  g_free (start_db);
  SvTensor *all[] = { dinp, dw, db, dinp2, dw2, c.out, c.mean, c.rstd, c.inp, c.w, c.b, c.probe };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_layernorm (void)
{
  /* C = 1 is degenerate: zero variance, out = bias, zero input gradient */
  check_layernorm (1, 1, 1, TRUE, -1, 1e-5f);
  check_layernorm (3, 5, 1, FALSE, -1, 1e-5f);
  check_layernorm (1, 7, 7, TRUE, -1, 1e-5f);
  check_layernorm (2, 3, 7, FALSE, -1, 1e-6f);
  check_layernorm (3, 11, 33, TRUE, -1, 1e-5f);
  check_layernorm (2, 5, 256, TRUE, -1, 1e-6f);
  /* rows with a large mean (two-pass variance) */
  check_layernorm (2, 4, 33, TRUE, 100, 1e-5f);
}

/* a constant row: variance 0, so out = bias and rstd = 1/sqrt(eps) */
static void
test_layernorm_constant_row (void)
{
  GError *error = NULL;
  int C = 16;
  SvTensor *x = SV_TEST_TENSOR (2, C), *out = SV_TEST_TENSOR (2, C), *w = SV_TEST_TENSOR (C);
  SvTensor *b = SV_TEST_TENSOR (C), *mean = SV_TEST_TENSOR (2), *rstd = SV_TEST_TENSOR (2);
  for (int i = 0; i < 2 * C; i++)
    sv_tensor_f32 (x)[i] = i < C ? 3.25f : -7.0f;
  for (int i = 0; i < C; i++) {
    sv_tensor_f32 (w)[i] = 1.0f + i;
    sv_tensor_f32 (b)[i] = 0.5f * i;
  }
  g_assert_true (sv_layernorm_forward (out, mean, rstd, x, w, b, 1e-5f, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 2 * C; i++)
    g_assert_cmpfloat (sv_tensor_f32 (out)[i], ==, 0.5f * (i % C));
  g_assert_cmpfloat_with_epsilon (sv_tensor_f32 (rstd)[0], 1.0 / sqrt (1e-5), 1e-2);
  g_assert_cmpfloat (sv_tensor_f32 (mean)[1], ==, -7.0f);
  SvTensor *all[] = { x, out, w, b, mean, rstd };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* dweight/dbias reduce over rows: the result must not depend on the thread count */
static void
test_layernorm_deterministic (void)
{
  SvRng rng;
  GError *error = NULL;
  int N = 301, C = 200;
  sv_rng_seed (&rng, 99);
  SvTensor *x = SV_TEST_TENSOR (N, C), *out = SV_TEST_TENSOR (N, C), *w = SV_TEST_TENSOR (C);
  SvTensor *mean = SV_TEST_TENSOR (N), *rstd = SV_TEST_TENSOR (N), *dy = SV_TEST_TENSOR (N, C);
  sv_test_fill (x, &rng, -2, 2);
  sv_test_fill (w, &rng, -1, 1);
  sv_test_fill (dy, &rng, -1, 1);
  g_assert_true (sv_layernorm_forward (out, mean, rstd, x, w, NULL, 1e-5f, &error));
  int saved = sv_get_num_threads ();
  SvTensor *dx[2], *dw[2], *db[2];
  for (int r = 0; r < 2; r++) {
    sv_set_num_threads (r == 0 ? 1 : 3);
    dx[r] = SV_TEST_TENSOR (N, C);
    dw[r] = SV_TEST_TENSOR (C);
    db[r] = SV_TEST_TENSOR (C);
    g_assert_true (sv_layernorm_backward (dx[r], dw[r], db[r], dy, x, w, mean, rstd, &error));
    g_assert_no_error (error);
  }
  sv_set_num_threads (saved);
  g_assert_true (memcmp (sv_tensor_f32 (dx[0]), sv_tensor_f32 (dx[1]), (size_t) N * C * 4) == 0);
  g_assert_true (memcmp (sv_tensor_f32 (dw[0]), sv_tensor_f32 (dw[1]), (size_t) C * 4) == 0);
  g_assert_true (memcmp (sv_tensor_f32 (db[0]), sv_tensor_f32 (db[1]), (size_t) C * 4) == 0);
  SvTensor *all[] = { x, out, w, mean, rstd, dy, dx[0], dx[1], dw[0], dw[1], db[0], db[1] };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_layernorm_errors (void)
{
  GError *error = NULL;
  SvTensor *x = SV_TEST_TENSOR (4, 6), *out = SV_TEST_TENSOR (4, 6), *w = SV_TEST_TENSOR (6);
  SvTensor *b = SV_TEST_TENSOR (6), *mean = SV_TEST_TENSOR (4), *rstd = SV_TEST_TENSOR (4);
  SvTensor *w5 = SV_TEST_TENSOR (5), *out_t = SV_TEST_TENSOR (6, 4), *mean3 = SV_TEST_TENSOR (3);
  SvTensor *w2d = SV_TEST_TENSOR (1, 6), *x0 = SV_TEST_TENSOR (4, 0), *e0 = SV_TEST_TENSOR (0);
  SvTensor *ids = sv_test_tensor (SV_I32, 2, (int64_t[]){ 4, 6 });
  SvTensor *scalar = sv_test_tensor (SV_F32, 0, (int64_t[]){ 1 });

  /* forward: shapes */
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, w5, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, w2d, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, w, w5, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_forward (out_t, mean, rstd, x, w, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_forward (out, mean3, rstd, x, w, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_forward (out, mean, mean3, x, w, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_forward (x0, e0, e0, x0, e0, NULL, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_layernorm_forward (scalar, scalar, scalar, scalar, scalar, NULL, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* forward: arguments */
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, w, b, 0.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, w, b, -1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, w, b, NAN, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, w, b, INFINITY, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_layernorm_forward (out, mean, rstd, x, NULL, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_layernorm_forward (out, NULL, rstd, x, w, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_layernorm_forward (out, mean, rstd, ids, w, b, 1e-5f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  /* backward */
  g_assert_true (sv_layernorm_forward (out, mean, rstd, x, w, b, 1e-5f, &error));
  g_assert_no_error (error);
  SvTensor *dx = SV_TEST_TENSOR (4, 6), *dw = SV_TEST_TENSOR (6);
  g_assert_false (sv_layernorm_backward (dx, dw, NULL, out_t, x, w, mean, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_backward (out_t, dw, NULL, out, x, w, mean, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_backward (dx, w5, NULL, out, x, w, mean, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_backward (dx, dw, w5, out, x, w, mean, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_backward (dx, dw, NULL, out, x, w, mean3, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_backward (dx, dw, NULL, out, x, w5, mean, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_layernorm_backward (dx, dw, NULL, out, x, NULL, mean, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_layernorm_backward (dx, dw, NULL, ids, x, w, mean, rstd, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* nothing requested is fine */
  g_assert_true (sv_layernorm_backward (NULL, NULL, NULL, out, x, w, mean, rstd, &error));
  g_assert_no_error (error);

  SvTensor *all[] = {
    x, out, w, b, mean, rstd, w5, out_t, mean3, w2d, x0, e0, ids, scalar, dx, dw
  };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_norm.py ---- */

static void
torch_layernorm_case (SvSafetensors *st, int C, gboolean with_bias)
{
  GError *error = NULL;
  char name[32];
#define REF(base) (g_snprintf (name, sizeof name, "%s%d", base, C), sv_test_ref (st, name))
  SvTensor *x = REF ("x"), *w = REF ("w"), *y = REF ("y"), *gy = REF ("gy"), *gx = REF ("gx");
  SvTensor *gw = REF ("gw"), *mean_ref = REF ("mean"), *rstd_ref = REF ("rstd");
  SvTensor *b = with_bias ? REF ("b") : NULL, *gb = with_bias ? REF ("gb") : NULL;
  g_snprintf (name, sizeof name, "eps%d", C);
  float eps = sv_test_ref_scalar (st, name);
#undef REF
  int64_t N = sv_tensor_rows (x);
  SvTensor *out = sv_test_tensor (SV_F32, y->ndim, y->shape);
  SvTensor *mean = SV_TEST_TENSOR (N), *rstd = SV_TEST_TENSOR (N);
  SvTensor *dx = sv_test_tensor (SV_F32, x->ndim, x->shape);
  SvTensor *dw = SV_TEST_TENSOR (C), *db = SV_TEST_TENSOR (C);
  g_assert_true (sv_layernorm_forward (out, mean, rstd, x, w, b, eps, &error));
  g_assert_no_error (error);
  g_assert_true (
      sv_layernorm_backward (dx, dw, with_bias ? db : NULL, gy, x, w, mean, rstd, &error));
  g_assert_no_error (error);
  g_test_message ("layernorm C=%d vs torch", C);
  sv_test_assert_close ("torch layernorm y", sv_tensor_f32 (out), sv_tensor_f32 (y), y->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch layernorm mean", sv_tensor_f32 (mean), sv_tensor_f32 (mean_ref),
                        mean_ref->numel, 1e-4, 1e-5);
  sv_test_assert_close ("torch layernorm rstd", sv_tensor_f32 (rstd), sv_tensor_f32 (rstd_ref),
                        rstd_ref->numel, 1e-4, 1e-5);
  sv_test_assert_close ("torch layernorm gx", sv_tensor_f32 (dx), sv_tensor_f32 (gx), gx->numel,
                        1e-4, 1e-5);
  sv_test_assert_close ("torch layernorm gw", sv_tensor_f32 (dw), sv_tensor_f32 (gw), gw->numel,
                        1e-4, 1e-5);
  if (with_bias)
    sv_test_assert_close ("torch layernorm gb", sv_tensor_f32 (db), sv_tensor_f32 (gb), gb->numel,
                          1e-4, 1e-5);
  SvTensor *all[] = { x, w, y, gy, gx, gw, mean_ref, rstd_ref, b, gb, out, mean, rstd, dx, dw, db };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_torch_layernorm (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  /* the same cases as ref_norm.py: C = 7 has no bias */
  torch_layernorm_case (st, 1, TRUE);
  torch_layernorm_case (st, 7, FALSE);
  torch_layernorm_case (st, 33, TRUE);
  torch_layernorm_case (st, 256, TRUE);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/layernorm/forward-backward", test_layernorm);
  g_test_add_func ("/layernorm/constant-row", test_layernorm_constant_row);
  g_test_add_func ("/layernorm/deterministic", test_layernorm_deterministic);
  g_test_add_func ("/layernorm/errors", test_layernorm_errors);
  g_test_add_func ("/torch/layernorm", test_torch_layernorm);
  return g_test_run ();
}
