/* svilm-core CPU kernels: layernorm over the last axis (llm.c style). */
#include "sv-cpu-kernels.h"

#include <math.h>

/* columns handled together by one thread when reducing dweight/dbias over rows */
#define LN_COL_BLOCK 64

void
sv_cpu_layernorm_forward (float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int N, int C, float eps)
{
  // inp[N,C], weight[C], bias[C] (may be NULL) -> out[N,C], mean[N], rstd[N]
  // biased variance (divide by C), like torch.nn.functional.layer_norm.
  // Two passes over the row (mean, then sum of squared deviations) in double:
  // no cancellation for rows with a large mean.  Rows are independent, so
  // out may alias inp.
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t) n * C;
    float *o = out + (size_t) n * C;
    double m = 0.0;
    for (int c = 0; c < C; c++)
      m += x[c];
    m /= C;
    double v = 0.0;
    for (int c = 0; c < C; c++) {
      double d = x[c] - m;
      v += d * d;
    }
    v /= C;
    double sd = 1.0 / sqrt (v + (double) eps);
    // x - mean in double: the float-rounded mean would shift every xhat of a row
    // with a large mean by up to half an ulp of the mean
    for (int c = 0; c < C; c++) {
      float xhat = (float) ((x[c] - m) * sd);
      float y = xhat * weight[c];
      o[c] = bias ? y + bias[c] : y;
    }
    mean[n] = (float) m;
    rstd[n] = (float) sd;
  }
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
    for (int n = 0; n < N; n++) {
      const float *x = inp + (size_t) n * C, *dy = dout + (size_t) n * C;
      float *dx = dinp + (size_t) n * C;
      float m = mean[n], s = rstd[n];
      double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
      for (int c = 0; c < C; c++) {
        float xhat = (x[c] - m) * s;
        float dxhat = dy[c] * weight[c];
        sum_dxhat += dxhat;
        sum_dxhat_xhat += (double) dxhat * xhat;
      }
      float a = (float) (sum_dxhat / C), b = (float) (sum_dxhat_xhat / C);
      for (int c = 0; c < C; c++) {
        float xhat = (x[c] - m) * s;
        float dxhat = dy[c] * weight[c];
        dx[c] += s * (dxhat - a - xhat * b);
      }
    }
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
