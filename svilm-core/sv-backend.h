/* svilm-core: the backend interface.
 *
 * Model code calls ops (sv-ops.h) on tensors; sv-ops validates shapes and calls
 * the tensors' backend through this table.  The CPU backend forwards to the
 * kernels in cpu/; the Vulkan backend records compute dispatches.  Each entry
 * mirrors the CPU kernel of the same name with SvTensor handles in place of
 * pointers (NULL where the kernel accepts NULL).
 */
#pragma once

#include "sv-tensor.h"
#include <stdbool.h>

G_BEGIN_DECLS

typedef const SvTensor cT; /* shorthand for read-only operands in this table */

/* The constants of one optimiser step (sv-optim.c computes them once per step;
 * the update formulas are in sv-optim.h).  Weight decay is given for parameters
 * that decay; an update of one that does not uses wd = 0 / wd_mul = 1. */
typedef struct {
  int kind;                      /* SvOptimKind: 0 SGD with momentum, 1 AdamW */
  float lr;                      /* learning rate of the step */
  float gscale;                  /* clipping factor (1: none) */
  float wd;                      /* SGD: weight decay */
  float wd_mul;                  /* AdamW: 1 - lr * wd */
  float mom;                     /* SGD: momentum */
  gboolean first;                /* SGD: first step (buf = g') */
  float b1, omb1, b2, omb2, eps; /* AdamW: beta1, 1 - beta1, beta2, 1 - beta2, eps */
  float step_size;               /* AdamW: lr / (1 - b1^t) */
  float bc2_sqrt;                /* AdamW: sqrt (1 - b2^t) */
} SvOptimConsts;

