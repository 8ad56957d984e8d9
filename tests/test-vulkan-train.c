/* The Vulkan backend against the CPU backend, part two (test-vulkan.c has the
 * other ops): STGT graph attention (graph build, banded attention forward and
 * backward; odd slice counts and sizes) and the optimiser's device updates (SGD
 * with momentum and AdamW, clipping on and off, parameters with and without
 * weight decay, checkpoints across backends, non-finite gradients).
 *
 * Each comparison reports its max abs and max relative error (relative over
 * values with |want| >= 1e-3) with g_test_message. */
#include "test-vulkan.h"

#include "sv-optim.h"

#include "vulkan/sv-vk-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* check() that also reports the largest relative error */
static void
check_report (const char *what, const Pair *p, double rtol, double atol)
{
  GError *e = NULL;
  size_t n = p->v->numel;
  float *got = g_new (float, MAX (n, 1));
  g_assert_true (sv_tensor_download (p->v, got, n * 4, &e));
  g_assert_no_error (e);
  const float *want = sv_tensor_f32 (p->c);
  double abs_err = sv_test_assert_close (what, got, want, n, rtol, atol), rel_err = 0.0;
  for (size_t i = 0; i < n; i++)
    if (fabsf (want[i]) >= 1e-3f)
      rel_err = MAX (rel_err, fabs ((double) got[i] - want[i]) / fabs ((double) want[i]));
  g_test_message ("%s: max abs error %.3g, max rel error %.3g", what, abs_err, rel_err);
  g_free (got);
}

/* ---- STGT graph attention ---- */

/* [B, Tf, S, C, H] with C not a multiple of 4 and slices 1, 3, 5 */
static const int stg_sizes[][5] = {
  { 1, 1, 1, 1, 1 }, { 2, 3, 7, 10, 2 }, { 1, 5, 7, 7, 1 }, { 2, 5, 1, 6, 2 }, { 1, 3, 33, 18, 2 },
};

static void
test_stgraph_build (void)
{
  static const float thetas[] = { 0.5f, 0.0f, -0.3f, 1.0f, -1.0f };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (stg_sizes); i++)
    for (guint ti = 0; ti < G_N_ELEMENTS (thetas); ti++) {
      int B = stg_sizes[i][0], Tf = stg_sizes[i][1], S = stg_sizes[i][2], Cg = stg_sizes[i][3];
      int N = Tf * S;
      SvRng rng;
      sv_rng_seed (&rng, 1200 + i);
      Pair u = PAIR (&rng, -1, 1, B, N, Cg), g = ZPAIR (B, N, 3 * S);
      float *ud = sv_tensor_f32 (u.c);
      if (N >= 3) { /* an exact duplicate, a doubled row (cosine 1 exactly) and a zero row */
        memcpy (ud + (size_t) Cg, ud, (size_t) Cg * 4);
        for (int c = 0; c < Cg; c++)
          ud[(size_t) (N - 1) * Cg + c] = 2.0f * ud[(size_t) (N - 2) * Cg + c];
        memset (ud + (size_t) (N / 2) * Cg, 0, (size_t) Cg * 4);
        upload_host (&u);
      }
      GError *e = NULL;
      g_assert_true (sv_stgraph_build (g.c, u.c, Tf, thetas[ti], &e));
      g_assert_true (sv_stgraph_build (g.v, u.v, Tf, thetas[ti], &e));
      g_assert_no_error (e);
      char *what = g_strdup_printf ("stgraph graph [%d, %d x %d, %d] theta %g", B, Tf, S, Cg,
                                    (double) thetas[ti]);
      check_report (what, &g, 1e-5, 1e-6);
      /* the same entries kept: a different decision would be an error of >= |theta| */
      float *got = g_new (float, g.c->numel);
      g_assert_true (sv_tensor_download (g.v, got, g.c->numel * 4, &e));
      size_t differ = 0, kept = 0;
      for (size_t j = 0; j < g.c->numel; j++) {
        differ += (got[j] != 0.0f) != (sv_tensor_f32 (g.c)[j] != 0.0f);
        kept += got[j] != 0.0f;
      }
      g_assert_cmpuint (differ, ==, 0);
      if (g_test_verbose ())
        g_test_message ("%s: %zu of %zu entries kept", what, kept, g.c->numel);
      g_free (got);
      g_free (what);
      FREE_PAIRS (&u, &g);
    }
}

