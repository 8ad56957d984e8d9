/* Benchmark: GFLOP/s of linear and attention at the model's sizes, next to
 * cblas_sgemm at the same GEMM sizes in the same run, and the ratio.
 * Prints figures; never fails on speed.
 *
 * With --device (vulkan, vulkan:N) the ops run on that backend; each call is then
 * waited for (sv_backend_finish), so a figure includes recording and submitting one
 * op, and the sgemm column stays the CPU's.  On lavapipe only correctness counts.
 *
 * GELU and softmax (the model's exp-heavy ops) are timed next to the scalar libm loop
 * (erfcf, expf) they replaced, on one thread each so that the ratio is the kernels'.
 *
 *   bench-ops [--threads N] [--seconds S] [--device D]
 */
#include "sv-frames.h"
#include "svilm-core.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *config;
  int tokens; /* video tokens per clip: (T/tubelet_t)(H/patch)(W/patch) */
  int width, heads, mlp;
} Size;

/* the presets of svilm-core/sv-model-config.c */
static const Size sizes[] = {
  { "tiny", 4 * 8 * 8, 128, 4, 512 },      /* 8 frames, 64x64, patches 8 */
  { "small", 8 * 7 * 7, 384, 6, 1536 },    /* 16 frames, 112x112, patches 16 */
  { "base", 16 * 14 * 14, 768, 12, 3072 }, /* 32 frames, 224x224 (paper) */
};

static double min_seconds = 0.5;
static SvBackend *dev; /* where the ops run */

/* a tensor on the benchmark's device, filled from host (or zeros) */
static SvTensor *
dev_tensor (int ndim, const int64_t *shape, const SvTensor *host)
{
  GError *error = NULL;
  SvTensor *t = sv_tensor_new (dev, SV_F32, ndim, shape, &error);
  if (t && host &&
      !sv_tensor_upload (t, sv_tensor_f32 ((SvTensor *) host),
                         (size_t) host->numel * sizeof (float), &error))
    g_clear_pointer (&t, sv_tensor_free);
  if (!t) {
    fprintf (stderr, "bench-ops: %s\n", error->message);
    exit (1);
  }
  return t;
}

static void
finish (void)
{
  GError *error = NULL;
  if (!sv_backend_finish (dev, &error)) {
    fprintf (stderr, "bench-ops: %s\n", error->message);
    exit (1);
  }
}

/* Runs fn until min_seconds elapsed (after one warm-up call); returns seconds per call. */
static double
time_it (void (*fn) (gpointer), gpointer user)
{
  fn (user);
  finish ();
  int iters = 0;
  gint64 t0 = g_get_monotonic_time ();
  double el;
  do {
    fn (user);
    finish ();
    iters++;
    el = (double) (g_get_monotonic_time () - t0) / 1e6;
  } while (el < min_seconds);
  return el / iters;
}

typedef struct {
  SvTensor *out, *inp, *w, *b, *dinp, *dw, *db; /* on the device */
  float *A, *B, *Cm;                            /* host copies for sgemm */
  int M, N, K;
} LinearBench;

static void
run_linear_fwd (gpointer p)
{
  LinearBench *l = p;
  sv_linear_forward (l->out, l->inp, l->w, l->b, NULL);
}

static void
run_linear_bwd (gpointer p)
{
  LinearBench *l = p;
  sv_linear_backward (l->dinp, l->dw, l->db, l->out, l->inp, l->w, NULL);
}

static void
run_sgemm (gpointer p)
{
  LinearBench *l = p;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, l->M, l->N, l->K, 1.0f, l->A, l->K, l->B,
               l->K, 0.0f, l->Cm, l->N);
}

