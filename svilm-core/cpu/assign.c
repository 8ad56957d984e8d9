/* svilm-core CPU kernels: grouping assignment (GroupViT AssignAttention, method.md section 5).
 *
 * logits[B,M,N]: M groups (rows) x N tokens (columns).  The softmax runs over the
 * group axis m (a column of stride N), the normalisation over the token axis n
 * (a contiguous row).  Forward and backward therefore make one column pass
 * (parallel over (b, n)) and one row pass (parallel over (b, m)); each output
 * element is written by exactly one iteration, so results do not depend on the
 * thread count.
 */
#include "sv-cpu-kernels.h"

#include <math.h>

void
sv_cpu_assign_forward (float *out, float *y, float *denom, const float *logits, const float *noise,
                       int B, int M, int N, float inv_tau, bool hard)
{
  // y[B,M,N] = softmax_m((logits + noise) * inv_tau); A = onehot(argmax_m y) or y
  // denom[B,M] = sum_n A + 1; out[B,M,N] = A / denom
  if (B <= 0 || M <= 0)
    return;
  if (N <= 0) { // no tokens: every group's total is 0, denom = 1
    for (int64_t i = 0; i < (int64_t) B * M; i++)
      denom[i] = 1.0f;
    return;
  }
  const size_t MN = (size_t) M * N;
  // column pass: softmax over groups for every token; A goes into out
#pragma omp parallel for schedule(static)
  for (int64_t bn = 0; bn < (int64_t) B * N; bn++) {
    const size_t b = (size_t) bn / (size_t) N, n = (size_t) bn % (size_t) N;
    const float *lg = logits + b * MN + n;
    const float *nz = noise ? noise + b * MN + n : NULL;
    float *yc = y + b * MN + n;
    float *oc = out + b * MN + n;
    float maxv = -INFINITY;
    for (int m = 0; m < M; m++) {
      float z = (lg[(size_t) m * N] + (nz ? nz[(size_t) m * N] : 0.0f)) * inv_tau;
      yc[(size_t) m * N] = z; // stash z, exponentiated below
      if (z > maxv)
        maxv = z;
    }
    float sum = 0.0f;
    for (int m = 0; m < M; m++) {
      float e = expf (yc[(size_t) m * N] - maxv);
      yc[(size_t) m * N] = e;
      sum += e;
    }
    const float inv_sum = 1.0f / sum;
    int best = 0;
    float bestv = -INFINITY;
    for (int m = 0; m < M; m++) {
      float p = yc[(size_t) m * N] * inv_sum;
      yc[(size_t) m * N] = p;
      if (p > bestv) { // strict: ties go to the lowest m
        bestv = p;
        best = m;
      }
    }
    for (int m = 0; m < M; m++)
      oc[(size_t) m * N] = hard ? (m == best ? 1.0f : 0.0f) : yc[(size_t) m * N];
  }
  // row pass: normalise each group by its total assignment + 1
#pragma omp parallel for schedule(static)
  for (int64_t bm = 0; bm < (int64_t) B * M; bm++) {
    float *orow = out + (size_t) bm * N;
    double s = 0.0;
    for (int n = 0; n < N; n++)
      s += orow[n];
    const float d = (float) (s + 1.0);
    denom[bm] = d;
    for (int n = 0; n < N; n++)
      orow[n] = orow[n] / d;
  }
}

void
sv_cpu_assign_backward (float *dlogits, float *scratch, const float *dout, const float *out,
                        const float *y, const float *denom, int B, int M, int N, float inv_tau)
{
  // Straight-through: the gradient w.r.t. A (whether A was one-hot or soft) is
  // passed to y unchanged.
  // normalisation: gA[m,n] = (dout[m,n] - sum_n' dout[m,n'] out[m,n']) / denom[m]
  // softmax over m: dlogits[m,n] += inv_tau * y[m,n] * (gA[m,n] - sum_m' gA[m',n] y[m',n])
  // scratch[B,M] holds sum_n' dout[m,n'] out[m,n'].
  if (!dlogits || B <= 0 || M <= 0 || N <= 0)
    return;
  const size_t MN = (size_t) M * N;
#pragma omp parallel for schedule(static)
  for (int64_t bm = 0; bm < (int64_t) B * M; bm++) {
    const float *drow = dout + (size_t) bm * N, *orow = out + (size_t) bm * N;
    double s = 0.0;
    for (int n = 0; n < N; n++)
      s += (double) drow[n] * orow[n];
    scratch[bm] = (float) s;
  }
#pragma omp parallel for schedule(static)
  for (int64_t bn = 0; bn < (int64_t) B * N; bn++) {
    const size_t b = (size_t) bn / (size_t) N, n = (size_t) bn % (size_t) N;
    const size_t base = b * MN + n;
    const float *dc = dout + base, *yc = y + base;
    const float *sc = scratch + b * M, *dn = denom + b * M;
    float *gc = dlogits + base;
    float dot = 0.0f; // sum_m gA[m,n] y[m,n]
    for (int m = 0; m < M; m++) {
      float ga = (dc[(size_t) m * N] - sc[m]) / dn[m];
      dot += ga * yc[(size_t) m * N];
    }
    for (int m = 0; m < M; m++) {
      float ga = (dc[(size_t) m * N] - sc[m]) / dn[m];
      gc[(size_t) m * N] += inv_tau * yc[(size_t) m * N] * (ga - dot);
    }
  }
}
