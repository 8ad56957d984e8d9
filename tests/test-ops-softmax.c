/* softmax with temperature and mask: forward vs a naive double loop, backward vs
 * finite differences, fully masked rows, argument errors, and PyTorch references. */
#include "sv-test.h"

#include <math.h>

/* ---- naive reference (double) ---- */

static void
naive_softmax (float *out, const float *inp, const float *mask, int N, int C, double temperature)
{
  for (int n = 0; n < N; n++) {
    double maxv = -INFINITY, sum = 0.0;
    for (int c = 0; c < C; c++)
      if (!mask || mask[n * C + c] != 0.0f)
        maxv = fmax (maxv, inp[n * C + c] / temperature);
    for (int c = 0; c < C; c++)
      if ((!mask || mask[n * C + c] != 0.0f) && maxv > -INFINITY)
        sum += exp (inp[n * C + c] / temperature - maxv);
    for (int c = 0; c < C; c++) {
      gboolean on = (!mask || mask[n * C + c] != 0.0f) && sum > 0.0;
      out[n * C + c] = on ? (float) (exp (inp[n * C + c] / temperature - maxv) / sum) : 0.0f;
    }
  }
}

typedef struct {
  SvTensor *out, *inp, *mask, *probe;
  float temperature;
} SoftmaxCase;

static double
softmax_loss (gpointer user)
{
  SoftmaxCase *c = user;
  GError *error = NULL;
  sv_softmax_forward (c->out, c->inp, c->mask, c->temperature, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_softmax (int N, int C, float temperature, gboolean with_mask)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (N * 131 + C * 7 + (with_mask ? 1 : 0)));
  SoftmaxCase c = {
    .out = SV_TEST_TENSOR (N, C),
    .inp = SV_TEST_TENSOR (N, C),
    .mask = with_mask ? SV_TEST_TENSOR (N, C) : NULL,
    .probe = SV_TEST_TENSOR (N, C),
    .temperature = temperature,
  };
  sv_test_fill (c.inp, &rng, -2, 2);
  sv_test_fill (c.probe, &rng, -1, 1);
  if (c.mask) {
    float *m = sv_tensor_f32 (c.mask);
    for (size_t i = 0; i < c.mask->numel; i++)
      m[i] = sv_rng_uniform (&rng) < 0.7f ? 1.0f : 0.0f;
    /* first row: exactly one entry kept; last row (when N > 2): fully masked */
    for (int j = 0; j < C; j++)
      m[j] = j == C / 2 ? 1.0f : 0.0f;
    if (N > 2)
      for (int j = 0; j < C; j++)
        m[(size_t) (N - 1) * C + j] = 0.0f;
  }

  sv_softmax_forward (c.out, c.inp, c.mask, temperature, &error);
  g_assert_no_error (error);
  float *want = g_new (float, (size_t) N *C);
  naive_softmax (want, sv_tensor_f32 (c.inp), sv_tensor_f32 (c.mask), N, C, temperature);
  sv_test_assert_close ("softmax forward", sv_tensor_f32 (c.out), want, (size_t) N * C, 1e-5, 1e-6);
  g_free (want);

  /* backward, accumulating onto a non-zero start */
  SvTensor *dinp = SV_TEST_TENSOR (N, C);
  float *d = sv_tensor_f32 (dinp);
  for (size_t i = 0; i < dinp->numel; i++)
    d[i] = 0.25f;
  sv_softmax_backward (dinp, c.probe, c.out, temperature, &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < dinp->numel; i++)
    d[i] -= 0.25f;
  if (c.mask && N > 2)
    for (int j = 0; j < C; j++) {
      g_assert_cmpfloat (sv_tensor_f32 (c.out)[(size_t) (N - 1) * C + j], ==, 0.0f);
      g_assert_cmpfloat (fabsf (d[(size_t) (N - 1) * C + j]), <=, 1e-7f);
    }
  /* a step of about 1e-2 in the scaled logits */
  double eps = 1e-2 * fmin (1.0, temperature);
  sv_test_gradcheck ("softmax dinp", sv_tensor_f32 (c.inp), c.inp->numel, d, softmax_loss, &c, eps,
                     1e-3, 1e-3, 300);

  sv_tensor_free (dinp);
  sv_tensor_free (c.out);
  sv_tensor_free (c.inp);
  sv_tensor_free (c.mask);
  sv_tensor_free (c.probe);
}

static void
test_softmax (void)
{
  check_softmax (1, 1, 1.0f, FALSE);
  check_softmax (1, 1, 1.0f, TRUE);
  check_softmax (7, 5, 1.0f, FALSE);
  check_softmax (7, 5, 0.5f, TRUE);
  check_softmax (33, 17, 0.07f, TRUE);
  check_softmax (33, 17, 3.0f, FALSE);
  check_softmax (5, 1, 1.0f, TRUE);
  check_softmax (64, 129, 0.2f, TRUE); /* large enough for the OpenMP row loop */
}

