/* svilm-core: CPU kernels (OpenBLAS + OpenMP), llm.c style.
 *
 * One forward and one backward per layer, flat pointers, shapes as ints in the
 * argument list and in the comments.  Conventions:
 * - all tensors contiguous row-major float32 (ids int32);
 * - backward functions ACCUMULATE (+=) into gradient buffers, and skip any
 *   gradient pointer that is NULL;
 * - no allocation inside a kernel: caches and scratch buffers are passed in;
 * - OpenMP loops use static schedules, so results are bit-identical for a
 *   fixed thread count.
 * Shape validation happens one level up (sv-ops.h); these trust their args.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Loops over fewer float elements than this run on one thread: a parallel region costs
 * microseconds (tens when the other thread sleeps, as with OMP_WAIT_POLICY=passive), more
 * than splitting such a loop saves.  A tiny layer's rows are 264 x 128 = 34k elements:
 * its layer norms, residual adds and token gathers run serially, its GELU (135k) split. */
#define SV_CPU_PAR_MIN_ELEMS 65536

/* ---- threads of a kernel made of many independent sgemm tasks (cpu/thread-plan.c) ---- */
typedef enum {
  SV_CPU_PLAN_SERIAL, /* tiny: one thread */
  SV_CPU_PLAN_TASKS,  /* OpenMP over the tasks, single-threaded sgemms */
  SV_CPU_PLAN_ROWS,   /* tasks in turn, threaded sgemms, OpenMP over rows */
} SvCpuPlan;
/* Picks the plan for tasks of task_work multiply-adds each; for SV_CPU_PLAN_TASKS switches
 * a pthreads OpenBLAS to one thread and returns its previous thread count in *saved (0 when
 * nothing was changed), for sv_cpu_plan_end() to restore. */
SvCpuPlan sv_cpu_plan_begin (int tasks, double task_work, int *saved);
void sv_cpu_plan_end (int saved);

/* ---- linear: out[N,OC] = inp[N,C] @ weight[OC,C]^T + bias[OC] ---- */
void sv_cpu_linear_forward (float *out, const float *inp, const float *weight, const float *bias,
                            int N, int C, int OC);
void sv_cpu_linear_backward (float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *inp, const float *weight, int N, int C, int OC);

/* ---- batched matmul: c[b] = alpha * op(a[b]) @ op(b[b]), c is [batch,M,N] (overwritten);
 * op(a) is [M,K] (a stored [K,M] when trans_a), op(b) is [K,N] (b stored [N,K] when trans_b). */
void sv_cpu_matmul_forward (float *c, const float *a, const float *b, int batch, int M, int N,
                            int K, bool trans_a, bool trans_b, float alpha);
void sv_cpu_matmul_backward (float *da, float *db, const float *dc, const float *a, const float *b,
                             int batch, int M, int N, int K, bool trans_a, bool trans_b,
                             float alpha);

/* ---- layernorm over the last axis: inp[N,C] -> out[N,C]; caches mean[N], rstd[N] ---- */
void sv_cpu_layernorm_forward (float *out, float *mean, float *rstd, const float *inp,
                               const float *weight, const float *bias, int N, int C, float eps);
void sv_cpu_layernorm_backward (float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, const float *mean,
                                const float *rstd, int N, int C);

/* ---- GELU (exact, erf form), elementwise over n ---- */
void sv_cpu_gelu_forward (float *out, const float *inp, size_t n);
void sv_cpu_gelu_backward (float *dinp, const float *dout, const float *inp, size_t n);

/* ---- add with broadcast: out[outer,inner] = a[outer,inner] + b[inner]
 * (plain residual add when outer == 1). ---- */
void sv_cpu_add_forward (float *out, const float *a, const float *b, size_t outer, size_t inner);
void sv_cpu_add_backward (float *da, float *db, const float *dout, size_t outer, size_t inner);

/* ---- scale: out[n] = alpha * inp[n] ---- */
void sv_cpu_scale_forward (float *out, const float *inp, float alpha, size_t n);
void sv_cpu_scale_backward (float *dinp, const float *dout, float alpha, size_t n);

/* ---- softmax over rows of C with temperature and optional 0/1 mask:
 * out[N,C] = softmax(inp * inv_temp) over entries where mask != 0 (others 0).
 * A fully masked row gives all zeros. ---- */
