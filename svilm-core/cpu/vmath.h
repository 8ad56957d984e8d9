/* svilm-core CPU kernels: exp and the normal CDF written so that the compiler can
 * vectorise the loops that call them (`#pragma omp simd`).
 *
 * libm's expf and erfcf are scalar calls: in a profile of svilmscenecut they were 6 % and
 * 8 % of the samples (softmax rows and GELU).  These are branch-free: a range reduction,
 * a polynomial and selects, all of which SSE2 has as packed instructions.
 *
 * Accuracy (measured against double precision over dense sweeps, tests/test-ops-vmath.c):
 *   sv_vexpf     relative error < 1.5 ulp on [-86.6, 88.7228]; 0 below (where exp is under
 *                2.4e-38, flushed), +inf above, NaN stays NaN;
 *   sv_vnormcdf  relative error < 1e-6 for x in [-8, 8], absolute under 3e-7 everywhere.
 */
#pragma once

#include <stdint.h>

/* exp(x): x = n ln2 + r, |r| <= ln2 / 2, exp(r) by Cephes' expf polynomial, 2^n into the
 * exponent bits */
static inline float
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

/* Phi(x) = 0.5 erfc(-x / sqrt 2), the standard normal CDF (GELU's gate).  erfc(z) for
 * z >= 0 by the Chebyshev fit of Numerical Recipes (erfcc: relative error < 1.2e-7 in
 * exact arithmetic), Phi(x) = 1 - Phi(-x) for x > 0.  Evaluating erfc rather than 1 + erf
 * keeps the negative tail accurate. */
static inline float
sv_vnormcdf (float x)
{
  /* |x| capped at 20, where Phi(-x) = 3e-89 is 0 in float: keeps +-inf out of the split
   * below (inf - inf); NaN fails the comparison and stays NaN */
  float a = __builtin_fabsf (x);
  a = a > 20.0f ? 20.0f : a;
  float z = a * 0.70710678118654752440f; /* erfc's argument */
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  /* exp(p - z^2) with z^2 = x^2 / 2 = (xh^2 + xl (a + xh)) / 2, a = |x| = xh + xl, xh with
   * 12 significant bits (Dekker's split) so that xh^2 / 2 is exact.  exp(-z * z) would
   * carry the rounding of z = |x| / sqrt 2 and of z^2: a relative error of 4e-6 at x = -8 */
  float c = a * 4097.0f;
  float xh = c - (c - a), xl = a - xh;
  float half_erfc = 0.5f * t * sv_vexpf (-0.5f * xh * xh) * sv_vexpf (p - 0.5f * xl * (a + xh));
  return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}
