/* svilm-core CPU kernels: STGT spatio-temporal graph attention (method.md section 9),
 * computed block-banded so that time and memory are linear in the number of frames.
 *
 * Tokens [B,N,*] with N = Tf*S: Tf temporal slices of S spatial tokens, token n in slice
 * n/S.  The STGT graph M = A * Gt keeps only keys of the same and the adjacent slices
 * (Gt), so query slice t needs the keys of slices t-1, t, t+1: a band of W = 3S columns.
 * Band column jb of a query in slice t is key (t-1+jb/S)*S + jb%S.  At the clip's edges
 * (t = 0, t = Tf-1; both when Tf = 1) the columns of the missing slice are out of range:
 * build writes 0 there, the attention writes att = 0 there and never reads them otherwise.
 * In range, the keys of one query slice are the nk = S*(slices in range) contiguous token
 * rows starting at slice t0 = max(t-1, 0), and they fill band columns [col0, col0+nk):
 *
 *   t0 = max(t-1, 0), t1 = min(t+1, Tf-1), nk = (t1-t0+1)*S, col0 = (t0-(t-1))*S.
 *
 * So each (b, t) block [S, W] of the band is one strided sgemm with leading dimension W,
 * exactly like one (b,h) slice of the dense attention (cpu/attention.c) with Nq = S and
 * Nk = nk <= 3S instead of Nq = Nk = N: cost O(N*3S) instead of O(N^2).
 *
 * Graph (build).  Sim = cos(u_i, u_j) = u_i.u_j / sqrt(max(|u_i|^2 |u_j|^2, 1e-24)),
 * clamped to [-1, 1]; M = Sim where Sim >= theta, else 0; M[i][i] = 1.  The dot products
 * come from one sgemm per block and float inverse norms; an entry within `win` of theta
 * (win a bound on that float path's error) is recomputed in double with the formula above
 * (sequential sums), so the keep / drop decision is the exact-arithmetic one up to
 * double rounding and does not depend on the BLAS: exact duplicates give Sim = 1 exactly
 * (sqrt(d*d) == d in IEEE arithmetic) and survive theta = 1.  u gets no gradient.
 *
 * Attention.  logits = (q_i.k_j / sqrt(hs)) * M[i][j], -inf where M == 0; att = softmax
 * over the band (a row with nothing unmasked is all zeros); out = att @ v.  Forward runs
 * B*H*Tf independent (b,h,t) tasks.  Backward runs in two passes so that no two tasks
 * write the same rows: pass 1 over query tasks (b,h,tq) computes dlogits into scratch and
 * dq of slice tq; pass 2 over key tasks (b,h,tk) sums the contributions of the query
 * slices tk-1, tk, tk+1 (in that order) into dk and dv of slice tk.
 *
 * Threading follows cpu/attention.c: OpenMP over the tasks with single-threaded sgemms
 * (a pthreads OpenBLAS is set to one thread around the loop), unless there are fewer tasks
 * than threads and each is big, where OpenBLAS threads the products and OpenMP the rows;
 * tiny problems run on one thread.  Every output element is written by one thread in a
 * fixed order, so results are deterministic for a fixed thread count.
 */
#include "sv-cpu-kernels.h"
#include "sv-omp.h"

#include <cblas.h>
#include <math.h>

/* rows whose inverse norms are kept on the stack at a time while building the graph */
#define STG_CHUNK 128
/* |u_i|^2 |u_j|^2 floor in the cosine */
#define STG_EPS2 1e-24

/* the keys of query slice t: token rows [t0*S, t0*S + nk), band columns [col0, col0 + nk) */
typedef struct {
  int t0, nk, col0;
} StgBand;

static StgBand
stg_band (int t, int Tf, int S)
{
  int t0 = t > 0 ? t - 1 : 0, t1 = t + 1 < Tf ? t + 1 : Tf - 1;
  StgBand r = { t0, (t1 - t0 + 1) * S, (t0 - t + 1) * S };
  return r;
}

/* zero the out-of-range columns of the rows [S, W] of a block (row stride W) */
static void
stg_zero_outside (float *rows, int i, StgBand kb, int W)
{
  float *r = rows + (size_t) i * W;
  for (int j = 0; j < kb.col0; j++)
    r[j] = 0.0f;
  for (int j = kb.col0 + kb.nk; j < W; j++)
    r[j] = 0.0f;
}

