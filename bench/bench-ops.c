/* Benchmark: GFLOP/s of linear and attention at the model's sizes, next to
 * cblas_sgemm at the same GEMM sizes in the same run, and the ratio.
 * Prints figures; never fails on speed.
 *
 *   bench-ops [--threads N] [--seconds S]
 */
#include "svilm-core.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  const char *config;
  int tokens; /* video tokens per clip: (T/2)(H/16)(W/16) */
  int width, heads, mlp;
} Size;

static const Size sizes[] = {
  { "tiny", 4 * 7 * 7, 192, 3, 768 },      /* 8 frames, 112x112 */
  { "small", 8 * 10 * 10, 384, 6, 1536 },  /* 16 frames, 160x160 */
  { "base", 16 * 14 * 14, 768, 12, 3072 }, /* 32 frames, 224x224 (paper) */
};

static double min_seconds = 0.5;

/* Runs fn until min_seconds elapsed (after one warm-up call); returns seconds per call. */
static double
time_it (void (*fn) (gpointer), gpointer user)
{
  fn (user);
  int iters = 0;
  gint64 t0 = g_get_monotonic_time ();
  double el;
  do {
    fn (user);
    iters++;
    el = (double) (g_get_monotonic_time () - t0) / 1e6;
  } while (el < min_seconds);
  return el / iters;
}

typedef struct {
  SvTensor *out, *inp, *w, *b, *dinp, *dw, *db;
  float *A, *B, *Cm;
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
  l.inp = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ N, C }, NULL);
  l.w = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ OC, C }, NULL);
  l.b = sv_tensor_new (cpu, SV_F32, 1, (int64_t[]){ OC }, NULL);
  l.out = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ N, OC }, NULL);
  l.dinp = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ N, C }, NULL);
  l.dw = sv_tensor_new (cpu, SV_F32, 2, (int64_t[]){ OC, C }, NULL);
  l.db = sv_tensor_new (cpu, SV_F32, 1, (int64_t[]){ OC }, NULL);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (l.inp), l.inp->numel, -1, 1);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (l.w), l.w->numel, -1, 1);
  l.A = sv_tensor_f32 (l.inp);
  l.B = sv_tensor_f32 (l.w);
  l.Cm = sv_tensor_f32 (l.out);
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
  sv_tensor_free (l.inp);
  sv_tensor_free (l.w);
  sv_tensor_free (l.b);
  sv_tensor_free (l.out);
  sv_tensor_free (l.dinp);
  sv_tensor_free (l.dw);
  sv_tensor_free (l.db);
}

typedef struct {
  SvTensor *out, *att, *q, *k, *v, *scratch, *dq, *dk, *dv;
  int heads;
  float *A, *Cm;
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
  float *q = sv_tensor_f32 (a->q), *v = sv_tensor_f32 (a->v), *att = sv_tensor_f32 (a->att);
  float *out = sv_tensor_f32 (a->out);
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
  a.q = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.k = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.v = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.out = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.dq = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.dk = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.dv = sv_tensor_new (cpu, SV_F32, 3, x, NULL);
  a.att = sv_tensor_new (cpu, SV_F32, 4, at, NULL);
  a.scratch = sv_tensor_new (cpu, SV_F32, 4, at, NULL);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (a.q), a.q->numel, -1, 1);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (a.k), a.k->numel, -1, 1);
  sv_rng_fill_uniform (&rng, sv_tensor_f32 (a.v), a.v->numel, -1, 1);

  double flops = 4.0 * H * (double) N * N * a.hs;
  double t_gemm = time_it (run_attn_sgemm, &a);
  double t_fwd = time_it (run_attn_fwd, &a);
  double t_bwd = time_it (run_attn_bwd, &a);
  double peak = flops / t_gemm / 1e9;
  printf ("%-6s attention N=%5d C=%4d H=%2d  fwd %7.2f GFLOP/s  bwd %7.2f GFLOP/s  "
          "sgemm %7.2f GFLOP/s  fwd/sgemm %.2f  bwd/sgemm %.2f\n",
          s->config, N, C, H, flops / t_fwd / 1e9, 2 * flops / t_bwd / 1e9, peak,
          (flops / t_fwd / 1e9) / peak, (2 * flops / t_bwd / 1e9) / peak);
  SvTensor *all[] = { a.q, a.k, a.v, a.out, a.dq, a.dk, a.dv, a.att, a.scratch };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

int
main (int argc, char **argv)
{
  int threads = 0;
  gboolean skip_base = FALSE;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = all cores)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &min_seconds, "seconds per measurement", "S" },
    { "skip-base", 0, 0, G_OPTION_ARG_NONE, &skip_base, "skip the ViT-B sizes", NULL },
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
  printf ("svilm op benchmark on %s\n", sv_backend_cpu ()->device_name);
  printf ("FLOP counts: linear 2*N*C*OC (backward 2x), attention 4*H*N^2*hs (backward 2x)\n");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    const Size *s = &sizes[i];
    if (skip_base && g_str_equal (s->config, "base"))
      continue;
    bench_linear (s, s->tokens, s->width, 3 * s->width, "qkv");
    bench_linear (s, s->tokens, s->width, s->mlp, "mlp-up");
    bench_linear (s, s->tokens, s->mlp, s->width, "mlp-down");
    bench_attention (s);
  }
  return 0;
}
