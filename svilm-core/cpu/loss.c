/* svilm-core CPU kernels: losses (soft-target softmax cross-entropy, mean squared error).
 *
 * The scalar reductions are deterministic whatever the thread count: the rows
 * (elements) are cut into a fixed number of contiguous chunks that does not
 * depend on the threads, each chunk is summed sequentially in double, and the
 * chunk sums are added in chunk order.
 */
#include "sv-cpu-kernels.h"

#include <math.h>
#include <string.h>

#define LOSS_CHUNKS 64

void
sv_cpu_softmax_xent_forward (float *loss, float *probs, const float *logits, const float *targets,
                             int N, int C)
{
  // probs[N,C] = softmax(logits[N,C]) per row
  // loss[0] = (1/N) sum_i sum_j t[i,j] (lse_i - logits[i,j]), lse_i = log sum_j exp(logits[i,j])
  if (N <= 0 || C <= 0) { // no rows (or no classes): nothing to average
    loss[0] = 0.0f;
    return;
  }
  double partial[LOSS_CHUNKS];
  const int nchunks = N < LOSS_CHUNKS ? N : LOSS_CHUNKS;
#pragma omp parallel for schedule(static)
  for (int k = 0; k < nchunks; k++) {
    const int i0 = (int) ((int64_t) N * k / nchunks), i1 = (int) ((int64_t) N * (k + 1) / nchunks);
    double acc = 0.0;
    for (int i = i0; i < i1; i++) {
      const float *x = logits + (size_t) i * C, *t = targets + (size_t) i * C;
      float *p = probs + (size_t) i * C;
      memcpy (p, x, (size_t) C * sizeof (float));
      const double lse = sv_cpu_softmax_row (p, NULL, C);
      double row = 0.0;
      for (int j = 0; j < C; j++)
        if (t[j] != 0.0f) // skip zero targets so that 0 * (-inf logit) adds nothing
          row += (double) t[j] * (lse - (double) x[j]);
      acc += row;
    }
    partial[k] = acc;
  }
  double total = 0.0;
  for (int k = 0; k < nchunks; k++)
    total += partial[k];
  loss[0] = (float) (total / N);
}

void
sv_cpu_softmax_xent_backward (float *dlogits, const float *dloss, const float *probs,
                              const float *targets, int N, int C)
{
  // dlogits[i,j] += dloss[0] / N * (probs[i,j] * sum_j' t[i,j'] - t[i,j])
  if (!dlogits || N <= 0 || C <= 0)
    return;
  const float scale = dloss[0] / (float) N;
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; i++) {
    const float *p = probs + (size_t) i * C, *t = targets + (size_t) i * C;
    float *g = dlogits + (size_t) i * C;
    float tsum = 0.0f;
    for (int j = 0; j < C; j++)
      tsum += t[j];
    for (int j = 0; j < C; j++)
      g[j] += scale * (p[j] * tsum - t[j]);
  }
}

void
sv_cpu_mse_forward (float *loss, const float *a, const float *b, size_t n)
{
  // loss[0] = (1/n) sum_i (a[i] - b[i])^2
  if (n == 0) {
    loss[0] = 0.0f;
    return;
  }
  double partial[LOSS_CHUNKS];
  const int nchunks = n < LOSS_CHUNKS ? (int) n : LOSS_CHUNKS;
#pragma omp parallel for schedule(static)
  for (int k = 0; k < nchunks; k++) {
    const size_t i0 = n / nchunks * k + (n % nchunks) * k / nchunks;
    const size_t i1 = n / nchunks * (k + 1) + (n % nchunks) * (k + 1) / nchunks;
    double acc = 0.0;
    for (size_t i = i0; i < i1; i++) {
      double d = (double) a[i] - (double) b[i];
      acc += d * d;
    }
    partial[k] = acc;
  }
  double total = 0.0;
  for (int k = 0; k < nchunks; k++)
    total += partial[k];
  loss[0] = (float) (total / (double) n);
}

void
sv_cpu_mse_backward (float *da, float *db, const float *dloss, const float *a, const float *b,
                     size_t n)
{
  // da[i] += 2 dloss (a[i] - b[i]) / n; db[i] -= the same
  if (n == 0 || (!da && !db))
    return;
  const float scale = 2.0f * dloss[0] / (float) n;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    float g = scale * (a[i] - b[i]);
    if (da)
      da[i] += g;
    if (db)
      db[i] -= g;
  }
}