static void
test_stgraph_attention (void)
{
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (stg_sizes); i++)
    for (int mode = 0; mode < 3; mode++) { /* no graph; built graph; random weights and holes */
      int B = stg_sizes[i][0], Tf = stg_sizes[i][1], S = stg_sizes[i][2], C = stg_sizes[i][3];
      int H = stg_sizes[i][4], N = Tf * S, W = 3 * S;
      SvRng rng;
      sv_rng_seed (&rng, 1300 + i * 3 + mode);
      Pair q = PAIR (&rng, -1, 1, B, N, C), k = PAIR (&rng, -1, 1, B, N, C);
      Pair v = PAIR (&rng, -1, 1, B, N, C), g = ZPAIR (B, N, W);
      Pair o = ZPAIR (B, N, C), att = ZPAIR (B, H, N, W), s = ZPAIR (B, H, N, W);
      Pair dout = PAIR (&rng, -1, 1, B, N, C), dq = PAIR (&rng, -1, 1, B, N, C);
      Pair dk = PAIR (&rng, -1, 1, B, N, C), dv = PAIR (&rng, -1, 1, B, N, C);
      GError *e = NULL;
      if (mode == 1) { /* the graph of q (CPU), the same on both */
        g_assert_true (sv_stgraph_build (g.c, q.c, Tf, 0.1f, &e));
        upload_host (&g);
      } else if (mode == 2) { /* zeros; the first query row of each clip sees nothing */
        float *gd = sv_tensor_f32 (g.c);
        sv_rng_fill_uniform (&rng, gd, g.c->numel, 0.0f, 2.0f);
        for (size_t j = 0; j < g.c->numel; j++)
          if (gd[j] < 0.6f || j % ((size_t) N * W) < (size_t) W)
            gd[j] = 0.0f;
        upload_host (&g);
      }
      const SvTensor *gc = mode ? g.c : NULL, *gv = mode ? g.v : NULL;
      g_assert_true (sv_stgraph_attention_forward (o.c, att.c, q.c, k.c, v.c, gc, Tf, H, &e));
      g_assert_true (sv_stgraph_attention_forward (o.v, att.v, q.v, k.v, v.v, gv, Tf, H, &e));
      g_assert_true (sv_stgraph_attention_backward (dq.c, dk.c, dv.c, s.c, dout.c, att.c, q.c, k.c,
                                                    v.c, gc, Tf, H, &e));
      g_assert_true (sv_stgraph_attention_backward (dq.v, dk.v, dv.v, s.v, dout.v, att.v, q.v, k.v,
                                                    v.v, gv, Tf, H, &e));
      g_assert_no_error (e);
      char *tag = g_strdup_printf ("[%d, %d x %d, %d, H %d] graph mode %d", B, Tf, S, C, H, mode);
      static const char *const names[] = { "att", "out", "dq", "dk", "dv" };
      const Pair *ps[] = { &att, &o, &dq, &dk, &dv };
      for (guint j = 0; j < G_N_ELEMENTS (ps); j++) {
        char *what = g_strdup_printf ("stgraph %s %s", names[j], tag);
        check_report (what, ps[j], 1e-4, j == 0 ? 1e-5 : tol_k (W));
        g_free (what);
      }
      /* dv alone (no scratch), on top of the above */
      g_assert_true (sv_stgraph_attention_backward (NULL, NULL, dv.c, NULL, dout.c, att.c, q.c, k.c,
                                                    v.c, gc, Tf, H, &e));
      g_assert_true (sv_stgraph_attention_backward (NULL, NULL, dv.v, NULL, dout.v, att.v, q.v, k.v,
                                                    v.v, gv, Tf, H, &e));
      g_assert_no_error (e);
      check ("stgraph dv alone", &dv, 1e-4, tol_k (W));
      g_free (tag);
      FREE_PAIRS (&q, &k, &v, &g, &o, &att, &s, &dout, &dq, &dk, &dv);
    }
}

