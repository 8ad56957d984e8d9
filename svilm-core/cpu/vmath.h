/* svilm-core CPU kernels: exp and erf written so that the compiler can
 * vectorise the loops that call them (`#pragma omp simd`).
 *
 * libm's expf and erfcf are scalar calls: in a profile of svilmscenecut they were 6 % and
 * 8 % of the samples (softmax rows and GELU).  These are branch-free: a range reduction,
 * a polynomial and selects, all of which SSE2 has as packed instructions.
 *
 * Accuracy (measured against double precision over dense sweeps, tests/test-ops-vmath.c):
 *   sv_vexpf     relative error < 1.5 ulp on [-86.6, 88.7228]; 0 below (where exp is under
 *                2.4e-38, flushed), +inf above, NaN stays NaN;
 *   sv_verf      absolute error < 5e-7 everywhere (max at |x| ~ 3.6), odd, within [-1, 1],
 *                NaN stays NaN.
 */
#pragma once

#include <stdint.h>

/* The loops that call these are compiled three times, for the baseline x86-64 (SSE2, 4
 * lanes), for AVX2 + FMA (8) and for AVX-512 (16); the first call picks the widest this
 * CPU runs.  SSE2 alone left GELU at 131 M elements/s, 16 % of svilmscenecut's time.
 *
 * A kernel is written once, as a `static SV_VMATH_INLINE void` function; SV_CPU_TARGETS
 * (kernel, (params), (args)) adds kernel_avx2 and kernel_avx512, which inline it under a
 * target attribute, and kernel_any, which calls the chosen one.  (GCC's target_clones does
 * the same with an ifunc, but its resolver picked the baseline on this project's AMD
 * build machine, whose AVX2 and AVX-512 __builtin_cpu_supports reports.)  SVILM_SIMD=sse2,
 * avx2 or avx512 caps the choice, so that tests can run each on one machine. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define SV_VMATH_INLINE __attribute__ ((always_inline)) inline
#define SV_TARGET_AVX2 __attribute__ ((target ("avx2,fma")))
#define SV_TARGET_AVX512 __attribute__ ((target ("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")))
#else
#define SV_VMATH_INLINE inline
#define SV_TARGET_AVX2
#define SV_TARGET_AVX512
#endif

typedef enum {
  SV_SIMD_SSE2,   /* or whatever the compiler's baseline is, off x86-64 */
  SV_SIMD_AVX2,   /* with FMA */
  SV_SIMD_AVX512, /* F, VL, BW, DQ */
} SvSimdLevel;

/* the widest of the three this CPU (and its OS) runs, capped by $SVILM_SIMD */
SvSimdLevel sv_cpu_simd_level (void);

#define SV_CPU_TARGETS(name, params, args)                                                         \
  SV_TARGET_AVX2 static void name##_avx2 params                                                    \
  {                                                                                                \
    name args;                                                                                     \
  }                                                                                                \
  SV_TARGET_AVX512 static void name##_avx512 params                                                \
  {                                                                                                \
    name args;                                                                                     \
  }                                                                                                \
  static void name##_any params                                                                    \
  {                                                                                                \
    static void (*chosen) params;                                                                  \
    void (*f) params = __atomic_load_n (&chosen, __ATOMIC_RELAXED);                                \
    if (!f) {                                                                                      \
      SvSimdLevel level = sv_cpu_simd_level ();                                                    \
      f = level == SV_SIMD_AVX512 ? name##_avx512 : level == SV_SIMD_AVX2 ? name##_avx2 : name;    \
      __atomic_store_n (&chosen, f, __ATOMIC_RELAXED);                                             \
    }                                                                                              \
    f args;                                                                                        \
  }

/* exp(x): x = n ln2 + r, |r| <= ln2 / 2, exp(r) by Cephes' expf polynomial, 2^n into the
 * exponent bits */
static SV_VMATH_INLINE float
sv_vexpf (float x)
{
  /* 2^(n - 1) must be a normal float for every n: n in [-125, 128] */
  const float lo = -86.6f, hi = 88.7228f; /* exp(hi) just under FLT_MAX */
  float xc = x > hi ? hi : x;             /* NaN fails both comparisons and stays NaN */
  xc = xc < lo ? lo : xc;
  /* round-to-nearest of x / ln2 by the 1.5 * 2^23 trick (no SSE4.1 round needed) */
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  /* r = x - n ln2 with ln2 split in two, so that n * C1 is exact */
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  /* a NaN x leaves n NaN, whose conversion to int is undefined: 0 instead (p is NaN and
   * carries it to the result); otherwise n + 126 is in [1, 254] */
  n = n == n ? n : 0.0f;
  union {
    uint32_t i;
    float f;
  } scale = { .i = (uint32_t) ((int32_t) n + 126) << 23 };
  float y = p * scale.f * 2.0f; /* 2^n as 2^(n - 1) * 2: n = 128 near FLT_MAX */
  y = x < lo ? 0.0f : y;
  return x > hi ? __builtin_inff () : y;
}

/* erf(x) by the rational fit of Eigen and XLA (x P(x^2) / Q(x^2), degrees 13 / 8, x clamped
 * to [-4, 4] where erf is +-1 in float), the result clamped to [-1, 1]: absolute error
 * under 5e-7.  GELU's gate is Phi(x) = 0.5 (1 + erf(x / sqrt 2)), PyTorch's form: one
 * division and a dozen FMAs, where the erfc of Numerical Recipes that it replaces took two
 * exponentials and a division for a relative accuracy of Phi in the negative tail that a
 * GELU does not need (its output there is x Phi(x), a few 1e-7 at most off in absolute
 * terms either way): GELU 4x faster, 6.7 % of svilmscenecut's samples before. */
static SV_VMATH_INLINE float
sv_verf (float x)
{
  float z = x > 4.0f ? 4.0f : x; /* NaN fails both comparisons and stays NaN */
  z = z < -4.0f ? -4.0f : z;
  float z2 = z * z;
  float p = -2.72614225801306e-10f;
  p = p * z2 + 2.77068142495902e-08f;
  p = p * z2 - 2.10102402082508e-06f;
  p = p * z2 - 5.69250639462346e-05f;
  p = p * z2 - 7.34990630326855e-04f;
  p = p * z2 - 2.95459980854025e-03f;
  p = p * z2 - 1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * z2 - 2.13374055278905e-04f;
  q = q * z2 - 1.68282697438203e-03f;
  q = q * z2 - 7.37332916720468e-03f;
  q = q * z2 - 1.42647390514189e-02f;
  float e = z * p / q; /* up to 2 ulp above 1 near z = 3.6 */
  e = e > 1.0f ? 1.0f : e;
  return e < -1.0f ? -1.0f : e;
}