typedef struct {
  const char *name;

  /* storage */
  SvStorage *(*storage_new) (SvBackend *be, size_t bytes, GError **error);
  void (*storage_free) (SvBackend *be, SvStorage *s);
  void *(*storage_host_ptr) (SvBackend *be, SvStorage *s); /* NULL for device memory */
  gboolean (*upload) (SvBackend *be, SvTensor *t, const void *src, size_t bytes, GError **error);
  gboolean (*download) (SvBackend *be, cT *t, void *dst, size_t bytes, GError **error);
  gboolean (*zero) (SvBackend *be, SvTensor *t, GError **error);
  /* waits for queued work; CPU: no-op */
  gboolean (*finish) (SvBackend *be, GError **error);
  void (*destroy) (SvBackend *be);

  /* ops */
  void (*linear_forward) (SvBackend *be, SvTensor *out, cT *inp, cT *weight, cT *bias, int N, int C,
                          int OC);
  void (*linear_backward) (SvBackend *be, SvTensor *dinp, SvTensor *dweight, SvTensor *dbias,
                           cT *dout, cT *inp, cT *weight, int N, int C, int OC);
  void (*matmul_forward) (SvBackend *be, SvTensor *c, cT *a, cT *b, int batch, int M, int N, int K,
                          bool trans_a, bool trans_b, float alpha);
  void (*matmul_backward) (SvBackend *be, SvTensor *da, SvTensor *db, cT *dc, cT *a, cT *b,
                           int batch, int M, int N, int K, bool trans_a, bool trans_b, float alpha);
  void (*layernorm_forward) (SvBackend *be, SvTensor *out, SvTensor *mean, SvTensor *rstd, cT *inp,
                             cT *weight, cT *bias, int N, int C, float eps);
  void (*layernorm_backward) (SvBackend *be, SvTensor *dinp, SvTensor *dweight, SvTensor *dbias,
                              cT *dout, cT *inp, cT *weight, cT *mean, cT *rstd, int N, int C);
  void (*gelu_forward) (SvBackend *be, SvTensor *out, cT *inp, size_t n);
  void (*gelu_backward) (SvBackend *be, SvTensor *dinp, cT *dout, cT *inp, size_t n);
  void (*add_forward) (SvBackend *be, SvTensor *out, cT *a, cT *b, size_t outer, size_t inner);
  void (*add_backward) (SvBackend *be, SvTensor *da, SvTensor *db, cT *dout, size_t outer,
                        size_t inner);
  void (*scale_forward) (SvBackend *be, SvTensor *out, cT *inp, float alpha, size_t n);
  void (*scale_backward) (SvBackend *be, SvTensor *dinp, cT *dout, float alpha, size_t n);
  void (*softmax_forward) (SvBackend *be, SvTensor *out, cT *inp, cT *mask, int N, int C,
                           float inv_temp);
  void (*softmax_backward) (SvBackend *be, SvTensor *dinp, cT *dout, cT *out, int N, int C,
                            float inv_temp);
  void (*attention_forward) (SvBackend *be, SvTensor *out, SvTensor *att, cT *q, cT *k, cT *v,
                             cT *graph, int B, int Nq, int Nk, int C, int H);
  void (*attention_backward) (SvBackend *be, SvTensor *dq, SvTensor *dk, SvTensor *dv,
                              SvTensor *scratch, cT *dout, cT *att, cT *q, cT *k, cT *v, cT *graph,
                              int B, int Nq, int Nk, int C, int H);
  void (*transpose_forward) (SvBackend *be, SvTensor *out, cT *inp, int A, int R, int C, int E);
  void (*transpose_backward) (SvBackend *be, SvTensor *dinp, cT *dout, int A, int R, int C, int E);
  void (*embedding_forward) (SvBackend *be, SvTensor *out, cT *ids, cT *table, int N, int V, int C);
  void (*embedding_backward) (SvBackend *be, SvTensor *dtable, cT *dout, cT *ids, int N, int V,
                              int C);
  void (*patchify_forward) (SvBackend *be, SvTensor *patches, cT *video, int B, int T, int H, int W,
                            int Cin, int pt, int p);
  void (*patchify_backward) (SvBackend *be, SvTensor *dvideo, cT *dpatches, int B, int T, int H,
                             int W, int Cin, int pt, int p);
  void (*im2col_forward) (SvBackend *be, SvTensor *cols, cT *img, int N, int H, int W, int C,
                          int k, int s, int pad);
  void (*im2col_backward) (SvBackend *be, SvTensor *dimg, cT *dcols, int N, int H, int W, int C,
                           int k, int s, int pad);
  void (*mean_forward) (SvBackend *be, SvTensor *out, cT *inp, const int64_t *shape, int ndim,
                        unsigned axes_mask);
  void (*mean_backward) (SvBackend *be, SvTensor *dinp, cT *dout, const int64_t *shape, int ndim,
                         unsigned axes_mask);
  void (*l2norm_forward) (SvBackend *be, SvTensor *out, SvTensor *norm, cT *inp, int N, int C,
                          float eps);
  void (*l2norm_backward) (SvBackend *be, SvTensor *dinp, cT *dout, cT *out, cT *norm, int N, int C,
                           float eps);
  void (*cosine_sim_forward) (SvBackend *be, SvTensor *sim, SvTensor *an, SvTensor *bn,
                              SvTensor *anorm, SvTensor *bnorm, cT *a, cT *b, int batch, int Na,
                              int Nb, int C, float eps);
  void (*cosine_sim_backward) (SvBackend *be, SvTensor *da, SvTensor *db, SvTensor *scratch,
                               cT *dsim, cT *an, cT *bn, cT *anorm, cT *bnorm, int batch, int Na,
                               int Nb, int C, float eps);
  void (*assign_forward) (SvBackend *be, SvTensor *out, SvTensor *y, SvTensor *denom, cT *logits,
                          cT *noise, int B, int M, int N, float inv_tau, bool hard);
  void (*assign_backward) (SvBackend *be, SvTensor *dlogits, SvTensor *scratch, cT *dout, cT *out,
                           cT *y, cT *denom, int B, int M, int N, float inv_tau);
  void (*softmax_xent_forward) (SvBackend *be, SvTensor *loss, SvTensor *probs, cT *logits,
                                cT *targets, int N, int C);
  void (*softmax_xent_backward) (SvBackend *be, SvTensor *dlogits, cT *dloss, cT *probs,
                                 cT *targets, int N, int C);
  void (*mse_forward) (SvBackend *be, SvTensor *loss, cT *a, cT *b, size_t n);
  void (*mse_backward) (SvBackend *be, SvTensor *da, SvTensor *db, cT *dloss, cT *a, cT *b,
                        size_t n);
  /* STGT block-banded graph attention (sv_cpu_stgraph_*); a backend without them leaves
   * these NULL and the ops report SV_ERROR_UNSUPPORTED */
  void (*stgraph_build) (SvBackend *be, SvTensor *graph, cT *u, int B, int Tf, int S, int Cg,
                         float theta);
  void (*stgraph_attention_forward) (SvBackend *be, SvTensor *out, SvTensor *att, cT *q, cT *k,
                                     cT *v, cT *graph, int B, int Tf, int S, int C, int H);
  void (*stgraph_attention_backward) (SvBackend *be, SvTensor *dq, SvTensor *dk, SvTensor *dv,
                                      SvTensor *scratch, cT *dout, cT *att, cT *q, cT *k, cT *v,
                                      cT *graph, int B, int Tf, int S, int C, int H);

  /* Optimiser updates on the device (sv-optim.c).  A backend without them (the
   * CPU, whose parameters the optimiser updates in place) leaves them NULL, and
   * device parameters are then updated through host copies. */
  /* ssq[2 * index] + ssq[2 * index + 1] = sum of grad^2, as a pair of floats
   * (hi, lo) whose sum the host takes in double; non-finite when grad is (or
   * when the float sum overflows: the optimiser then recounts on the host) */
  void (*optim_grad_ssq) (SvBackend *be, SvTensor *ssq, size_t index, cT *grad);
  /* one step of k->kind on x (its numel elements) from grad, with the state s0
   * (momentum / exp_avg) and s1 (exp_avg_sq, AdamW) of as many elements; decay:
   * whether k's weight decay applies */
  void (*optim_update) (SvBackend *be, const SvOptimConsts *k, bool decay, SvTensor *x, cT *grad,
                        SvTensor *s0, SvTensor *s1);
} SvBackendClass;

