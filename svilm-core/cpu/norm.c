/* svilm-core CPU kernels: layernorm over the last axis (llm.c style). */
#include "sv-cpu-kernels.h"

#include "vmath.h"

#include <math.h>

/* columns handled together by one thread when reducing dweight/dbias over rows */
#define LN_COL_BLOCK 64

/* one row of the forward: out[C], *mean, *rstd from x[C] (vector loops, compiled for each
 * SIMD width by SV_CPU_TARGETS) */
static SV_VMATH_INLINE void
layernorm_row (float *o, float *mean, float *rstd, const float *x, const float *weight,
               const float *bias, int C, float eps)
{
  // Two passes over the row (mean, then sum of squared deviations) in double: no
  // cancellation for rows with a large mean.
  double m = 0.0;
#pragma omp simd reduction(+ : m)
  for (int c = 0; c < C; c++)
    m += x[c];
  m /= C;
  double v = 0.0;
#pragma omp simd reduction(+ : v)
  for (int c = 0; c < C; c++) {
    double d = x[c] - m;
    v += d * d;
  }
  v /= C;
  double sd = 1.0 / sqrt (v + (double) eps);
  // x - mean in double: the float-rounded mean would shift every xhat of a row with a
  // large mean by up to half an ulp of the mean
  if (bias) {
#pragma omp simd
    for (int c = 0; c < C; c++)
      o[c] = (float) ((x[c] - m) * sd) * weight[c] + bias[c];
  } else {
#pragma omp simd
    for (int c = 0; c < C; c++)
      o[c] = (float) ((x[c] - m) * sd) * weight[c];
  }
  *mean = (float) m;
  *rstd = (float) sd;
}

/* one row of the backward: dx[C] += rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) */
static SV_VMATH_INLINE void
layernorm_row_backward (float *dx, const float *x, const float *dy, const float *weight, float m,
                        float s, int C)
{
  double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
#pragma omp simd reduction(+ : sum_dxhat, sum_dxhat_xhat)
  for (int c = 0; c < C; c++) {
    float xhat = (x[c] - m) * s;
    float dxhat = dy[c] * weight[c];
    sum_dxhat += dxhat;
    sum_dxhat_xhat += (double) dxhat * xhat;
  }
  float a = (float) (sum_dxhat / C), b = (float) (sum_dxhat_xhat / C);
#pragma omp simd
  for (int c = 0; c < C; c++) {
    float xhat = (x[c] - m) * s;
    float dxhat = dy[c] * weight[c];
    dx[c] += s * (dxhat - a - xhat * b);
  }
}

SV_CPU_TARGETS (layernorm_row,
                (float *o, float *mean, float *rstd, const float *x, const float *weight,
                 const float *bias, int C, float eps),
                (o, mean, rstd, x, weight, bias, C, eps))
SV_CPU_TARGETS (layernorm_row_backward,
                (float *dx, const float *x, const float *dy, const float *weight, float m, float s,
                 int C),
                (dx, x, dy, weight, m, s, C))

void
sv_cpu_layernorm_forward (float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int N, int C, float eps)
{
  // inp[N,C], weight[C], bias[C] (may be NULL) -> out[N,C], mean[N], rstd[N]
  // biased variance (divide by C), like torch.nn.functional.layer_norm.  Rows are
  // independent, so out may alias inp.
#pragma omp parallel for schedule(static) if ((size_t) N * C >= SV_CPU_PAR_MIN_ELEMS)
  for (int n = 0; n < N; n++)
    layernorm_row_any (out + (size_t) n * C, mean + n, rstd + n, inp + (size_t) n * C, weight, bias,
                       C, eps);
}

void
sv_cpu_layernorm_backward (float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int N, int C)
{
  // xhat = (inp - mean) * rstd, dxhat = dout * weight
  // dinp[n,c]  += rstd * (dxhat - mean_c(dxhat) - xhat * mean_c(dxhat * xhat))
  // dweight[c] += sum_n dout[n,c] * xhat[n,c];  dbias[c] += sum_n dout[n,c]
  if (dinp) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
      layernorm_row_backward_any (dinp + (size_t) n * C, inp + (size_t) n * C,
                                  dout + (size_t) n * C, weight, mean[n], rstd[n], C);
  }
  if (dweight || dbias) {
    // reduction over rows: each thread owns a block of columns and walks the rows
    // in order, so every sum has the same order whatever the thread count
    int nblocks = (C + LN_COL_BLOCK - 1) / LN_COL_BLOCK;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblocks; blk++) {
      int c0 = blk * LN_COL_BLOCK;
      int nc = C - c0 < LN_COL_BLOCK ? C - c0 : LN_COL_BLOCK;
      double gw[LN_COL_BLOCK], gb[LN_COL_BLOCK];
      for (int j = 0; j < nc; j++)
        gw[j] = gb[j] = 0.0;
      for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t) n * C + c0, *dy = dout + (size_t) n * C + c0;
        float m = mean[n], s = rstd[n];
        for (int j = 0; j < nc; j++) {
          gw[j] += (double) dy[j] * ((x[j] - m) * s);
          gb[j] += dy[j];
        }
      }
      for (int j = 0; j < nc; j++) {
        if (dweight)
          dweight[c0 + j] += (float) gw[j];
        if (dbias)
          dbias[c0 + j] += (float) gb[j];
      }
    }
  }
}
