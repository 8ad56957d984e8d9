/* Test helpers. */
#include "sv-test.h"

#include <math.h>
#include <string.h>

static char *torch_ref_path;

void
sv_test_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  /* g_test_init removes the options it knows; the first remaining argument is ours */
  if (*argc > 1)
    torch_ref_path = g_strdup ((*argv)[1]);
}

SvTensor *
sv_test_tensor (SvDType dtype, int ndim, const int64_t *shape)
{
  GError *error = NULL;
  SvTensor *t = sv_tensor_new (sv_backend_cpu (), dtype, ndim, shape, &error);
  g_assert_no_error (error);
  return t;
}

void
sv_test_fill (SvTensor *t, SvRng *rng, float lo, float hi)
{
  g_assert (t->dtype == SV_F32);
  sv_rng_fill_uniform (rng, sv_tensor_f32 (t), t->numel, lo, hi);
}

double
sv_test_assert_close (const char *what, const float *got, const float *want, size_t n, double rtol,
                      double atol)
{
  double max_err = 0.0;
  size_t worst = 0, bad = 0;
  for (size_t i = 0; i < n; i++) {
    double err = fabs ((double) got[i] - (double) want[i]);
    if (!(err <= atol + rtol * fabs ((double) want[i]))) { /* also catches NaN */
      if (bad == 0 || err > max_err || isnan (err))
        worst = i;
      bad++;
    }
    if (err > max_err || isnan (err))
      max_err = err;
  }
  if (bad) {
    g_test_message ("%s: %zu of %zu values differ; worst at %zu: got %.8g want %.8g", what, bad, n,
                    worst, (double) got[worst], (double) want[worst]);
    g_test_fail ();
  }
  return max_err;
}

void
sv_test_gradcheck (const char *what, float *param, size_t n, const float *analytic,
                   SvTestLossFn loss, gpointer user, double eps, double rtol, double atol,
                   size_t max_checks)
{
  size_t step = n <= max_checks ? 1 : n / max_checks;
  size_t bad = 0, checked = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n; i += step) {
    float orig = param[i];
    param[i] = (float) (orig + eps);
    double lp = loss (user);
    param[i] = (float) (orig - eps);
    double lm = loss (user);
    param[i] = orig;
    /* use the perturbation actually representable in float */
    double h = ((double) (float) (orig + eps) - (double) (float) (orig - eps));
    double fd = (lp - lm) / h;
    double an = analytic[i];
    double err = fabs (fd - an);
    double tol = atol + rtol * MAX (fabs (fd), fabs (an));
    checked++;
    if (!(err <= tol)) {
      if (bad < 5)
        g_test_message ("%s: d/d[%zu]: finite difference %.8g, analytic %.8g", what, i, fd, an);
      bad++;
    }
    if (err > worst)
      worst = err;
  }
  if (bad) {
    g_test_message ("%s: %zu of %zu gradient entries off (worst abs error %.3g)", what, bad,
                    checked, worst);
    g_test_fail ();
  }
}

double
sv_test_dot (const SvTensor *t, const SvTensor *w)
{
  g_assert_cmpuint (t->numel, ==, w->numel);
  const float *a = sv_tensor_f32 (t), *b = sv_tensor_f32 (w);
  double s = 0.0;
  for (size_t i = 0; i < t->numel; i++)
    s += (double) a[i] * (double) b[i];
  return s;
}

void
sv_test_expect_error (GError **error, int code)
{
  g_assert_error (*error, SV_ERROR, code);
  g_assert_true ((*error)->message && (*error)->message[0]);
  g_test_message ("expected error: %s", (*error)->message);
  g_clear_error (error);
}

SvSafetensors *
sv_test_torch_refs (void)
{
  if (!torch_ref_path) {
    g_test_skip ("no PyTorch reference file given (run through meson test; python3-torch needed)");
    return NULL;
  }
  GError *error = NULL;
  SvSafetensors *st = sv_safetensors_open (torch_ref_path, &error);
  g_assert_no_error (error);
  return st;
}

SvTensor *
sv_test_ref (SvSafetensors *st, const char *name)
{
  GError *error = NULL;
  const SvSafetensorsEntry *e = sv_safetensors_find (st, name, &error);
  g_assert_no_error (error);
  SvTensor *t = sv_test_tensor (e->dtype, e->ndim, e->shape);
  sv_safetensors_load_tensor (st, name, t, &error);
  g_assert_no_error (error);
  return t;
}

float
sv_test_ref_scalar (SvSafetensors *st, const char *name)
{
  SvTensor *t = sv_test_ref (st, name);
  g_assert_cmpuint (t->numel, ==, 1);
  float v = sv_tensor_f32 (t)[0];
  sv_tensor_free (t);
  return v;
}