struct _SvBackend {
  const SvBackendClass *klass;
  char *device_name; /* human-readable, e.g. "CPU (OpenBLAS, 2 threads)" */
  gboolean is_host;  /* tensors have host pointers */
  gpointer priv;
};

struct _SvStorage {
  SvBackend *backend;
  size_t bytes;
  void *host; /* host pointer, NULL for device memory */
  gpointer handle;
};

/* The process-wide CPU backend (never freed). */
SvBackend *sv_backend_cpu (void);

/* Chooses a backend from a device string: "auto", "cpu", "vulkan", "vulkan:N".
 * SVILM_DEVICE in the environment overrides `device` when set.
 * "auto" falls back to the CPU; an explicit request that cannot be met is an error. */
SvBackend *sv_backend_open (const char *device, GError **error);
void sv_backend_unref (SvBackend *be);
gboolean sv_backend_finish (SvBackend *be, GError **error);

/* For programs: re-executes the process with OMP_WAIT_POLICY=passive unless the
 * user set a policy.  libgomp reads it once at load, and its default (spin before
 * sleeping) takes the cores from decoding threads and other processes: a training
 * step on a busy 2-core machine went from 4-5 s to 1.3 s.  Call first in main(). */
void sv_prefer_passive_threads (char **argv);

/* Runs fn (i, data) for every i in [0, n): on the CPU backend concurrently, one call
 * per thread, each call single-threaded inside (its kernels find themselves in a
 * parallel region and run serially; a pthreads OpenBLAS is set to one thread
 * meanwhile); in order on the calling thread for other backends, one thread, or when
 * already inside a parallel region.  For work that splits into whole independent
 * pieces too small to thread well one at a time (one clip of a small model: its
 * products are a few hundred rows, and a parallel region per op costs wake-ups). */
void sv_backend_run_concurrently (SvBackend *be, int n, void (*fn) (int i, gpointer data),
                                  gpointer data);

/* Threads used by the CPU kernels (OpenMP and OpenBLAS). 0 = all cores. */
void sv_set_num_threads (int n);
int sv_get_num_threads (void);

G_END_DECLS