/* ---------------------------------------------------------------- graph ---- */

static double
stg_dot (const float *a, const float *b, int n)
{
  double s = 0.0;
  for (int c = 0; c < n; c++)
    s += (double) a[c] * (double) b[c];
  return s;
}

/* the definition, in double: exact duplicates give exactly 1 */
static double
stg_cos_exact (const float *a, const float *b, int n)
{
  double ab = stg_dot (a, b, n), aa = stg_dot (a, a, n), bb = stg_dot (b, b, n);
  double c = ab / sqrt (fmax (aa * bb, STG_EPS2));
  return c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
}

/* 1/|a| in float, or -1 for a near-zero row (|a|^2 < 1e-12), whose entries take the
 * exact path (where the 1e-24 floor applies) */
static float
stg_inv_norm (const float *a, int n)
{
  double nn = stg_dot (a, a, n);
  return nn >= 1e-12 ? (float) (1.0 / sqrt (nn)) : -1.0f;
}

static void
build_block (float *band, const float *u, int b, int t, int Tf, int S, int Cg, float theta,
             float win)
{
  int N = Tf * S, W = 3 * S;
  StgBand kb = stg_band (t, Tf, S);
  float *g = band + ((size_t) b * N + (size_t) t * S) * W;          // [S, W]
  const float *uq = u + ((size_t) b * N + (size_t) t * S) * Cg;     // [S, Cg]
  const float *uk = u + ((size_t) b * N + (size_t) kb.t0 * S) * Cg; // [nk, Cg]
  int self0 = (t - kb.t0) * S; // key index of query 0 of this slice (the diagonal)
  // g[:, col0:col0+nk] = uq @ uk^T   (raw dot products)
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, S, kb.nk, Cg, 1.0f, uq, Cg, uk, Cg, 0.0f,
               g + kb.col0, W);
  for (int i = 0; i < S; i++)
    stg_zero_outside (g, i, kb, W);
  float invq[STG_CHUNK], invk[STG_CHUNK];
  for (int i0 = 0; i0 < S; i0 += STG_CHUNK) {
    int in = S - i0 < STG_CHUNK ? S - i0 : STG_CHUNK;
    for (int ii = 0; ii < in; ii++)
      invq[ii] = stg_inv_norm (uq + (size_t) (i0 + ii) * Cg, Cg);
    for (int j0 = 0; j0 < kb.nk; j0 += STG_CHUNK) {
      int jn = kb.nk - j0 < STG_CHUNK ? kb.nk - j0 : STG_CHUNK;
      for (int jj = 0; jj < jn; jj++)
        invk[jj] = stg_inv_norm (uk + (size_t) (j0 + jj) * Cg, Cg);
      for (int ii = 0; ii < in; ii++) {
        int i = i0 + ii;
        float *gi = g + (size_t) i * W + kb.col0;
        for (int jj = 0; jj < jn; jj++) {
          int j = j0 + jj;
          if (j == self0 + i) {
            gi[j] = 1.0f;
            continue;
          }
          float s = gi[j] * invq[ii] * invk[jj];
          s = s > 1.0f ? 1.0f : s < -1.0f ? -1.0f : s;
          if (fabsf (s - theta) <= win || invq[ii] < 0.0f || invk[jj] < 0.0f) {
            // close to the threshold (or a near-zero row): the definition in double
            double sd = stg_cos_exact (uq + (size_t) i * Cg, uk + (size_t) j * Cg, Cg);
            gi[j] = sd >= (double) theta ? (float) sd : 0.0f;
          } else {
            gi[j] = s >= theta ? s : 0.0f;
          }
        }
      }
    }
  }
}

void
sv_cpu_stgraph_build (float *band_graph, const float *u, int B, int Tf, int S, int Cg, float theta)
{
  // band_graph[B,N,3S] (overwritten), u[B,N,Cg], N = Tf*S
  if (B == 0 || Tf == 0 || S == 0)
    return;
  // bound on the float path's error in Sim (sgemm dot: Cg roundings of at most 2^-24
  // relative to |u_i||u_j|; norms and products: a few more), with a margin of 4
  float win = (float) ((Cg + 8) * 2.4e-7);
  int tasks = B * Tf, saved;
  SvCpuPlan plan = sv_cpu_plan_begin (tasks, (double) S * 3 * S * Cg, &saved);
  (void) plan; /* read only by the pragma, which a build without OpenMP ignores */
  // (SV_CPU_PLAN_ROWS: blocks in turn with threaded sgemms; the normalisation is serial then)
#pragma omp parallel for schedule(static) if (plan == SV_CPU_PLAN_TASKS)
  for (int s = 0; s < tasks; s++)
    build_block (band_graph, u, s / Tf, s % Tf, Tf, S, Cg, theta, win);
  sv_cpu_plan_end (saved);
}

