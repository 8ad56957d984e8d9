/* svilm-core: the CPU backend: host memory, OpenBLAS GEMMs, OpenMP loops.
 * Each op entry unwraps tensor handles into pointers for the kernels in cpu/. */
#include "sv-backend.h"

#include "cpu/sv-cpu-kernels.h"
#include "sv-error.h"
#include "sv-omp.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F(t) ((t) ? (float *) (t)->data : NULL)
#define IDS(t) ((t) ? (const int32_t *) (t)->data : NULL)

static SvStorage *
cpu_storage_new (SvBackend *be, size_t bytes, GError **error)
{
  void *p = NULL;
  /* 64-byte alignment keeps AVX loads aligned and rows cache-friendly */
  if (posix_memalign (&p, 64, bytes ? bytes : 64) != 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "out of memory allocating %zu bytes", bytes);
    return NULL;
  }
  SvStorage *s = g_new0 (SvStorage, 1);
  s->backend = be;
  s->bytes = bytes;
  s->host = p;
  return s;
}

static void
cpu_storage_free (SvBackend *be, SvStorage *s)
{
  free (s->host);
  g_free (s);
}

static void *
cpu_storage_host_ptr (SvBackend *be, SvStorage *s)
{
  return s->host;
}

static gboolean
cpu_upload (SvBackend *be, SvTensor *t, const void *src, size_t bytes, GError **error)
{
  memcpy (t->data, src, bytes);
  return TRUE;
}

static gboolean
cpu_download (SvBackend *be, const SvTensor *t, void *dst, size_t bytes, GError **error)
{
  memcpy (dst, t->data, bytes);
  return TRUE;
}

static gboolean
cpu_zero (SvBackend *be, SvTensor *t, GError **error)
{
  memset (t->data, 0, t->numel * 4);
  return TRUE;
}

static gboolean
cpu_finish (SvBackend *be, GError **error)
{
  return TRUE;
}

static void
cpu_destroy (SvBackend *be)
{
  /* the CPU backend is process-wide and never destroyed */
}