static void
bench_linear (const Size *s, int N, int C, int OC, const char *what)
{
  SvBackend *cpu = sv_backend_cpu ();
  SvRng rng;
  sv_rng_seed (&rng, 1);
  LinearBench l = { 0 };
  SvTensor *hinp = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ N, C }, NULL);
  SvTensor *hw = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ OC, C }, NULL);
  SvTensor *hout = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ N, OC }, NULL);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (hinp), hinp->numel, -1, 1);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (hw), hw->numel, -1, 1);
  SvTensor *hb = sv_tensor_new (cpu, SV_F32, 1, (int64_t[]){ OC }, NULL);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (hb), hb->numel, -1, 1);
  l.inp = dev_tensor (2, hinp->shape, hinp);
  l.w = dev_tensor (2, hw->shape, hw);
  l.b = dev_tensor (1, hb->shape, hb);
  l.out = dev_tensor (2, (int64_t[]){ N, OC }, NULL);
  l.dinp = dev_tensor (2, (int64_t[]){ N, C }, NULL);
  l.dw = dev_tensor (2, (int64_t[]){ OC, C }, NULL);
  l.db = dev_tensor (1, (int64_t[]){ OC }, NULL);
  l.A = sv_tensor_f32 (hinp);
  l.B = sv_tensor_f32 (hw);
  l.Cm = sv_tensor_f32 (hout);
  l.M = N;
  l.N = OC;
  l.K = C;

  double flops = 2.0 * N * C * OC;
  double t_gemm = time_it (run_sgemm, &l);
  double t_fwd = time_it (run_linear_fwd, &l);
  double t_bwd = time_it (run_linear_bwd, &l);
  double peak = flops / t_gemm / 1e9;
  printf ("%-6s linear %-9s [%5d x %4d] -> %4d  fwd %7.2f GFLOP/s  bwd %7.2f GFLOP/s  "
          "sgemm %7.2f GFLOP/s  fwd/sgemm %.2f  bwd/sgemm %.2f\n",
          s->config, what, N, C, OC, flops / t_fwd / 1e9, 2 * flops / t_bwd / 1e9, peak,
          (flops / t_fwd / 1e9) / peak, (2 * flops / t_bwd / 1e9) / peak);
  SvTensor *all[] = { l.inp, l.w, l.b, l.out, l.dinp, l.dw, l.db, hinp, hw, hb, hout };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

typedef struct {
  SvTensor *out, *att, *q, *k, *v, *scratch, *dq, *dk, *dv; /* on the device */
  SvTensor *hq, *hv, *hatt, *hout;                          /* host, for sgemm */
  int heads;
  int N, hs;
} AttnBench;

static void
run_attn_fwd (gpointer p)
{
  AttnBench *a = p;
  sv_attention_forward (a->out, a->att, a->q, a->k, a->v, NULL, a->heads, NULL);
}

static void
run_attn_bwd (gpointer p)
{
  AttnBench *a = p;
  sv_attention_backward (a->dq, a->dk, a->dv, a->scratch, a->out, a->att, a->q, a->k, a->v, NULL,
                         a->heads, NULL);
}

/* the same two GEMMs per head as attention (q k^T and att v), no softmax */
static void
run_attn_sgemm (gpointer p)
{
  AttnBench *a = p;
  int C = a->hs * a->heads;
  float *q = sv_tensor_f32 (a->hq), *v = sv_tensor_f32 (a->hv), *att = sv_tensor_f32 (a->hatt);
  float *out = sv_tensor_f32 (a->hout);
  for (int h = 0; h < a->heads; h++) {
    float *ah = att + (size_t) h * a->N * a->N;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, a->N, a->N, a->hs, 1.0f, q + h * a->hs, C,
                 q + h * a->hs, C, 0.0f, ah, a->N);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, a->N, a->hs, a->N, 1.0f, ah, a->N,
                 v + h * a->hs, C, 0.0f, out + h * a->hs, C);
  }
}