/* ---- the optimiser on the device ---- */

/* 1-D parameters of odd sizes; the names pick weight decay (sv_optim_param_decays) */
static const struct {
  const char *name;
  int64_t n;
} opt_params[] = {
  { "blocks.0.attn.q.weight", 1029 }, /* decays */
  { "blocks.0.attn.q.bias", 33 },     /* no decay */
  { "blocks.0.ln1.weight", 7 },       /* no decay */
  { "proj.weight", 1 },               /* decays */
  { "text.token_embed", 20011 },      /* no decay; many workgroups */
  { "mlp.fc1.weight", 8193 },         /* decays */
};
#define N_OPT_PARAMS G_N_ELEMENTS (opt_params)

typedef struct {
  SvVarSet *set;
  SvVar vars[N_OPT_PARAMS];
} OptSet;

/* fills t with values uniform in [-scale, scale) from rng, on any backend */
static void
fill_tensor (SvTensor *t, SvRng *rng, float scale)
{
  GError *e = NULL;
  float *h = g_new (float, t->numel);
  sv_rng_fill_uniform (rng, h, t->numel, -scale, scale);
  g_assert_true (sv_tensor_upload (t, h, t->numel * 4, &e));
  g_assert_no_error (e);
  g_free (h);
}

static OptSet *
opt_set_new (SvBackend *be)
{
  GError *e = NULL;
  OptSet *s = g_new0 (OptSet, 1);
  s->set = sv_var_set_new (be);
  for (guint i = 0; i < N_OPT_PARAMS; i++)
    g_assert_true (sv_var_plan (s->set, &s->vars[i], SV_INIT_ZERO, 1, &opt_params[i].n, &e, "%s",
                                opt_params[i].name));
  g_assert_true (sv_var_set_commit (s->set, &e));
  g_assert_no_error (e);
  SvRng rng;
  sv_rng_seed (&rng, 1400);
  for (guint i = 0; i < N_OPT_PARAMS; i++)
    fill_tensor (&s->vars[i].x, &rng, 1.0f);
  return s;
}

static void
opt_set_free (OptSet *s)
{
  sv_var_set_free (s->set);
  g_free (s);
}

/* step k's gradients (the same on every backend); a small scale leaves the norm
 * under max_grad_norm, so that steps with and without clipping alternate */
static void
opt_set_grads (OptSet *s, int k)
{
  SvRng rng;
  sv_rng_seed (&rng, 1500 + (uint64_t) k);
  for (guint i = 0; i < N_OPT_PARAMS; i++)
    fill_tensor (&s->vars[i].d, &rng, k % 2 ? 1e-3f : 1.0f);
}

static void
opt_compare_params (const char *what, OptSet *c, OptSet *v, double rtol, double atol)
{
  for (guint i = 0; i < N_OPT_PARAMS; i++) {
    Pair p = { &c->vars[i].x, &v->vars[i].x };
    char *w = g_strdup_printf ("%s %s", what, opt_params[i].name);
    check_report (w, &p, rtol, atol);
    g_free (w);
  }
}

static char *
opt_save (SvOptimizer *opt, const char *dir, const char *name)
{
  GError *e = NULL;
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  g_assert_true (sv_optim_save (opt, w, &e));
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (sv_safetensors_writer_write (w, path, &e));
  g_assert_no_error (e);
  sv_safetensors_writer_free (w);
  return path;
}

/* the optimiser states in two checkpoint files, tensor by tensor */
static void
opt_compare_files (const char *what, const char *want_path, const char *got_path, double rtol,
                   double atol)
{
  GError *e = NULL;
  SvSafetensors *want = sv_safetensors_open (want_path, &e),
                *got = sv_safetensors_open (got_path, &e);
  g_assert_no_error (e);
  g_assert_cmpuint (sv_safetensors_n_tensors (want), ==, sv_safetensors_n_tensors (got));
  double worst = 0.0;
  for (guint i = 0; i < sv_safetensors_n_tensors (want); i++) {
    const SvSafetensorsEntry *a = sv_safetensors_entry (want, i);
    const SvSafetensorsEntry *b = sv_safetensors_find (got, a->name, NULL);
    g_assert_nonnull (b);
    g_assert_cmpuint (a->numel, ==, b->numel);
    char *w = g_strdup_printf ("%s %s", what, a->name);
    worst = MAX (worst, sv_test_assert_close (w, b->data, a->data, a->numel, rtol, atol));
    g_free (w);
  }
  g_test_message ("%s: state max abs error %.3g", what, worst);
  sv_safetensors_close (want);
  sv_safetensors_close (got);
}

