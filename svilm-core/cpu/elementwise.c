/* svilm-core CPU kernels: elementwise GELU, broadcast add, scale (llm.c style).
 * Every output element depends on one input element (or, for the add backward's
 * db, on one column summed in a fixed order), so results do not depend on the
 * thread count, and forward outputs may alias their first input (in-place). */
#include "sv-cpu-kernels.h"

#include "vmath.h"

#include <math.h>

#define EW_PAR_MIN SV_CPU_PAR_MIN_ELEMS
/* elements a call of a vector kernel handles: the unit of work of the parallel loops */
#define EW_SPAN 4096
/* columns handled together by one thread when reducing db over the outer axis */
#define ADD_COL_BLOCK 64

#define INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */
#define INV_SQRT_2 0.70710678118654752440f

/* out[len] = gelu(inp[len]): one vector loop, compiled for each SIMD width */
static SV_VMATH_INLINE void
gelu_forward_span (float *out, const float *inp, ptrdiff_t len)
{
#pragma omp simd
  for (ptrdiff_t i = 0; i < len; i++) {
    float x = inp[i];
    out[i] = 0.5f * x * (1.0f + sv_verf (x * INV_SQRT_2));
  }
}

/* dinp[len] += dout[len] * gelu'(inp[len]) */
static SV_VMATH_INLINE void
gelu_backward_span (float *dinp, const float *dout, const float *inp, ptrdiff_t len)
{
#pragma omp simd
  for (ptrdiff_t i = 0; i < len; i++) {
    float x = inp[i];
    float cdf = 0.5f * (1.0f + sv_verf (x * INV_SQRT_2));
    float pdf = (float) INV_SQRT_2PI * sv_vexpf (-0.5f * x * x);
    dinp[i] += dout[i] * (cdf + x * pdf);
  }
}

SV_CPU_TARGETS (gelu_forward_span, (float *out, const float *inp, ptrdiff_t len), (out, inp, len))
SV_CPU_TARGETS (gelu_backward_span,
                (float *dinp, const float *dout, const float *inp, ptrdiff_t len),
                (dinp, dout, inp, len))

void
sv_cpu_gelu_forward (float *out, const float *inp, size_t n)
{
  // out[n] = x Phi(x), Phi(x) = 0.5 (1 + erf(x / sqrt 2))  (torch gelu, approximate='none',
  // in torch's form; erf: vmath.h).
  // Spans of EW_SPAN elements, each one call of the vector kernel for this CPU.
  ptrdiff_t len = (ptrdiff_t) n, spans = (len + EW_SPAN - 1) / EW_SPAN;
#pragma omp parallel for schedule(static) if (len >= EW_PAR_MIN)
  for (ptrdiff_t s = 0; s < spans; s++) {
    ptrdiff_t i0 = s * EW_SPAN;
    gelu_forward_span_any (out + i0, inp + i0, len - i0 < EW_SPAN ? len - i0 : EW_SPAN);
  }
}

void
sv_cpu_gelu_backward (float *dinp, const float *dout, const float *inp, size_t n)
{
  // d gelu / dx = Phi(x) + x phi(x), Phi(x) = 0.5 (1 + erf(x / sqrt 2)),
  // phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
  if (!dinp)
    return;
  ptrdiff_t len = (ptrdiff_t) n, spans = (len + EW_SPAN - 1) / EW_SPAN;
#pragma omp parallel for schedule(static) if (len >= EW_PAR_MIN)
  for (ptrdiff_t s = 0; s < spans; s++) {
    ptrdiff_t i0 = s * EW_SPAN;
    gelu_backward_span_any (dinp + i0, dout + i0, inp + i0,
                            len - i0 < EW_SPAN ? len - i0 : EW_SPAN);
  }
}

void
sv_cpu_add_forward (float *out, const float *a, const float *b, size_t outer, size_t inner)
{
  // out[outer,inner] = a[outer,inner] + b[inner]; out may be a (residual add in place)
  ptrdiff_t rows = (ptrdiff_t) outer, cols = (ptrdiff_t) inner;
  if (rows == 1) {
#pragma omp parallel for schedule(static) if (cols >= EW_PAR_MIN)
    for (ptrdiff_t i = 0; i < cols; i++)
      out[i] = a[i] + b[i];
    return;
  }
#pragma omp parallel for schedule(static) if (rows * cols >= EW_PAR_MIN)
  for (ptrdiff_t o = 0; o < rows; o++) {
    const float *ao = a + (size_t) o * inner;
    float *oo = out + (size_t) o * inner;
    for (ptrdiff_t i = 0; i < cols; i++)
      oo[i] = ao[i] + b[i];
  }
}

void
sv_cpu_add_backward (float *da, float *db, const float *dout, size_t outer, size_t inner)
{
  // da[outer,inner] += dout;  db[inner] += sum_o dout[o,:]
  // (db first: then da may be dout itself)
  ptrdiff_t rows = (ptrdiff_t) outer, cols = (ptrdiff_t) inner;
  if (db) {
    // parallel over blocks of columns; each thread sums its columns over o = 0..outer-1
    // in order, so the result is the same for any thread count
    ptrdiff_t nblocks = (cols + ADD_COL_BLOCK - 1) / ADD_COL_BLOCK;
#pragma omp parallel for schedule(static) if (rows * cols >= EW_PAR_MIN)
    for (ptrdiff_t blk = 0; blk < nblocks; blk++) {
      ptrdiff_t c0 = blk * ADD_COL_BLOCK;
      ptrdiff_t nc = cols - c0 < ADD_COL_BLOCK ? cols - c0 : ADD_COL_BLOCK;
      double acc[ADD_COL_BLOCK];
      for (ptrdiff_t j = 0; j < nc; j++)
        acc[j] = 0.0;
      for (ptrdiff_t o = 0; o < rows; o++) {
        const float *d = dout + (size_t) o * inner + c0;
        for (ptrdiff_t j = 0; j < nc; j++)
          acc[j] += d[j];
      }
      for (ptrdiff_t j = 0; j < nc; j++)
        db[c0 + j] += (float) acc[j];
    }
  }
  if (da) {
    ptrdiff_t len = rows * cols;
#pragma omp parallel for schedule(static) if (len >= EW_PAR_MIN)
    for (ptrdiff_t i = 0; i < len; i++)
      da[i] += dout[i];
  }
}

void
sv_cpu_scale_forward (float *out, const float *inp, float alpha, size_t n)
{
  // out[n] = alpha * inp[n]; out may be inp
  ptrdiff_t len = (ptrdiff_t) n;
#pragma omp parallel for schedule(static) if (len >= EW_PAR_MIN)
  for (ptrdiff_t i = 0; i < len; i++)
    out[i] = alpha * inp[i];
}

void
sv_cpu_scale_backward (float *dinp, const float *dout, float alpha, size_t n)
{
  // dinp[n] += alpha * dout[n]
  if (!dinp)
    return;
  ptrdiff_t len = (ptrdiff_t) n;
#pragma omp parallel for schedule(static) if (len >= EW_PAR_MIN)
  for (ptrdiff_t i = 0; i < len; i++)
    dinp[i] += alpha * dout[i];
}