static void
cpu_linear_forward (SvBackend *be, SvTensor *out, cT *inp, cT *weight, cT *bias, int N, int C,
                    int OC)
{
  sv_cpu_linear_forward (F (out), F (inp), F (weight), F (bias), N, C, OC);
}
static void
cpu_linear_backward (SvBackend *be, SvTensor *dinp, SvTensor *dweight, SvTensor *dbias, cT *dout,
                     cT *inp, cT *weight, int N, int C, int OC)
{
  sv_cpu_linear_backward (F (dinp), F (dweight), F (dbias), F (dout), F (inp), F (weight), N, C,
                          OC);
}
static void
cpu_matmul_forward (SvBackend *be, SvTensor *c, cT *a, cT *b, int batch, int M, int N, int K,
                    bool ta, bool tb, float alpha)
{
  sv_cpu_matmul_forward (F (c), F (a), F (b), batch, M, N, K, ta, tb, alpha);
}
static void
cpu_matmul_backward (SvBackend *be, SvTensor *da, SvTensor *db, cT *dc, cT *a, cT *b, int batch,
                     int M, int N, int K, bool ta, bool tb, float alpha)
{
  sv_cpu_matmul_backward (F (da), F (db), F (dc), F (a), F (b), batch, M, N, K, ta, tb, alpha);
}
static void
cpu_layernorm_forward (SvBackend *be, SvTensor *out, SvTensor *mean, SvTensor *rstd, cT *inp,
                       cT *weight, cT *bias, int N, int C, float eps)
{
  sv_cpu_layernorm_forward (F (out), F (mean), F (rstd), F (inp), F (weight), F (bias), N, C, eps);
}
static void
cpu_layernorm_backward (SvBackend *be, SvTensor *dinp, SvTensor *dweight, SvTensor *dbias, cT *dout,
                        cT *inp, cT *weight, cT *mean, cT *rstd, int N, int C)
{
  sv_cpu_layernorm_backward (F (dinp), F (dweight), F (dbias), F (dout), F (inp), F (weight),
                             F (mean), F (rstd), N, C);
}
static void
cpu_gelu_forward (SvBackend *be, SvTensor *out, cT *inp, size_t n)
{
  sv_cpu_gelu_forward (F (out), F (inp), n);
}
static void
cpu_gelu_backward (SvBackend *be, SvTensor *dinp, cT *dout, cT *inp, size_t n)
{
  sv_cpu_gelu_backward (F (dinp), F (dout), F (inp), n);
}
static void
cpu_add_forward (SvBackend *be, SvTensor *out, cT *a, cT *b, size_t outer, size_t inner)
{
  sv_cpu_add_forward (F (out), F (a), F (b), outer, inner);
}
static void
cpu_add_backward (SvBackend *be, SvTensor *da, SvTensor *db, cT *dout, size_t outer, size_t inner)
{
  sv_cpu_add_backward (F (da), F (db), F (dout), outer, inner);
}
static void
cpu_scale_forward (SvBackend *be, SvTensor *out, cT *inp, float alpha, size_t n)
{
  sv_cpu_scale_forward (F (out), F (inp), alpha, n);
}
static void
cpu_scale_backward (SvBackend *be, SvTensor *dinp, cT *dout, float alpha, size_t n)
{
  sv_cpu_scale_backward (F (dinp), F (dout), alpha, n);
}
static void
cpu_softmax_forward (SvBackend *be, SvTensor *out, cT *inp, cT *mask, int N, int C, float it)
{
  sv_cpu_softmax_forward (F (out), F (inp), F (mask), N, C, it);
}
static void
cpu_softmax_backward (SvBackend *be, SvTensor *dinp, cT *dout, cT *out, int N, int C, float it)
{
  sv_cpu_softmax_backward (F (dinp), F (dout), F (out), N, C, it);
}
static void
cpu_attention_forward (SvBackend *be, SvTensor *out, SvTensor *att, cT *q, cT *k, cT *v, cT *graph,
                       int B, int Nq, int Nk, int C, int H)
{
  sv_cpu_attention_forward (F (out), F (att), F (q), F (k), F (v), F (graph), B, Nq, Nk, C, H);
}
static void
cpu_attention_backward (SvBackend *be, SvTensor *dq, SvTensor *dk, SvTensor *dv, SvTensor *scratch,
                        cT *dout, cT *att, cT *q, cT *k, cT *v, cT *graph, int B, int Nq, int Nk,
                        int C, int H)
{
  sv_cpu_attention_backward (F (dq), F (dk), F (dv), F (scratch), F (dout), F (att), F (q), F (k),
                             F (v), F (graph), B, Nq, Nk, C, H);
}
static void
cpu_transpose_forward (SvBackend *be, SvTensor *out, cT *inp, int A, int R, int C, int E)
{
  sv_cpu_transpose_forward (F (out), F (inp), A, R, C, E);
}
static void
cpu_transpose_backward (SvBackend *be, SvTensor *dinp, cT *dout, int A, int R, int C, int E)
{
  sv_cpu_transpose_backward (F (dinp), F (dout), A, R, C, E);
}
static void
cpu_embedding_forward (SvBackend *be, SvTensor *out, cT *ids, cT *table, int N, int V, int C)
{
  sv_cpu_embedding_forward (F (out), IDS (ids), F (table), N, V, C);
}
static void
cpu_embedding_backward (SvBackend *be, SvTensor *dtable, cT *dout, cT *ids, int N, int V, int C)
{
  sv_cpu_embedding_backward (F (dtable), F (dout), IDS (ids), N, V, C);
}
static void
cpu_patchify_forward (SvBackend *be, SvTensor *patches, cT *video, int B, int T, int H, int W,
                      int Cin, int pt, int p)
{
  sv_cpu_patchify_forward (F (patches), F (video), B, T, H, W, Cin, pt, p);
}
static void
cpu_patchify_backward (SvBackend *be, SvTensor *dvideo, cT *dpatches, int B, int T, int H, int W,
                       int Cin, int pt, int p)
{
  sv_cpu_patchify_backward (F (dvideo), F (dpatches), B, T, H, W, Cin, pt, p);
}
static void
cpu_im2col_forward (SvBackend *be, SvTensor *cols, cT *img, int N, int H, int W, int C, int k,
                    int s, int pad)
{
  sv_cpu_im2col_forward (F (cols), F (img), N, H, W, C, k, s, pad);
}
static void
cpu_im2col_backward (SvBackend *be, SvTensor *dimg, cT *dcols, int N, int H, int W, int C, int k,
                     int s, int pad)
{
  sv_cpu_im2col_backward (F (dimg), F (dcols), N, H, W, C, k, s, pad);
}
static void
cpu_mean_forward (SvBackend *be, SvTensor *out, cT *inp, const int64_t *shape, int ndim,
                  unsigned axes)
{
  sv_cpu_mean_forward (F (out), F (inp), shape, ndim, axes);
}
static void
cpu_mean_backward (SvBackend *be, SvTensor *dinp, cT *dout, const int64_t *shape, int ndim,
                   unsigned axes)
{
  sv_cpu_mean_backward (F (dinp), F (dout), shape, ndim, axes);
}
static void
cpu_l2norm_forward (SvBackend *be, SvTensor *out, SvTensor *norm, cT *inp, int N, int C, float eps)
{
  sv_cpu_l2norm_forward (F (out), F (norm), F (inp), N, C, eps);
}
static void
cpu_l2norm_backward (SvBackend *be, SvTensor *dinp, cT *dout, cT *out, cT *norm, int N, int C,
                     float eps)
{
  sv_cpu_l2norm_backward (F (dinp), F (dout), F (out), F (norm), N, C, eps);
}
static void
cpu_cosine_sim_forward (SvBackend *be, SvTensor *sim, SvTensor *an, SvTensor *bn, SvTensor *anorm,
                        SvTensor *bnorm, cT *a, cT *b, int batch, int Na, int Nb, int C, float eps)
{
  sv_cpu_cosine_sim_forward (F (sim), F (an), F (bn), F (anorm), F (bnorm), F (a), F (b), batch, Na,
                             Nb, C, eps);
}
static void
cpu_cosine_sim_backward (SvBackend *be, SvTensor *da, SvTensor *db, SvTensor *scratch, cT *dsim,
                         cT *an, cT *bn, cT *anorm, cT *bnorm, int batch, int Na, int Nb, int C,
                         float eps)
{
  sv_cpu_cosine_sim_backward (F (da), F (db), F (scratch), F (dsim), F (an), F (bn), F (anorm),
                              F (bnorm), batch, Na, Nb, C, eps);
}
static void
cpu_assign_forward (SvBackend *be, SvTensor *out, SvTensor *y, SvTensor *denom, cT *logits,
                    cT *noise, int B, int M, int N, float inv_tau, bool hard)
{
  sv_cpu_assign_forward (F (out), F (y), F (denom), F (logits), F (noise), B, M, N, inv_tau, hard);
}
static void
cpu_assign_backward (SvBackend *be, SvTensor *dlogits, SvTensor *scratch, cT *dout, cT *out, cT *y,
                     cT *denom, int B, int M, int N, float inv_tau)
{
  sv_cpu_assign_backward (F (dlogits), F (scratch), F (dout), F (out), F (y), F (denom), B, M, N,
                          inv_tau);
}
static void
cpu_softmax_xent_forward (SvBackend *be, SvTensor *loss, SvTensor *probs, cT *logits, cT *targets,
                          int N, int C)
{
  sv_cpu_softmax_xent_forward (F (loss), F (probs), F (logits), F (targets), N, C);
}
static void
cpu_softmax_xent_backward (SvBackend *be, SvTensor *dlogits, cT *dloss, cT *probs, cT *targets,
                           int N, int C)
{
  sv_cpu_softmax_xent_backward (F (dlogits), F (dloss), F (probs), F (targets), N, C);
}
static void
cpu_mse_forward (SvBackend *be, SvTensor *loss, cT *a, cT *b, size_t n)
{
  sv_cpu_mse_forward (F (loss), F (a), F (b), n);
}
static void
cpu_mse_backward (SvBackend *be, SvTensor *da, SvTensor *db, cT *dloss, cT *a, cT *b, size_t n)
{
  sv_cpu_mse_backward (F (da), F (db), F (dloss), F (a), F (b), n);
}
static void
cpu_stgraph_build (SvBackend *be, SvTensor *graph, cT *u, int B, int Tf, int S, int Cg, float theta)
{
  sv_cpu_stgraph_build (F (graph), F (u), B, Tf, S, Cg, theta);
}
static void
cpu_stgraph_attention_forward (SvBackend *be, SvTensor *out, SvTensor *att, cT *q, cT *k, cT *v,
                               cT *graph, int B, int Tf, int S, int C, int H)
{
  sv_cpu_stgraph_attention_forward (F (out), F (att), F (q), F (k), F (v), F (graph), B, Tf, S, C,
                                    H);
}
static void
cpu_stgraph_attention_backward (SvBackend *be, SvTensor *dq, SvTensor *dk, SvTensor *dv,
                                SvTensor *scratch, cT *dout, cT *att, cT *q, cT *k, cT *v,
                                cT *graph, int B, int Tf, int S, int C, int H)
{
  sv_cpu_stgraph_attention_backward (F (dq), F (dk), F (dv), F (scratch), F (dout), F (att), F (q),
                                     F (k), F (v), F (graph), B, Tf, S, C, H);
}