/* ------------------------------------------------------------ attention ---- */

static void
forward_task (float *out, float *att, const float *q, const float *k, const float *v,
              const float *graph, int b, int h, int t, int Tf, int S, int C, int H, bool par_rows)
{
  int N = Tf * S, W = 3 * S, hs = C / H;
  float scale = 1.0f / sqrtf ((float) hs);
  StgBand kb = stg_band (t, Tf, S);
  size_t qoff = ((size_t) b * N + (size_t) t * S) * C + (size_t) h * hs;
  size_t koff = ((size_t) b * N + (size_t) kb.t0 * S) * C + (size_t) h * hs;
  float *a = att + (((size_t) b * H + h) * N + (size_t) t * S) * W; // [S, W]
  const float *g = graph ? graph + ((size_t) b * N + (size_t) t * S) * W : NULL;
  // a[:, col0:col0+nk] = scale * q_h[S,hs] @ k_h[nk,hs]^T
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, S, kb.nk, hs, scale, q + qoff, C, k + koff,
               C, 0.0f, a + kb.col0, W);
  // a[i,:] = softmax_j(a[i,j] * g[i,j]) over the band, -inf where g == 0; 0 out of range
#pragma omp parallel for schedule(static) if (par_rows)
  for (int i = 0; i < S; i++) {
    stg_zero_outside (a, i, kb, W);
    sv_cpu_softmax_row (a + (size_t) i * W + kb.col0, g ? g + (size_t) i * W + kb.col0 : NULL,
                        kb.nk);
  }
  // out_h[S,hs] = a[:, col0:col0+nk] @ v_h[nk,hs]
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hs, kb.nk, 1.0f, a + kb.col0, W,
               v + koff, C, 0.0f, out + qoff, C);
}

void
sv_cpu_stgraph_attention_forward (float *out, float *att, const float *q, const float *k,
                                  const float *v, const float *graph, int B, int Tf, int S, int C,
                                  int H)
{
  // out[B,N,C], att[B,H,N,3S] (cache), q/k/v[B,N,C], graph[B,N,3S] or NULL; N = Tf*S
  if (B == 0 || Tf == 0 || S == 0 || C == 0)
    return;
  int tasks = B * H * Tf, saved;
  SvCpuPlan plan = sv_cpu_plan_begin (tasks, (double) S * 3 * S * (C / H), &saved);
#pragma omp parallel for schedule(static) if (plan == SV_CPU_PLAN_TASKS)
  for (int s = 0; s < tasks; s++)
    forward_task (out, att, q, k, v, graph, s / (H * Tf), (s / Tf) % H, s % Tf, Tf, S, C, H,
                  plan == SV_CPU_PLAN_ROWS);
  sv_cpu_plan_end (saved);
}

/* pass 1, query slice tq: dlogits into scratch (band layout), dq of slice tq */
static void
backward_query_task (float *dq, float *scratch, const float *dout, const float *att, const float *k,
                     const float *v, const float *graph, int b, int h, int tq, int Tf, int S, int C,
                     int H, bool par_rows)
{
  int N = Tf * S, W = 3 * S, hs = C / H;
  float scale = 1.0f / sqrtf ((float) hs);
  StgBand kb = stg_band (tq, Tf, S);
  size_t qoff = ((size_t) b * N + (size_t) tq * S) * C + (size_t) h * hs;
  size_t koff = ((size_t) b * N + (size_t) kb.t0 * S) * C + (size_t) h * hs;
  size_t boff = (((size_t) b * H + h) * N + (size_t) tq * S) * W + kb.col0;
  const float *a = att + boff;
  float *dl = scratch + boff;
  const float *g = graph ? graph + ((size_t) b * N + (size_t) tq * S) * W + kb.col0 : NULL;
  // datt[S,nk] = dout_h[S,hs] @ v_h[nk,hs]^T   (into scratch, overwritten)
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, S, kb.nk, hs, 1.0f, dout + qoff, C,
               v + koff, C, 0.0f, dl, W);
  // softmax backward in place, dlogits = a * (datt - sum_j a datt), then through the
  // constant multiplicative graph: dlogits *= g (masked entries have a == 0)