/* One row: l[n] (already scaled) -> softmax(l) in place; with a 0/1 or graph row g[n],
 * l *= g first and entries with g == 0 get probability 0.  Nothing unmasked: zeros.
 * Returns log sum exp of the (graph-weighted) logits, in double; -inf for nothing. */
double sv_cpu_softmax_row (float *l, const float *g, int n);
void sv_cpu_softmax_forward (float *out, const float *inp, const float *mask, int N, int C,
                             float inv_temp);
void sv_cpu_softmax_backward (float *dinp, const float *dout, const float *out, int N, int C,
                              float inv_temp);

/* ---- multi-head attention core (projections are separate linear ops):
 * q[B,Nq,C], k[B,Nk,C], v[B,Nk,C], H heads of size C/H.
 * logits[b,h,i,j] = (q_i . k_j) / sqrt(C/H); with a graph g[B,Nq,Nk] (STGT):
 * logits *= g, and -inf where g == 0 (g shared across heads).
 * att[B,H,Nq,Nk] = softmax_j(logits) (cache), out[B,Nq,C] = att @ v.
 * Backward needs scratch of B*H*Nq*Nk floats. ---- */
void sv_cpu_attention_forward (float *out, float *att, const float *q, const float *k,
                               const float *v, const float *graph, int B, int Nq, int Nk, int C,
                               int H);
void sv_cpu_attention_backward (float *dq, float *dk, float *dv, float *scratch, const float *dout,
                                const float *att, const float *q, const float *k, const float *v,
                                const float *graph, int B, int Nq, int Nk, int C, int H);

/* ---- swap axes 1 and 2: inp[A,R,C,E] -> out[A,C,R,E] (E = contiguous inner block) ---- */
void sv_cpu_transpose_forward (float *out, const float *inp, int A, int R, int C, int E);
void sv_cpu_transpose_backward (float *dinp, const float *dout, int A, int R, int C, int E);

/* ---- embedding lookup: out[N,C] = table[ids[n], :], table[V,C] ---- */
void sv_cpu_embedding_forward (float *out, const int32_t *ids, const float *table, int N, int V,
                               int C);
void sv_cpu_embedding_backward (float *dtable, const float *dout, const int32_t *ids, int N, int V,
                                int C);

/* ---- tubelet patchify: video[B,T,H,W,Cin] -> patches[B*Np, pt*p*p*Cin] with
 * Np = (T/pt)*(H/p)*(W/p), token order (t', y', x'), patch vector order
 * (dt, dy, dx, c).  Tubelet embedding = patchify + linear. ---- */
void sv_cpu_patchify_forward (float *patches, const float *video, int B, int T, int H, int W,
                              int Cin, int pt, int p);
void sv_cpu_patchify_backward (float *dvideo, const float *dpatches, int B, int T, int H, int W,
                               int Cin, int pt, int p);

/* ---- convolution patches: img[N,H,W,C] -> cols[N,Ho,Wo,k*k*C] for a k x k kernel at
 * stride s with zero padding pad, vector order (ky, kx, c); the backward adds the
 * adjoint into dimg.  Convolution = im2col + linear. ---- */
void sv_cpu_im2col_forward (float *cols, const float *img, int N, int H, int W, int C, int k,
                            int s, int pad);
void sv_cpu_im2col_backward (float *dimg, const float *dcols, int N, int H, int W, int C, int k,
                             int s, int pad);

/* ---- mean over the axes set in axes_mask (bit i = axis i) of inp[shape[0..ndim)];
 * out has the reduced axes removed (row-major over the kept axes). ---- */
void sv_cpu_mean_forward (float *out, const float *inp, const int64_t *shape, int ndim,
                          unsigned axes_mask);
void sv_cpu_mean_backward (float *dinp, const float *dout, const int64_t *shape, int ndim,
                           unsigned axes_mask);

/* ---- L2 normalise rows: out[N,C] = inp / max(||inp||, eps); caches norm[N] ---- */
void sv_cpu_l2norm_forward (float *out, float *norm, const float *inp, int N, int C, float eps);
void sv_cpu_l2norm_backward (float *dinp, const float *dout, const float *out, const float *norm,
                             int N, int C, float eps);

