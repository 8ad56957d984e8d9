/* svilm-core CPU kernels: multi-head attention core, self or cross, with the
 * optional STGT graph (method.md section 9): logits *= g and -inf where g == 0.
 *
 * Layout: q[B,Nq,C], k[B,Nk,C], v[B,Nk,C], out[B,Nq,C]; head h of batch b is the
 * strided view of channels [h*hs, (h+1)*hs) (hs = C/H, row stride C), so every
 * product is one cblas_sgemm per (b,h) with leading dimension C and no copies.
 *
 * Threading.  The work splits into B*H independent (b,h) slices of a few sgemms
 * (Nq x Nk x hs, with hs typically 32..64) plus a row softmax.  Products of that
 * size are too small for OpenBLAS to thread well (and interleaving its thread
 * pool with OpenMP row loops per slice oversubscribes the cores), so by default
 * the slices run in an OpenMP loop with each slice's sgemms single-threaded:
 * OpenBLAS' OpenMP build does that by itself inside a parallel region, its
 * pthreads build (the Debian default) is set to one thread around the loop and
 * restored after (otherwise concurrent callers serialise on its level-3 lock).
 * Only when there are fewer slices than threads AND each slice is big (long
 * sequences at inference, one clip, few heads) do we loop over the slices, let
 * OpenBLAS thread each product and split the softmax rows with OpenMP; tiny
 * problems run on one thread.  In all cases every output element is written by
 * one thread with a fixed summation order, so results are deterministic for a
 * fixed thread count, and except on the few-big-slices path they do not depend
 * on the thread count at all.  Slices write disjoint column blocks of
 * out/dq/dk/dv, so there are no races even when dk and dv (or dq and dk) are
 * the same buffer.
 */
#include "sv-cpu-kernels.h"
#include "sv-omp.h"

#include <cblas.h>
#include <math.h>

static void
forward_slice (float *out, float *att, const float *q, const float *k, const float *v,
               const float *graph, int b, int h, int Nq, int Nk, int C, int H, bool par_rows)
{
  int hs = C / H;
  float scale = 1.0f / sqrtf ((float) hs);
  size_t qoff = (size_t) b * Nq * C + (size_t) h * hs, koff = (size_t) b * Nk * C + (size_t) h * hs;
  float *a = att + ((size_t) b * H + h) * Nq * Nk;
  const float *g = graph ? graph + (size_t) b * Nq * Nk : NULL;
  // a[Nq,Nk] = scale * q_h[Nq,hs] @ k_h[Nk,hs]^T
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, Nq, Nk, hs, scale, q + qoff, C, k + koff, C,
               0.0f, a, Nk);
  // a[i,:] = softmax_j(a[i,j] * g[i,j]), -inf where g[i,j] == 0
#pragma omp parallel for schedule(static) if (par_rows)
  for (int i = 0; i < Nq; i++)
    sv_cpu_softmax_row (a + (size_t) i * Nk, g ? g + (size_t) i * Nk : NULL, Nk);
  // out_h[Nq,hs] = a[Nq,Nk] @ v_h[Nk,hs]
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Nq, hs, Nk, 1.0f, a, Nk, v + koff, C,
               0.0f, out + qoff, C);
}

void
sv_cpu_attention_forward (float *out, float *att, const float *q, const float *k, const float *v,
                          const float *graph, int B, int Nq, int Nk, int C, int H)
{
  // out[B,Nq,C], att[B,H,Nq,Nk] (cache), graph[B,Nq,Nk] or NULL
  if (B == 0 || Nq == 0 || C == 0)
    return;
  if (Nk == 0) { // nothing to attend to: every row is "fully masked"
    for (size_t i = 0; i < (size_t) B * Nq * C; i++)
      out[i] = 0.0f;
    return;
  }
  int slices = B * H, saved;
  SvCpuPlan plan = sv_cpu_plan_begin (slices, (double) Nq * Nk * (C / H), &saved);
#pragma omp parallel for schedule(static) if (plan == SV_CPU_PLAN_TASKS)
  for (int s = 0; s < slices; s++)
    forward_slice (out, att, q, k, v, graph, s / H, s % H, Nq, Nk, C, H, plan == SV_CPU_PLAN_ROWS);
  sv_cpu_plan_end (saved);
}