static gboolean
files_equal (const char *a, const char *b)
{
  char *ca = NULL, *cb = NULL;
  gsize la = 0, lb = 0;
  g_assert_true (g_file_get_contents (a, &ca, &la, NULL) &&
                 g_file_get_contents (b, &cb, &lb, NULL));
  gboolean eq = la == lb && memcmp (ca, cb, la) == 0;
  g_free (ca);
  g_free (cb);
  return eq;
}

static void
check_optim (SvOptimKind kind)
{
  static const float lrs[2][5] = { { 0.1f, 0.05f, 0.02f, 0.1f, 0.01f },
                                   { 0.01f, 0.005f, 0.002f, 0.01f, 0.001f } };
  const char *kname = sv_optim_kind_name (kind);
  GError *e = NULL;
  SvOptimConfig cfg;
  sv_optim_config_init (&cfg, kind);
  cfg.weight_decay = 0.05f;
  cfg.max_grad_norm = 1.0f; /* the big-gradient steps have norms near 100 */
  OptSet *c = opt_set_new (cpu), *v = opt_set_new (vk);
  SvOptimizer *oc = sv_optim_new (c->set, &cfg, &e), *ov = sv_optim_new (v->set, &cfg, &e);
  g_assert_no_error (e);
  double worst_norm = 0.0;
  for (int k = 0; k < 5; k++) {
    double nc = 0, nv = 0;
    opt_set_grads (c, k);
    opt_set_grads (v, k);
    g_assert_true (sv_optim_step (oc, lrs[kind][k], &nc, &e));
    g_assert_true (sv_backend_finish (vk, &e)); /* the gradients' uploads */
    guint64 submits = SV_VK (vk)->n_submits;
    g_assert_true (sv_optim_step (ov, lrs[kind][k], &nv, &e));
    g_assert_no_error (e);
    /* on the device: one submit (the sums of squares) instead of transfers per parameter */
    g_assert_cmpuint (SV_VK (vk)->n_submits, ==, submits + 1);
    worst_norm = MAX (worst_norm, fabs (nv - nc) / nc);
  }
  g_test_message ("%s: grad norm max rel error %.3g", kname, worst_norm);
  g_assert_cmpfloat (worst_norm, <=, 1e-6);
  char *what = g_strdup_printf ("%s parameter", kname);
  opt_compare_params (what, c, v, 1e-5, 1e-7);
  g_free (what);

  /* the state, through checkpoints: Vulkan vs CPU */
  char *dir = g_dir_make_tmp ("svilm-vk-optim-XXXXXX", &e);
  g_assert_no_error (e);
  char *pc = opt_save (oc, dir, "cpu.safetensors"), *pv = opt_save (ov, dir, "vk.safetensors");
  opt_compare_files (kname, pc, pv, 1e-5, 1e-9);

  /* saved on Vulkan, loaded on the CPU (with the Vulkan parameters): the same
   * state bits; and back onto a fresh Vulkan optimiser */
  OptSet *c2 = opt_set_new (cpu), *v2 = opt_set_new (vk);
  for (guint i = 0; i < N_OPT_PARAMS; i++) {
    g_assert_true (sv_tensor_download (&v->vars[i].x, c2->vars[i].x.data, opt_params[i].n * 4, &e));
    g_assert_true (sv_tensor_upload (&v2->vars[i].x, c2->vars[i].x.data, opt_params[i].n * 4, &e));
  }
  SvOptimizer *oc2 = sv_optim_new (c2->set, &cfg, &e), *ov2 = sv_optim_new (v2->set, &cfg, &e);
  g_assert_no_error (e);
  SvSafetensors *st = sv_safetensors_open (pv, &e);
  g_assert_true (sv_optim_load (oc2, st, &e) && sv_optim_load (ov2, st, &e));
  g_assert_no_error (e);
  sv_safetensors_close (st);
  char *pc2 = opt_save (oc2, dir, "cpu2.safetensors"),
       *pv2 = opt_save (ov2, dir, "vk2.safetensors");
  g_assert_true (files_equal (pv, pc2));
  g_assert_true (files_equal (pv, pv2));
  /* and they go on alike: one more step each */
  opt_set_grads (c2, 5);
  opt_set_grads (v, 5);
  opt_set_grads (v2, 5);
  g_assert_true (sv_optim_step (oc2, lrs[kind][0], NULL, &e));
  g_assert_true (sv_optim_step (ov, lrs[kind][0], NULL, &e));
  g_assert_true (sv_optim_step (ov2, lrs[kind][0], NULL, &e));
  g_assert_no_error (e);
  what = g_strdup_printf ("%s resumed on the CPU vs Vulkan:", kname);
  opt_compare_params (what, c2, v, 1e-5, 1e-7);
  g_free (what);
  what = g_strdup_printf ("%s resumed on the CPU vs resumed on Vulkan:", kname);
  opt_compare_params (what, c2, v2, 1e-5, 1e-7);
  g_free (what);

  /* squares beyond the float range: recounted on the host, the CPU's norm */
  opt_set_grads (c, 6);
  opt_set_grads (v, 6);
  float big[7] = { 1e20f, -3e19f, 2.0f, 0.0f, 5e19f, 1.0f, -1e20f };
  g_assert_true (sv_tensor_upload (&c->vars[2].d, big, sizeof big, &e));
  g_assert_true (sv_tensor_upload (&v->vars[2].d, big, sizeof big, &e));
  double nc = 0, nv = 0;
  g_assert_true (sv_optim_step (oc, 0.0f, &nc, &e) && sv_optim_step (ov, 0.0f, &nv, &e));
  g_assert_no_error (e);
  g_assert_cmpfloat (fabs (nv - nc), <=, 1e-6 * nc);

  /* a NaN gradient: the step fails naming it, nothing changes */
  big[3] = NAN;
  g_assert_true (sv_tensor_upload (&v->vars[2].d, big, sizeof big, &e));
  float before[7], after[7];
  g_assert_true (sv_tensor_download (&v->vars[2].x, before, sizeof before, &e));
  int64_t step = sv_optim_get_step (ov);
  g_assert_false (sv_optim_step (ov, 0.1f, NULL, &e));
  g_assert_error (e, SV_ERROR, SV_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (e->message, opt_params[2].name));
  g_clear_error (&e);
  g_assert_true (sv_tensor_download (&v->vars[2].x, after, sizeof after, &e));
  g_assert_cmpmem (before, sizeof before, after, sizeof after);
  g_assert_cmpint (sv_optim_get_step (ov), ==, step);

  const char *paths[] = { pc, pv, pc2, pv2 };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    g_unlink (paths[i]);
  g_rmdir (dir);
  g_free (pc);
  g_free (pv);
  g_free (pc2);
  g_free (pv2);
  g_free (dir);
  sv_optim_free (oc);
  sv_optim_free (ov);
  sv_optim_free (oc2);
  sv_optim_free (ov2);
  opt_set_free (c);
  opt_set_free (v);
  opt_set_free (c2);
  opt_set_free (v2);
}

static void
test_optim (void)
{
  if (!need_vk ())
    return;
  g_assert_nonnull (vk->klass->optim_update); /* the device path, not host copies */
  check_optim (SV_OPTIM_SGD);
  check_optim (SV_OPTIM_ADAMW);
}

void
test_vulkan_add_train (void)
{
  g_test_add_func ("/vulkan/stgraph/build", test_stgraph_build);
  g_test_add_func ("/vulkan/stgraph/attention", test_stgraph_attention);
  g_test_add_func ("/vulkan/optim", test_optim);
}
