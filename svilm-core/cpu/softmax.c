/* svilm-core CPU kernels: softmax over the last axis with a temperature and an
 * optional 0/1 mask (masked entries are excluded and get probability 0). */
#include "sv-cpu-kernels.h"

#include "vmath.h"

#include <math.h>

/* below this many elements a parallel region costs more than the row loop */
#define SV_SOFTMAX_PAR_MIN 4096

/* the row kernel, compiled for each SIMD width (vmath.h); *lse = log-sum-exp */
static SV_VMATH_INLINE void
softmax_row (float *l, const float *g, int n, double *lse)
{
  // l[n] (already scaled) -> softmax(l) in place; with a graph row g[n]: l *= g and
  // l = -inf where g == 0 (exp gives 0 there).  A row with nothing unmasked becomes zeros.
  float maxv = -INFINITY;
  if (g) {
#pragma omp simd
    for (int j = 0; j < n; j++)
      l[j] = g[j] != 0.0f ? l[j] * g[j] : -INFINITY;
  }
#pragma omp simd reduction(max : maxv)
  for (int j = 0; j < n; j++)
    maxv = l[j] > maxv ? l[j] : maxv;
  if (maxv == -INFINITY) {
    for (int j = 0; j < n; j++)
      l[j] = 0.0f;
    *lse = -INFINITY;
    return;
  }
  /* float partial sums, one a SIMD lane: terms in (0, 1], a row of a few hundred loses
   * far less than the 1e-6 the tests allow, and a double sum would convert every term
   * (10 % of the row's time) */
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < n; j++) {
    float e = sv_vexpf (l[j] - maxv);
    l[j] = e;
    sum += e;
  }
  float norm = 1.0f / sum; // sum >= 1: the max entry gives exp(0)
#pragma omp simd
  for (int j = 0; j < n; j++)
    l[j] *= norm;
  *lse = (double) maxv + log ((double) sum);
}

SV_CPU_TARGETS (softmax_row, (float *l, const float *g, int n, double *lse), (l, g, n, lse))

double
sv_cpu_softmax_row (float *l, const float *g, int n)
{
  double lse;
  softmax_row_any (l, g, n, &lse);
  return lse;
}

void
sv_cpu_softmax_forward (float *out, const float *inp, const float *mask, int N, int C,
                        float inv_temp)
{
  // out[N,C] = softmax_c(inp[N,C] * inv_temp) over the entries with mask[N,C] != 0
  // (mask may be NULL); masked entries are 0, and a row with nothing left is all 0
  // (also a row whose unmasked logits are all -inf).  Rows are independent.
#pragma omp parallel for schedule(static) if ((size_t) N * C >= SV_SOFTMAX_PAR_MIN)
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t) n * C;
    float *y = out + (size_t) n * C;
#pragma omp simd
    for (int c = 0; c < C; c++)
      y[c] = x[c] * inv_temp;
    sv_cpu_softmax_row (y, mask ? mask + (size_t) n * C : NULL, C);
  }
}

void
sv_cpu_softmax_backward (float *dinp, const float *dout, const float *out, int N, int C,
                         float inv_temp)
{
  // dinp[n,c] += inv_temp * out[n,c] * (dout[n,c] - sum_k out[n,k] dout[n,k])
  // Masked entries (out == 0) and fully masked rows get no gradient, so the mask
  // itself is not needed here.
  if (!dinp)
    return;
#pragma omp parallel for schedule(static) if ((size_t) N * C >= SV_SOFTMAX_PAR_MIN)
  for (int n = 0; n < N; n++) {
    const float *y = out + (size_t) n * C;
    const float *dy = dout + (size_t) n * C;
    float *dx = dinp + (size_t) n * C;
    double dot = 0.0;
    for (int c = 0; c < C; c++)
      dot += (double) y[c] * dy[c];
    float d = (float) dot;
    for (int c = 0; c < C; c++)
      dx[c] += inv_temp * y[c] * (dy[c] - d);
  }
}