/* large logits: no overflow thanks to the max subtraction; -inf entries act as masked */
static void
test_softmax_stability (void)
{
  GError *error = NULL;
  SvTensor *inp = SV_TEST_TENSOR (3, 4), *out = SV_TEST_TENSOR (3, 4);
  float *x = sv_tensor_f32 (inp);
  const float vals[12] = { 1000.f,    999.f, -1000.f,   1000.f,    -INFINITY, 2.f,
                           -INFINITY, 2.f,   -INFINITY, -INFINITY, -INFINITY, -INFINITY };
  for (int i = 0; i < 12; i++)
    x[i] = vals[i];
  sv_softmax_forward (out, inp, NULL, 1.0f, &error);
  g_assert_no_error (error);
  const float *y = sv_tensor_f32 (out);
  double e1 = exp (-1.0), z = 2.0 + e1;
  const float want[12] = { (float) (1 / z),
                           (float) (e1 / z),
                           0.f,
                           (float) (1 / z),
                           0.f,
                           0.5f,
                           0.f,
                           0.5f,
                           0.f,
                           0.f,
                           0.f,
                           0.f };
  sv_test_assert_close ("softmax large logits", y, want, 12, 1e-6, 1e-7);
  sv_tensor_free (inp);
  sv_tensor_free (out);
}

static void
test_softmax_errors (void)
{
  GError *error = NULL;
  SvTensor *inp = SV_TEST_TENSOR (4, 3), *out = SV_TEST_TENSOR (4, 3);
  SvTensor *bad = SV_TEST_TENSOR (3, 4), *mask_bad = SV_TEST_TENSOR (4, 2);
  const float bad_temps[] = { 0.0f, -1.0f, NAN, INFINITY, 1e-45f };
  for (guint i = 0; i < G_N_ELEMENTS (bad_temps); i++) {
    g_assert_false (sv_softmax_forward (out, inp, NULL, bad_temps[i], &error));
    sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
    g_assert_false (sv_softmax_backward (out, inp, out, bad_temps[i], &error));
    sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  }
  g_assert_false (sv_softmax_forward (bad, inp, NULL, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_forward (out, inp, mask_bad, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_backward (bad, inp, out, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_backward (out, bad, out, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  SvTensor *ids = sv_test_tensor (SV_I32, 2, (int64_t[]){ 4, 3 });
  g_assert_false (sv_softmax_forward (out, ids, NULL, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_softmax_forward (out, inp, ids, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_softmax_forward (NULL, inp, NULL, 1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* a NULL gradient is skipped */
  g_assert_true (sv_softmax_backward (NULL, inp, out, 1.0f, &error));
  g_assert_no_error (error);
  sv_tensor_free (ids);
  sv_tensor_free (inp);
  sv_tensor_free (out);
  sv_tensor_free (bad);
  sv_tensor_free (mask_bad);
}

/* ---- PyTorch: tests/torch/ref_softmax.py ---- */

static void
test_torch_softmax (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;
  float temperature = sv_test_ref_scalar (st, "temperature");
  const char *sets[][4] = { { "x", "mask", "y", "gx" }, { "x", NULL, "y_nomask", "gx_nomask" } };
  SvTensor *x = sv_test_ref (st, "x"), *gy = sv_test_ref (st, "gy");
  for (guint s = 0; s < G_N_ELEMENTS (sets); s++) {
    SvTensor *mask = sets[s][1] ? sv_test_ref (st, sets[s][1]) : NULL;
    SvTensor *y = sv_test_ref (st, sets[s][2]), *gx = sv_test_ref (st, sets[s][3]);
    SvTensor *out = sv_test_tensor (SV_F32, x->ndim, x->shape);
    SvTensor *dx = sv_test_tensor (SV_F32, x->ndim, x->shape);
    sv_softmax_forward (out, x, mask, temperature, &error);
    g_assert_no_error (error);
    sv_softmax_backward (dx, gy, out, temperature, &error);
    g_assert_no_error (error);
    double ey = sv_test_assert_close (sets[s][2], sv_tensor_f32 (out), sv_tensor_f32 (y), y->numel,
                                      1e-4, 1e-5);
    double eg = sv_test_assert_close (sets[s][3], sv_tensor_f32 (dx), sv_tensor_f32 (gx), gx->numel,
                                      1e-4, 1e-5);
    g_test_message ("torch softmax %s: max abs error %.3g, gradient %.3g", sets[s][2], ey, eg);
    sv_tensor_free (mask);
    sv_tensor_free (y);
    sv_tensor_free (gx);
    sv_tensor_free (out);
    sv_tensor_free (dx);
  }
  sv_tensor_free (x);
  sv_tensor_free (gy);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/softmax/forward-backward", test_softmax);
  g_test_add_func ("/softmax/stability", test_softmax_stability);
  g_test_add_func ("/softmax/errors", test_softmax_errors);
  g_test_add_func ("/torch/softmax", test_torch_softmax);
  return g_test_run ();
}