#pragma omp parallel for schedule(static) if (par_rows)
  for (int i = 0; i < S; i++) {
    const float *ai = a + (size_t) i * W;
    float *di = dl + (size_t) i * W;
    double dot = 0.0;
    for (int j = 0; j < kb.nk; j++)
      dot += (double) ai[j] * di[j];
    float d = (float) dot;
    for (int j = 0; j < kb.nk; j++)
      di[j] = ai[j] * (di[j] - d);
    if (g) {
      const float *gi = g + (size_t) i * W;
      for (int j = 0; j < kb.nk; j++)
        di[j] *= gi[j];
    }
  }
  // dq_h[S,hs] += scale * dlogits[S,nk] @ k_h[nk,hs]
  if (dq)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hs, kb.nk, scale, dl, W, k + koff, C,
                 1.0f, dq + qoff, C);
}

/* pass 2, key slice tk: dk and dv of slice tk from the query slices tk-1, tk, tk+1 */
static void
backward_key_task (float *dk, float *dv, const float *scratch, const float *dout, const float *att,
                   const float *q, int b, int h, int tk, int Tf, int S, int C, int H)
{
  int N = Tf * S, W = 3 * S, hs = C / H;
  float scale = 1.0f / sqrtf ((float) hs);
  size_t koff = ((size_t) b * N + (size_t) tk * S) * C + (size_t) h * hs;
  for (int tq = tk - 1; tq <= tk + 1; tq++) {
    if (tq < 0 || tq >= Tf)
      continue;
    // key slice tk sits at band columns [(tk-tq+1)*S, +S) of query slice tq
    size_t boff = (((size_t) b * H + h) * N + (size_t) tq * S) * W + (size_t) (tk - tq + 1) * S;
    size_t qoff = ((size_t) b * N + (size_t) tq * S) * C + (size_t) h * hs;
    // dv_h[tk: S,hs] += a[tq rows, tk cols]^T @ dout_h[tq: S,hs]
    if (dv)
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, S, hs, S, 1.0f, att + boff, W,
                   dout + qoff, C, 1.0f, dv + koff, C);
    // dk_h[tk: S,hs] += scale * dlogits[tq rows, tk cols]^T @ q_h[tq: S,hs]
    if (dk)
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, S, hs, S, scale, scratch + boff, W,
                   q + qoff, C, 1.0f, dk + koff, C);
  }
}

void
sv_cpu_stgraph_attention_backward (float *dq, float *dk, float *dv, float *scratch,
                                   const float *dout, const float *att, const float *q,
                                   const float *k, const float *v, const float *graph, int B,
                                   int Tf, int S, int C, int H)
{
  // accumulates into dq, dk, dv [B,N,C] (each may be NULL); scratch[B,H,N,3S] (needed
  // for dq or dk) is overwritten
  if (B == 0 || Tf == 0 || S == 0 || C == 0 || (!dq && !dk && !dv))
    return;
  int tasks = B * H * Tf, saved;
  SvCpuPlan plan = sv_cpu_plan_begin (tasks, (double) S * 3 * S * (C / H), &saved);
  if (dq || dk) {
#pragma omp parallel for schedule(static) if (plan == SV_CPU_PLAN_TASKS)
    for (int s = 0; s < tasks; s++)
      backward_query_task (dq, scratch, dout, att, k, v, graph, s / (H * Tf), (s / Tf) % H, s % Tf,
                           Tf, S, C, H, plan == SV_CPU_PLAN_ROWS);
  }
  if (dk || dv) {
    // the key tasks are three small sgemms each; in the ROWS plan they let OpenBLAS thread
#pragma omp parallel for schedule(static) if (plan == SV_CPU_PLAN_TASKS)
    for (int s = 0; s < tasks; s++)
      backward_key_task (dk, dv, scratch, dout, att, q, s / (H * Tf), (s / Tf) % H, s % Tf, Tf, S,
                         C, H);
  }
  sv_cpu_plan_end (saved);
}