/* ---- cosine similarity matrices: sim[batch,Na,Nb] = cos(a[batch,Na,C], b[batch,Nb,C]).
 * Caches the normalised an[batch,Na,C], bn[batch,Nb,C] and norms anorm[batch*Na],
 * bnorm[batch*Nb]; backward needs scratch of batch*(Na+Nb)*C floats. ---- */
void sv_cpu_cosine_sim_forward (float *sim, float *an, float *bn, float *anorm, float *bnorm,
                                const float *a, const float *b, int batch, int Na, int Nb, int C,
                                float eps);
void sv_cpu_cosine_sim_backward (float *da, float *db, float *scratch, const float *dsim,
                                 const float *an, const float *bn, const float *anorm,
                                 const float *bnorm, int batch, int Na, int Nb, int C, float eps);

/* ---- grouping assignment (GroupViT AssignAttention, method.md section 5):
 * logits[B,M,N] (M groups, N tokens), optional Gumbel noise[B,M,N] (NULL at inference).
 * y = softmax over m of (logits + noise) * inv_tau  (cache, [B,M,N]);
 * A = onehot(argmax_m y) when hard (straight-through: gradient of y), else y;
 * out[b,m,n] = A[b,m,n] / denom[b,m], denom[b,m] = sum_n A[b,m,n] + 1 (cache [B,M]). ---- */
void sv_cpu_assign_forward (float *out, float *y, float *denom, const float *logits,
                            const float *noise, int B, int M, int N, float inv_tau, bool hard);
/* backward scratch: B*M floats */
void sv_cpu_assign_backward (float *dlogits, float *scratch, const float *dout, const float *out,
                             const float *y, const float *denom, int B, int M, int N,
                             float inv_tau);

/* ---- soft-target cross-entropy: loss = -(1/N) sum_i sum_j t[i,j] log softmax_j(logits[i,:]),
 * logits[N,C], targets[N,C]; caches probs[N,C]; loss is a single float. ---- */
void sv_cpu_softmax_xent_forward (float *loss, float *probs, const float *logits,
                                  const float *targets, int N, int C);
void sv_cpu_softmax_xent_backward (float *dlogits, const float *dloss, const float *probs,
                                   const float *targets, int N, int C);

/* ---- mean squared error: loss = (1/n) sum (a - b)^2 ---- */
void sv_cpu_mse_forward (float *loss, const float *a, const float *b, size_t n);
void sv_cpu_mse_backward (float *da, float *db, const float *dloss, const float *a, const float *b,
                          size_t n);

/* ---- STGT graph attention, block-banded (method.md section 9; cpu/stgraph.c).
 * Tokens [B,N,*] with N = Tf*S: Tf temporal slices of S spatial tokens, token n in
 * slice n/S.  Query i of slice t sees the band of W = 3S keys of slices t-1, t, t+1:
 * band column jb <-> key (t-1+jb/S)*S + jb%S; columns of slices outside [0,Tf)
 * are out of range (graph 0, att 0, never read by the kernels).
 * build: band_graph[B,N,3S] = M over the band, M[i][j] = Sim if Sim >= theta else 0,
 *   Sim = cos(u_i, u_j) of the graph features u[B,N,Cg] (no gradient), Sim[i][i] = 1.
 * attention: as sv_cpu_attention_forward with the dense graph M restricted to the
 *   band: logits = (q_i.k_j / sqrt(C/H)) * M, -inf where M == 0 (graph NULL: M = 1
 *   in range, the plain temporal band); att[B,H,N,3S] cache; out[B,N,C].
 *   Backward needs scratch of B*H*N*3S floats. ---- */
void sv_cpu_stgraph_build (float *band_graph, const float *u, int B, int Tf, int S, int Cg,
                           float theta);
void sv_cpu_stgraph_attention_forward (float *out, float *att, const float *q, const float *k,
                                       const float *v, const float *graph, int B, int Tf, int S,
                                       int C, int H);
void sv_cpu_stgraph_attention_backward (float *dq, float *dk, float *dv, float *scratch,
                                        const float *dout, const float *att, const float *q,
                                        const float *k, const float *v, const float *graph, int B,
                                        int Tf, int S, int C, int H);