static void
bench_attention (const Size *s)
{
  SvBackend *cpu = sv_backend_cpu ();
  SvRng rng;
  sv_rng_seed (&rng, 2);
  int N = s->tokens, C = s->width, H = s->heads;
  AttnBench a = { .heads = H, .N = N, .hs = C / H };
  int64_t x[3] = { 1, N, C }, at[4] = { 1, H, N, N };
  a.hq = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  SvTensor *hk = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.hv = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.hout = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.hatt = sv_tensor_new (cpu, SV_F32, 4, at, NULL);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (a.hq), a.hq->numel, -1, 1);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (hk), hk->numel, -1, 1);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (a.hv), a.hv->numel, -1, 1);
  a.q = dev_tensor (3, x, a.hq);
  a.k = dev_tensor (3, x, hk);
  a.v = dev_tensor (3, x, a.hv);
  a.out = dev_tensor (3, x, NULL);
  a.dq = dev_tensor (3, x, NULL);
  a.dk = dev_tensor (3, x, NULL);
  a.dv = dev_tensor (3, x, NULL);
  a.att = dev_tensor (4, at, NULL);
  a.scratch = dev_tensor (4, at, NULL);

  double flops = 4.0 * H * (double) N * N * a.hs;
  double t_gemm = time_it (run_attn_sgemm, &a);
  double t_fwd = time_it (run_attn_fwd, &a);
  double t_bwd = time_it (run_attn_bwd, &a);
  double peak = flops / t_gemm / 1e9;
  printf ("%-6s attention N=%5d C=%4d H=%2d  fwd %7.2f GFLOP/s  bwd %7.2f GFLOP/s  "
          "sgemm %7.2f GFLOP/s  fwd/sgemm %.2f  bwd/sgemm %.2f\n",
          s->config, N, C, H, flops / t_fwd / 1e9, 2 * flops / t_bwd / 1e9, peak,
          (flops / t_fwd / 1e9) / peak, (2 * flops / t_bwd / 1e9) / peak);
  SvTensor *all[] = { a.q,   a.k,       a.v,  a.out, a.dq, a.dk,   a.dv,
                      a.att, a.scratch, a.hq, hk,    a.hv, a.hout, a.hatt };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- GELU and softmax against the scalar libm loops ---- */

typedef struct {
  SvTensor *out, *inp; /* on the device */
  float *x, *y;        /* host copies for the libm loops */
  int rows, cols;
} PointwiseBench;

static void
run_gelu (gpointer p)
{
  PointwiseBench *b = p;
  sv_gelu_forward (b->out, b->inp, NULL);
}

static void
run_gelu_libm (gpointer p)
{
  PointwiseBench *b = p;
  for (size_t i = 0; i < (size_t) b->rows * b->cols; i++)
    b->y[i] = 0.5f * b->x[i] * erfcf (-b->x[i] * 0.70710678f);
}

static void
run_softmax (gpointer p)
{
  PointwiseBench *b = p;
  sv_softmax_forward (b->out, b->inp, NULL, 1.0f, NULL);
}

static void
run_softmax_libm (gpointer p)
{
  PointwiseBench *b = p;
  for (int r = 0; r < b->rows; r++) {
    const float *x = b->x + (size_t) r * b->cols;
    float *y = b->y + (size_t) r * b->cols, maxv = -INFINITY;
    for (int c = 0; c < b->cols; c++)
      maxv = fmaxf (maxv, x[c]);
    double sum = 0.0;
    for (int c = 0; c < b->cols; c++)
      sum += (y[c] = expf (x[c] - maxv));
    for (int c = 0; c < b->cols; c++)
      y[c] *= (float) (1.0 / sum);
  }
}

static void
bench_pointwise (const Size *s, int rows, int cols, const char *what, void (*fn) (gpointer),
                 void (*libm) (gpointer))
{
  SvRng rng;
  sv_rng_seed (&rng, 3);
  int64_t shape[2] = { rows, cols };
  PointwiseBench b = { .rows = rows, .cols = cols };
  SvTensor *host = sv_tensor_new (sv_backend_cpu (), SV_F32, 2, shape, NULL);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (host), host->numel, -4, 4);
  b.x = sv_tensor_f32 (host);
  b.y = g_new (float, host->numel);
  b.inp = dev_tensor (2, shape, host);
  b.out = dev_tensor (2, shape, NULL);
  int saved = sv_get_num_threads ();
  sv_set_num_threads (1);
  double t = time_it (fn, &b), t_libm = time_it (libm, &b);
  sv_set_num_threads (saved);
  printf ("%-6s %-8s %5d x %5d  %8.1f Melem/s  libm loop %8.1f Melem/s  ratio %.2f (1 thread)\n",
          s->config, what, rows, cols, host->numel / t / 1e6, host->numel / t_libm / 1e6,
          t_libm / t);
  sv_tensor_free (b.inp);
  sv_tensor_free (b.out);
  sv_tensor_free (host);
  g_free (b.y);
}