static void
backward_slice (float *dq, float *dk, float *dv, float *scratch, const float *dout,
                const float *att, const float *q, const float *k, const float *v,
                const float *graph, int b, int h, int Nq, int Nk, int C, int H, bool par_rows)
{
  int hs = C / H;
  float scale = 1.0f / sqrtf ((float) hs);
  size_t qoff = (size_t) b * Nq * C + (size_t) h * hs, koff = (size_t) b * Nk * C + (size_t) h * hs;
  const float *a = att + ((size_t) b * H + h) * Nq * Nk;
  const float *g = graph ? graph + (size_t) b * Nq * Nk : NULL;
  // dv_h[Nk,hs] += a[Nq,Nk]^T @ dout_h[Nq,hs]
  if (dv)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Nk, hs, Nq, 1.0f, a, Nk, dout + qoff, C,
                 1.0f, dv + koff, C);
  if (!dq && !dk)
    return;
  float *dl = scratch + ((size_t) b * H + h) * Nq * Nk;
  // datt[Nq,Nk] = dout_h[Nq,hs] @ v_h[Nk,hs]^T   (into scratch, overwritten)
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, Nq, Nk, hs, 1.0f, dout + qoff, C, v + koff,
               C, 0.0f, dl, Nk);
  // softmax backward, in place: dlogits = a * (datt - sum_j a datt); then through the
  // multiplicative graph (a constant): dlogits *= g.  Masked entries have a == 0, so
  // they (and fully masked rows) get no gradient.
#pragma omp parallel for schedule(static) if (par_rows)
  for (int i = 0; i < Nq; i++) {
    const float *ai = a + (size_t) i * Nk;
    float *di = dl + (size_t) i * Nk;
    double dot = 0.0;
    for (int j = 0; j < Nk; j++)
      dot += (double) ai[j] * di[j];
    float d = (float) dot;
    for (int j = 0; j < Nk; j++)
      di[j] = ai[j] * (di[j] - d);
    if (g) {
      const float *gi = g + (size_t) i * Nk;
      for (int j = 0; j < Nk; j++)
        di[j] *= gi[j];
    }
  }
  // dq_h[Nq,hs] += scale * dlogits[Nq,Nk] @ k_h[Nk,hs]
  if (dq)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Nq, hs, Nk, scale, dl, Nk, k + koff, C,
                 1.0f, dq + qoff, C);
  // dk_h[Nk,hs] += scale * dlogits[Nq,Nk]^T @ q_h[Nq,hs]
  if (dk)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Nk, hs, Nq, scale, dl, Nk, q + qoff, C,
                 1.0f, dk + koff, C);
}

void
sv_cpu_attention_backward (float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *att, const float *q, const float *k, const float *v,
                           const float *graph, int B, int Nq, int Nk, int C, int H)
{
  // accumulates into dq[B,Nq,C], dk[B,Nk,C], dv[B,Nk,C] (each may be NULL);
  // scratch[B,H,Nq,Nk] (needed when dq or dk is wanted) is overwritten
  if (B == 0 || Nq == 0 || Nk == 0 || C == 0 || (!dq && !dk && !dv))
    return;
  int slices = B * H, saved;
  SvCpuPlan plan = sv_cpu_plan_begin (slices, (double) Nq * Nk * (C / H), &saved);
#pragma omp parallel for schedule(static) if (plan == SV_CPU_PLAN_TASKS)
  for (int s = 0; s < slices; s++)
    backward_slice (dq, dk, dv, scratch, dout, att, q, k, v, graph, s / H, s % H, Nq, Nk, C, H,
                    plan == SV_CPU_PLAN_ROWS);
  sv_cpu_plan_end (saved);
}
