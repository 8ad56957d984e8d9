/* The vectorisable exp and erf of svilm-core/cpu/vmath.h against double
 * precision over dense sweeps (the accuracy its header states), their special values,
 * and that the loops calling them give the same results vectorised as one at a time. */
#include "cpu/vmath.h"

#include <glib.h>
#include <math.h>

#define ULP 1.1920928955078125e-7 /* 2^-23: the spacing of floats in [1, 2), relative */

/* a uniform grid of 2e6 + 1 points in [lo, hi] */
static void
sweep_exp (float lo, float hi, double *max_rel, float *worst)
{
  *max_rel = 0.0;
  for (int k = 0; k <= 2000000; k++) {
    float x = MIN (lo + (hi - lo) * (float) k / 2000000.0f, hi);
    double want = exp ((double) x), got = sv_vexpf (x);
    double rel = fabs (got - want) / want;
    if (rel > *max_rel) {
      *max_rel = rel;
      *worst = x;
    }
  }
}

static void
test_exp_accuracy (void)
{
  double max_rel;
  float worst = 0.0f;
  sweep_exp (-86.6f, 88.7228f, &max_rel, &worst);
  g_test_message ("sv_vexpf on [-86.6, 88.7228]: max relative error %.3g (%.2f ulp) at %g", max_rel,
                  max_rel / ULP, worst);
  g_assert_cmpfloat (max_rel, <, 1.5 * ULP);
  /* where softmax lives: arguments in [-30, 0] */
  sweep_exp (-30.0f, 0.0f, &max_rel, &worst);
  g_test_message ("sv_vexpf on [-30, 0]: max relative error %.3g (%.2f ulp)", max_rel,
                  max_rel / ULP);
  g_assert_cmpfloat (max_rel, <, 1.5 * ULP);
}

static void
test_exp_special (void)
{
  g_assert_cmpfloat (sv_vexpf (0.0f), ==, 1.0f);
  g_assert_cmpfloat (sv_vexpf (-INFINITY), ==, 0.0f); /* masked softmax entries */
  g_assert_cmpfloat (sv_vexpf (-100.0f), ==, 0.0f);
  g_assert_true (isinf (sv_vexpf (100.0f)) && sv_vexpf (100.0f) > 0.0f);
  g_assert_true (isinf (sv_vexpf (INFINITY)));
  g_assert_true (isnan (sv_vexpf (NAN)));
  g_assert_true (isnan (sv_vexpf (-NAN)));
}

/* absolute error of sv_verf over a grid of 1.6e6 + 1 points in [lo, hi] */
static double
sweep_erf (float lo, float hi, float *worst)
{
  double max_abs = 0.0;
  for (int k = 0; k <= 1600000; k++) {
    float x = MIN (lo + (hi - lo) * (float) k / 1600000.0f, hi);
    double err = fabs (sv_verf (x) - erf ((double) x));
    if (err > max_abs) {
      max_abs = err;
      *worst = x;
    }
  }
  return max_abs;
}

static void
test_erf_accuracy (void)
{
  /* GELU's gate 0.5 (1 + erf(x / sqrt 2)): the absolute error is what reaches its output */
  float worst = 0.0f;
  double abs_err = sweep_erf (-6.0f, 6.0f, &worst);
  g_test_message ("sv_verf on [-6, 6]: max absolute error %.3g at %g", abs_err, worst);
  g_assert_cmpfloat (abs_err, <, 5e-7);
}

static void
test_erf_special (void)
{
  g_assert_cmpfloat (sv_verf (0.0f), ==, 0.0f);
  g_assert_cmpfloat (sv_verf (INFINITY), ==, 1.0f);
  g_assert_cmpfloat (sv_verf (-INFINITY), ==, -1.0f);
  g_assert_cmpfloat (sv_verf (40.0f), ==, 1.0f);
  g_assert_cmpfloat (sv_verf (-40.0f), ==, -1.0f);
  g_assert_true (isnan (sv_verf (NAN)));
  /* odd, and never outside [-1, 1] (the fit alone overshoots 1 by 2 ulp near 3.6): GELU's
   * output x Phi(x) stays within [min(x, 0), max(x, 0)] */
  for (float x = 0.0f; x < 6.0f; x += 0.0037f) {
    g_assert_cmpfloat (sv_verf (-x), ==, -sv_verf (x));
    g_assert_cmpfloat (sv_verf (x), <=, 1.0f);
  }
}

