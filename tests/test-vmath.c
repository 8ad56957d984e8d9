/* The vectorisable exp and normal CDF of svilm-core/cpu/vmath.h against double
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

/* relative error of sv_vnormcdf over a grid of [lo, hi]; the absolute one into *max_abs */
static double
sweep_normcdf (float lo, float hi, double *max_abs)
{
  double max_rel = 0.0;
  *max_abs = 0.0;
  for (int k = 0; k <= 1600000; k++) {
    float x = MIN (lo + (hi - lo) * (float) k / 1600000.0f, hi);
    double want = 0.5 * erfc (-(double) x / sqrt (2.0)), got = sv_vnormcdf (x);
    max_rel = MAX (max_rel, fabs (got - want) / want);
    *max_abs = MAX (*max_abs, fabs (got - want));
  }
  return max_rel;
}

static void
test_normcdf_accuracy (void)
{
  /* the negative tail is where GELU's gate is a small number: relative error counts */
  double abs_err, rel = sweep_normcdf (-8.0f, 8.0f, &abs_err);
  g_test_message ("sv_vnormcdf on [-8, 8]: max relative error %.3g, absolute %.3g", rel, abs_err);
  g_assert_cmpfloat (rel, <, 1e-6);
  g_assert_cmpfloat (abs_err, <, 2.5 * ULP);
}

static void
test_normcdf_special (void)
{
  g_assert_cmpfloat (sv_vnormcdf (0.0f), ==, 0.5f);
  g_assert_cmpfloat (sv_vnormcdf (INFINITY), ==, 1.0f);
  g_assert_cmpfloat (sv_vnormcdf (-INFINITY), ==, 0.0f);
  g_assert_cmpfloat (sv_vnormcdf (-40.0f), ==, 0.0f);
  g_assert_cmpfloat (sv_vnormcdf (40.0f), ==, 1.0f);
  g_assert_true (isnan (sv_vnormcdf (NAN)));
  /* symmetry: Phi(x) + Phi(-x) = 1 */
  for (float x = 0.0f; x < 6.0f; x += 0.37f)
    g_assert_cmpfloat (fabs (sv_vnormcdf (x) + sv_vnormcdf (-x) - 1.0), <, ULP);
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
    vp[i] = sv_vnormcdf (x[i] * 0.1f);
  }
  for (int i = 0; i < N; i++) {
    volatile float xi = x[i];
    float e = sv_vexpf (xi), p = sv_vnormcdf (xi * 0.1f);
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
    p[i] = sv_vnormcdf (x[i] * (8.0f / 86.6f));
  }
}
SV_CPU_TARGETS (sweep_loop, (const float *x, float *e, float *p, int n), (x, e, p, n))

static void
check_version (const char *what, void (*loop) (const float *, float *, float *, int))
{
  enum { N = 2000001 };
  float *x = g_new (float, N), *e = g_new (float, N), *p = g_new (float, N);
  for (int k = 0; k < N; k++) /* [-86.6, 86.6] for exp, [-8, 8] for Phi */
    x[k] = -86.6f + 173.2f * (float) k / (float) (N - 1);
  loop (x, e, p, N);
  double exp_rel = 0.0, cdf_rel = 0.0, cdf_abs = 0.0;
  for (int k = 0; k < N; k++) {
    double want = exp ((double) x[k]);
    exp_rel = MAX (exp_rel, fabs (e[k] - want) / want);
    double z = (double) (x[k] * (8.0f / 86.6f));
    double cdf = 0.5 * erfc (-z / sqrt (2.0));
    cdf_rel = MAX (cdf_rel, fabs (p[k] - cdf) / cdf);
    cdf_abs = MAX (cdf_abs, fabs (p[k] - cdf));
  }
  g_test_message ("%s: exp %.2f ulp, Phi relative %.3g, absolute %.3g", what, exp_rel / ULP,
                  cdf_rel, cdf_abs);
  g_assert_cmpfloat (exp_rel, <, 1.5 * ULP);
  g_assert_cmpfloat (cdf_rel, <, 1e-6);
  g_assert_cmpfloat (cdf_abs, <, 2.5 * ULP);
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
  g_test_add_func ("/vmath/normcdf/accuracy", test_normcdf_accuracy);
  g_test_add_func ("/vmath/normcdf/special", test_normcdf_special);
  g_test_add_func ("/vmath/vector-matches-scalar", test_vector_matches_scalar);
  g_test_add_func ("/vmath/simd-versions", test_simd_versions);
  return g_test_run ();
}
