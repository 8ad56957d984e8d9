/* svilm-core CPU kernels: softmax over the last axis with a temperature and an
 * optional 0/1 mask (masked entries are excluded and get probability 0). */
#include "sv-cpu-kernels.h"

#include <math.h>

/* below this many elements a parallel region costs more than the row loop */
#define SV_SOFTMAX_PAR_MIN 4096

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
    const float *m = mask ? mask + (size_t) n * C : NULL;
    float *y = out + (size_t) n * C;
    // max over the unmasked logits, for a stable exp
    float maxv = -INFINITY;
    for (int c = 0; c < C; c++) {
      if (m && m[c] == 0.0f)
        continue;
      float l = x[c] * inv_temp;
      if (l > maxv)
        maxv = l;
    }
    if (maxv == -INFINITY) {
      for (int c = 0; c < C; c++)
        y[c] = 0.0f;
      continue;
    }
    double sum = 0.0;
    for (int c = 0; c < C; c++) {
      if (m && m[c] == 0.0f) {
        y[c] = 0.0f;
        continue;
      }
      float e = expf (x[c] * inv_temp - maxv);
      y[c] = e;
      sum += e;
    }
    // sum >= 1 (the max entry contributes exp(0)), so the division is safe
    float norm = (float) (1.0 / sum);
    for (int c = 0; c < C; c++)
      y[c] *= norm;
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