/* the loop the kernels run, vectorised (omp simd) against the same function called on
 * one element at a time through a volatile: identical bits */
static void
test_vector_matches_scalar (void)
{
  enum { N = 4099 }; /* not a multiple of the vector width: the epilogue runs too */
  float *x = g_new (float, N), *ve = g_new (float, N), *vp = g_new (float, N);
  for (int i = 0; i < N; i++)
    x[i] = -90.0f + 180.0f * (float) i / (float) (N - 1);
  x[7] = -INFINITY, x[11] = INFINITY, x[13] = NAN;
#pragma omp simd
  for (int i = 0; i < N; i++) {
    ve[i] = sv_vexpf (x[i]);
    vp[i] = sv_verf (x[i] * 0.1f);
  }
  for (int i = 0; i < N; i++) {
    volatile float xi = x[i];
    float e = sv_vexpf (xi), p = sv_verf (xi * 0.1f);
    if (isnan (e))
      g_assert_true (isnan (ve[i]));
    else
      g_assert_cmpfloat (ve[i], ==, e);
    if (isnan (p))
      g_assert_true (isnan (vp[i]));
    else
      g_assert_cmpfloat (vp[i], ==, p);
  }
  g_free (x);
  g_free (ve);
  g_free (vp);
}

/* The kernels' loops are also compiled for AVX2 + FMA and for AVX-512 (SV_CPU_TARGETS):
 * FMA contraction and other instruction choices must not break the stated accuracy, so
 * the same loop, compiled for each of those targets, is swept on the CPUs that run it. */
static SV_VMATH_INLINE void
sweep_loop (const float *x, float *e, float *p, int n)
{
#pragma omp simd
  for (int i = 0; i < n; i++) {
    e[i] = sv_vexpf (x[i]);
    p[i] = sv_verf (x[i] * (6.0f / 86.6f));
  }
}
SV_CPU_TARGETS (sweep_loop, (const float *x, float *e, float *p, int n), (x, e, p, n))

static void
check_version (const char *what, void (*loop) (const float *, float *, float *, int))
{
  enum { N = 2000001 };
  float *x = g_new (float, N), *e = g_new (float, N), *p = g_new (float, N);
  for (int k = 0; k < N; k++) /* [-86.6, 86.6] for exp, [-6, 6] for erf */
    x[k] = -86.6f + 173.2f * (float) k / (float) (N - 1);
  loop (x, e, p, N);
  double exp_rel = 0.0, erf_abs = 0.0;
  for (int k = 0; k < N; k++) {
    double want = exp ((double) x[k]);
    exp_rel = MAX (exp_rel, fabs (e[k] - want) / want);
    double z = (double) (x[k] * (6.0f / 86.6f));
    erf_abs = MAX (erf_abs, fabs (p[k] - erf (z)));
  }
  g_test_message ("%s: exp %.2f ulp, erf absolute %.3g", what, exp_rel / ULP, erf_abs);
  g_assert_cmpfloat (exp_rel, <, 1.5 * ULP);
  g_assert_cmpfloat (erf_abs, <, 5e-7);
  g_free (x);
  g_free (e);
  g_free (p);
}

static void
test_simd_versions (void)
{
  /* the library's choice, as $SVILM_SIMD caps it */
  SvSimdLevel level = sv_cpu_simd_level ();
  g_test_message ("this CPU runs the %s kernels", level == SV_SIMD_AVX512 ? "AVX-512"
                                                  : level == SV_SIMD_AVX2 ? "AVX2"
                                                                          : "SSE2");
  check_version ("baseline", sweep_loop);
  if (level >= SV_SIMD_AVX2)
    check_version ("AVX2 + FMA", sweep_loop_avx2);
  if (level >= SV_SIMD_AVX512)
    check_version ("AVX-512", sweep_loop_avx512);
  (void) sweep_loop_any;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vmath/exp/accuracy", test_exp_accuracy);
  g_test_add_func ("/vmath/exp/special", test_exp_special);
  g_test_add_func ("/vmath/erf/accuracy", test_erf_accuracy);
  g_test_add_func ("/vmath/erf/special", test_erf_special);
  g_test_add_func ("/vmath/vector-matches-scalar", test_vector_matches_scalar);
  g_test_add_func ("/vmath/simd-versions", test_simd_versions);
  return g_test_run ();
}