static const SvBackendClass cpu_class = {
  .name = "cpu",
  .storage_new = cpu_storage_new,
  .storage_free = cpu_storage_free,
  .storage_host_ptr = cpu_storage_host_ptr,
  .upload = cpu_upload,
  .download = cpu_download,
  .zero = cpu_zero,
  .finish = cpu_finish,
  .destroy = cpu_destroy,
  .linear_forward = cpu_linear_forward,
  .linear_backward = cpu_linear_backward,
  .matmul_forward = cpu_matmul_forward,
  .matmul_backward = cpu_matmul_backward,
  .layernorm_forward = cpu_layernorm_forward,
  .layernorm_backward = cpu_layernorm_backward,
  .gelu_forward = cpu_gelu_forward,
  .gelu_backward = cpu_gelu_backward,
  .add_forward = cpu_add_forward,
  .add_backward = cpu_add_backward,
  .scale_forward = cpu_scale_forward,
  .scale_backward = cpu_scale_backward,
  .softmax_forward = cpu_softmax_forward,
  .softmax_backward = cpu_softmax_backward,
  .attention_forward = cpu_attention_forward,
  .attention_backward = cpu_attention_backward,
  .transpose_forward = cpu_transpose_forward,
  .transpose_backward = cpu_transpose_backward,
  .embedding_forward = cpu_embedding_forward,
  .embedding_backward = cpu_embedding_backward,
  .patchify_forward = cpu_patchify_forward,
  .patchify_backward = cpu_patchify_backward,
  .im2col_forward = cpu_im2col_forward,
  .im2col_backward = cpu_im2col_backward,
  .mean_forward = cpu_mean_forward,
  .mean_backward = cpu_mean_backward,
  .l2norm_forward = cpu_l2norm_forward,
  .l2norm_backward = cpu_l2norm_backward,
  .cosine_sim_forward = cpu_cosine_sim_forward,
  .cosine_sim_backward = cpu_cosine_sim_backward,
  .assign_forward = cpu_assign_forward,
  .assign_backward = cpu_assign_backward,
  .softmax_xent_forward = cpu_softmax_xent_forward,
  .softmax_xent_backward = cpu_softmax_xent_backward,
  .mse_forward = cpu_mse_forward,
  .mse_backward = cpu_mse_backward,
  .stgraph_build = cpu_stgraph_build,
  .stgraph_attention_forward = cpu_stgraph_attention_forward,
  .stgraph_attention_backward = cpu_stgraph_attention_backward,
};