/* ---- frame resize: 640x480 BGRx to each config's model input, against a memcpy ---- */

typedef struct {
  const uint8_t *px;
  uint8_t *copy;
  float *out;
  int width, height, H, W;
} ResizeBench;

static void
run_resize (gpointer p)
{
  ResizeBench *r = p;
  sv_frame_resize_normalize_packed (r->px, r->width, r->height, r->width * 4, 4, 2, 1, 0, r->H,
                                    r->W, r->out);
}

static void
run_frame_copy (gpointer p)
{
  ResizeBench *r = p;
  memcpy (r->copy, r->px, (size_t) r->width * r->height * 4);
}

static void
bench_resize (const char *config, int H, int W)
{
  ResizeBench r = { .width = 640, .height = 480, .H = H, .W = W };
  size_t bytes = (size_t) r.width * r.height * 4;
  uint8_t *px = g_malloc (bytes);
  for (size_t i = 0; i < bytes; i++)
    px[i] = (uint8_t) (i * 2654435761u >> 24);
  r.px = px;
  r.copy = g_malloc (bytes);
  r.out = g_new (float, (size_t) H *W * 3);
  double t = time_it (run_resize, &r), t_copy = time_it (run_frame_copy, &r);
  printf ("%-6s resize 640x480 BGRx -> %dx%d  %6.3f ms a frame  memcpy of the frame %6.3f ms  "
          "ratio %.2f\n",
          config, W, H, t * 1e3, t_copy * 1e3, t / t_copy);
  g_free (px);
  g_free (r.copy);
  g_free (r.out);
}

int
main (int argc, char **argv)
{
  int threads = 0;
  gboolean skip_base = FALSE;
  char *device = NULL;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = all cores)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &min_seconds, "seconds per measurement", "S" },
    { "skip-base", 0, 0, G_OPTION_ARG_NONE, &skip_base, "skip the ViT-B sizes", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "where the ops run (default cpu)", "D" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("- svilm op benchmarks");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "bench-ops: %s\n", error->message);
    return 1;
  }
  g_option_context_free (ctx);
  sv_set_num_threads (threads);
  dev = sv_backend_open (device ? device : "cpu", &error);
  if (!dev) {
    fprintf (stderr, "bench-ops: %s\n", error->message);
    return 1;
  }
  g_free (device);
  printf ("svilm op benchmark on %s (sgemm: %s)\n", dev->device_name,
          sv_backend_cpu ()->device_name);
  printf ("FLOP counts: linear 2*N*C*OC (backward 2x), attention 4*H*N^2*hs (backward 2x)\n");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    const Size *s = &sizes[i];
    if (skip_base && g_str_equal (s->config, "base"))
      continue;
    bench_linear (s, s->tokens, s->width, 3 * s->width, "qkv");
    bench_linear (s, s->tokens, s->width, s->mlp, "mlp-up");
    bench_linear (s, s->tokens, s->mlp, s->width, "mlp-down");
    bench_attention (s);
    bench_pointwise (s, s->tokens, s->mlp, "gelu", run_gelu, run_gelu_libm);
    bench_pointwise (s, s->heads * s->tokens, s->tokens, "softmax", run_softmax, run_softmax_libm);
  }
  bench_resize ("tiny", 64, 64);
  bench_resize ("small", 112, 112);
  bench_resize ("base", 224, 224);
  sv_backend_unref (dev);
  return 0;
}
