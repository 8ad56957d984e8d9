/* svilm-core CPU kernels: linear layers and batched matmul (OpenBLAS sgemm). */
#include "sv-cpu-kernels.h"

#include "sv-omp.h"

#include <cblas.h>
#include <string.h>

#define BIAS_COL_BLOCK 64 /* columns of dbias a thread sums at once: 4 cache lines a row */

/* out rows [n0, n1) of the linear layer, one sgemm */
static void
linear_forward_rows (float *out, const float *inp, const float *weight, const float *bias, int n0,
                     int n1, int C, int OC)
{
  float *o = out + (size_t) n0 * OC;
  if (bias)
    for (int n = n0; n < n1; n++)
      memcpy (out + (size_t) n * OC, bias, (size_t) OC * sizeof (float));
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n1 - n0, OC, C, 1.0f, inp + (size_t) n0 * C,
               C, weight, C, bias ? 1.0f : 0.0f, o, OC);
}

void
sv_cpu_linear_forward (float *out, const float *inp, const float *weight, const float *bias, int N,
                       int C, int OC)
{
  // out[N,OC] = inp[N,C] @ weight[OC,C]^T (+ bias[OC])
  if (N == 0 || OC == 0)
    return;
  /* Split the rows over the threads, one single-threaded sgemm each: at the sizes of a
   * clip or two (a few hundred rows of 128-512) OpenBLAS's own threading gains little
   * over one thread, while row blocks of the same work scale (bench-model, B=1). */
  int nt = omp_get_max_threads (), saved = 0;
  int blocks = nt < N / 32 ? nt : N / 32;
  SvCpuPlan plan = blocks > 1 ? sv_cpu_plan_begin (blocks, (double) N / blocks * C * OC, &saved)
                              : SV_CPU_PLAN_SERIAL;
  if (plan != SV_CPU_PLAN_TASKS) {
    sv_cpu_plan_end (saved);
    linear_forward_rows (out, inp, weight, bias, 0, N, C, OC);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(blocks)
  for (int b = 0; b < blocks; b++)
    linear_forward_rows (out, inp, weight, bias, (int) ((long) N * b / blocks),
                         (int) ((long) N * (b + 1) / blocks), C, OC);
  sv_cpu_plan_end (saved);
}

void
sv_cpu_linear_backward (float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int N, int C, int OC)
{
  if (N == 0 || OC == 0 || C == 0)
    return;
  // dinp[N,C] += dout[N,OC] @ weight[OC,C]
  if (dinp)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C,
                 1.0f, dinp, C);
  // dweight[OC,C] += dout[N,OC]^T @ inp[N,C]
  if (dweight)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                 dweight, C);
  // dbias[OC] += sum_n dout[n,:]: each thread owns blocks of columns and walks the rows
  // in order, contiguous loads that vectorise (a column at a time strides OC floats and
  // took 3.5 % of a small training step); the sums keep their order, so the results
  // are the same for any thread count
  if (dbias) {
    int nblocks = (OC + BIAS_COL_BLOCK - 1) / BIAS_COL_BLOCK;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblocks; blk++) {
      int o0 = blk * BIAS_COL_BLOCK;
      int no = OC - o0 < BIAS_COL_BLOCK ? OC - o0 : BIAS_COL_BLOCK;
      float acc[BIAS_COL_BLOCK] = { 0 };
      for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t) n * OC + o0;
        for (int j = 0; j < no; j++)
          acc[j] += d[j];
      }
      for (int j = 0; j < no; j++)
        dbias[o0 + j] += acc[j];
    }
  }
}

void
sv_cpu_matmul_forward (float *c, const float *a, const float *b, int batch, int M, int N, int K,
                       bool trans_a, bool trans_b, float alpha)
{
  // c[batch,M,N] = alpha * op(a)[M,K] @ op(b)[K,N]
  int lda = trans_a ? M : K, ldb = trans_b ? K : N;
  for (int i = 0; i < batch; i++)
    cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                 trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, a + (size_t) i * M * K, lda,
                 b + (size_t) i * K * N, ldb, 0.0f, c + (size_t) i * M * N, N);
}

void
sv_cpu_matmul_backward (float *da, float *db, const float *dc, const float *a, const float *b,
                        int batch, int M, int N, int K, bool trans_a, bool trans_b, float alpha)
{
  int lda = trans_a ? M : K, ldb = trans_b ? K : N;
  for (int i = 0; i < batch; i++) {
    const float *ai = a + (size_t) i * M * K, *bi = b + (size_t) i * K * N;
    const float *dci = dc + (size_t) i * M * N;
    if (da) {
      float *dai = da + (size_t) i * M * K;
      if (!trans_a) // da[M,K] += alpha dc[M,N] @ op(b)^T
        cblas_sgemm (CblasRowMajor, CblasNoTrans, trans_b ? CblasNoTrans : CblasTrans, M, K, N,
                     alpha, dci, N, bi, ldb, 1.0f, dai, lda);
      else // da[K,M] += alpha op(b) @ dc^T
        cblas_sgemm (CblasRowMajor, trans_b ? CblasTrans : CblasNoTrans, CblasTrans, K, M, N, alpha,
                     bi, ldb, dci, N, 1.0f, dai, lda);
    }
    if (db) {
      float *dbi = db + (size_t) i * K * N;
      if (!trans_b) // db[K,N] += alpha op(a)^T @ dc
        cblas_sgemm (CblasRowMajor, trans_a ? CblasNoTrans : CblasTrans, CblasNoTrans, K, N, M,
                     alpha, ai, lda, dci, N, 1.0f, dbi, ldb);
      else // db[N,K] += alpha dc^T @ op(a)
        cblas_sgemm (CblasRowMajor, CblasTrans, trans_a ? CblasTrans : CblasNoTrans, N, K, M, alpha,
                     dci, N, ai, lda, 1.0f, dbi, ldb);
    }
  }
}