static int num_threads;

SvBackend *
sv_backend_cpu (void)
{
  static SvBackend *cpu;
  if (g_once_init_enter (&cpu)) {
    SvBackend *be = g_new0 (SvBackend, 1);
    be->klass = &cpu_class;
    be->is_host = TRUE;
    if (num_threads == 0)
      sv_set_num_threads (0);
    /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.21" */
    char **words = g_strsplit (openblas_get_config (), " ", 3);
    be->device_name = g_strdup_printf ("CPU (%s %s, %d threads)", words[0] ? words[0] : "BLAS",
                                       words[0] && words[1] ? words[1] : "", sv_get_num_threads ());
    g_strfreev (words);
    g_once_init_leave (&cpu, be);
  }
  return cpu;
}

void
sv_prefer_passive_threads (char **argv)
{
  if (g_getenv ("OMP_WAIT_POLICY") || !argv || !argv[0])
    return;
  g_setenv ("OMP_WAIT_POLICY", "passive", TRUE);
  execv ("/proc/self/exe", argv);
  /* no /proc: carry on with the default policy */
}

void
sv_backend_run_concurrently (SvBackend *be, int n, void (*fn) (int i, gpointer data), gpointer data)
{
  int nt = MIN (omp_get_max_threads (), n);
  if (be != sv_backend_cpu () || nt <= 1 || omp_in_parallel ()) {
    for (int i = 0; i < n; i++)
      fn (i, data);
    return;
  }
  int saved = 0;
  if (openblas_get_parallel () == 1) { /* 1 = pthreads, 2 = OpenMP, 0 = sequential */
    saved = openblas_get_num_threads ();
    openblas_set_num_threads (1);
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (int i = 0; i < n; i++)
    fn (i, data);
  if (saved > 1)
    openblas_set_num_threads (saved);
}

void
sv_set_num_threads (int n)
{
  if (n <= 0)
    n = (int) g_get_num_processors ();
#ifndef _OPENMP
  n = 1; /* a build without OpenMP (ThreadSanitizer) runs every kernel on one thread */
#endif
  num_threads = n;
  omp_set_num_threads (n);
  openblas_set_num_threads (n);
}

int
sv_get_num_threads (void)
{
  if (num_threads)
    return num_threads;
#ifndef _OPENMP
  return 1;
#endif
  /* not set by the program: OpenMP's own variable, else every core */
  const char *env = g_getenv ("OMP_NUM_THREADS");
  int n = env ? atoi (env) : 0;
  return n > 0 ? n : (int) g_get_num_processors ();
}
