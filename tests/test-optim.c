/* Optimisers: the weight-decay rule, the LR schedule, SGD and AdamW steps with
 * clipping against a naive double-precision reference, thread-count
 * independence, exact resumption from a checkpoint, non-finite gradients,
 * state that does not match the parameters, and PyTorch references (/torch/
 * cases, tests/torch/ref_optim.py). */
#include "sv-test.h"

#include "sv-optim.h"
#include "sv-var.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* ---- a parameter set ---- */

typedef struct {
  const char *name;
  int ndim;
  int64_t shape[2];
} ParamSpec;

static const ParamSpec default_params[] = {
  { "video.blocks.0.attn.q.weight", 2, { 6, 5 } },
  { "video.blocks.0.attn.q.bias", 1, { 6 } },
  { "video.blocks.0.ln1.weight", 1, { 5 } },
  { "text.token_embed", 2, { 9, 4 } },
  { "video.pos_temporal", 2, { 3, 5 } },
  { "video.group_tokens", 2, { 2, 5 } },
  { "text.proj.weight", 2, { 4, 3 } },
  /* more than two 8192-element chunks of the gradient norm */
  { "video.blocks.1.mlp.fc1.weight", 2, { 100, 210 } },
};

typedef struct {
  SvVarSet *set;
  SvVar *vars;
  guint n;
} Params;

/* uniform [lo, hi] values into t, on any backend */
static void
fill_any (SvTensor *t, SvRng *rng, float lo, float hi)
{
  GError *error = NULL;
  float *host = g_new (float, MAX (t->numel, 1));
  sv_rng_fill_uniform (rng, host, t->numel, lo, hi);
  sv_tensor_upload (t, host, t->numel * sizeof (float), &error);
  g_assert_no_error (error);
  g_free (host);
}

/* a host copy of t, on any backend */
static float *
download (const SvTensor *t)
{
  GError *error = NULL;
  float *host = g_new (float, MAX (t->numel, 1));
  sv_tensor_download (t, host, t->numel * sizeof (float), &error);
  g_assert_no_error (error);
  return host;
}

static Params *
params_new_on (SvBackend *be, const ParamSpec *specs, guint n, uint64_t seed)
{
  GError *error = NULL;
  Params *p = g_new0 (Params, 1);
  p->set = sv_var_set_new (be);
  p->vars = g_new0 (SvVar, n);
  p->n = n;
  for (guint i = 0; i < n; i++) {
    sv_var_plan (p->set, &p->vars[i], SV_INIT_ZERO, specs[i].ndim, specs[i].shape, &error, "%s",
                 specs[i].name);
    g_assert_no_error (error);
  }
  sv_var_set_commit (p->set, &error);
  g_assert_no_error (error);
  SvRng rng;
  sv_rng_seed (&rng, seed);
  for (guint i = 0; i < n; i++)
    fill_any (&p->vars[i].x, &rng, -1, 1);
  return p;
}

static Params *
params_new (const ParamSpec *specs, guint n, uint64_t seed)
{
  return params_new_on (sv_backend_cpu (), specs, n, seed);
}

static Params *
default_params_new (void)
{
  return params_new (default_params, G_N_ELEMENTS (default_params), 42);
}

static void
params_free (Params *p)
{
  sv_var_set_free (p->set);
  g_free (p->vars);
  g_free (p);
}

/* gradients of step k: uniform [-1, 1] times a per-step scale, so that with
 * max_grad_norm 5 some steps are clipped and others are not (norms ~ 0.8, 84,
 * 2.5, 168, 4.2) */
static const float grad_scale[] = { 0.01f, 1.0f, 0.03f, 2.0f, 0.05f, 0.5f };

static void
fill_grads (Params *p, int k)
{
  SvRng rng;
  sv_rng_seed (&rng, 1000 + (uint64_t) k);
  float s = grad_scale[k % G_N_ELEMENTS (grad_scale)];
  for (guint i = 0; i < p->n; i++)
    fill_any (&p->vars[i].d, &rng, -s, s);
}

static SvOptimConfig
config (SvOptimKind kind, float max_norm)
{
  SvOptimConfig c;
  sv_optim_config_init (&c, kind);
  c.weight_decay = 0.05f;
  c.max_grad_norm = max_norm;
  return c;
}

static SvLrSchedule
schedule (SvOptimKind kind)
{
  SvLrSchedule s;
  sv_lr_schedule_init (&s, kind == SV_OPTIM_SGD ? 0.1f : 0.01f, 20);
  s.warmup_ratio = 0.1;
  return s;
}

/* runs steps [from, to) with fill_grads; returns the last norm */
static double
run_steps (SvOptimizer *opt, Params *p, const SvLrSchedule *s, int from, int to)
{
  GError *error = NULL;
  double norm = 0.0;
  for (int k = from; k < to; k++) {
    g_assert_cmpint (sv_optim_get_step (opt), ==, k);
    fill_grads (p, k);
    sv_optim_step (opt, sv_lr_at (s, sv_optim_get_step (opt)), &norm, &error);
    g_assert_no_error (error);
  }
  return norm;
}

/* the optimiser's state as bytes (through a safetensors file) */
static GBytes *
state_bytes (SvOptimizer *opt, const char *name)
{
  GError *error = NULL;
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  sv_optim_save (opt, w, &error);
  g_assert_no_error (error);
  char *path = tmp_path (name);
  sv_safetensors_writer_write (w, path, &error);
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  char *contents = NULL;
  gsize len = 0;
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  g_free (path);
  return g_bytes_new_take (contents, len);
}

static void
assert_params_identical (const char *what, Params *a, Params *b)
{
  g_assert_cmpuint (a->n, ==, b->n);
  for (guint i = 0; i < a->n; i++) {
    g_assert_cmpuint (a->vars[i].x.numel, ==, b->vars[i].x.numel);
    float *xa = download (&a->vars[i].x), *xb = download (&b->vars[i].x);
    if (memcmp (xa, xb, a->vars[i].x.numel * sizeof (float)) != 0) {
      g_test_message ("%s: parameter %s differs", what, sv_var_set_name (a->set, i));
      g_test_fail ();
    }
    g_free (xa);
    g_free (xb);
  }
}

/* ---- rules and config ---- */

static void
test_decay_rule (void)
{
  static const struct {
    const char *name;
    gboolean decays;
  } cases[] = {
    { "video.blocks.0.attn.q.weight", TRUE },
    { "video.blocks.0.mlp.fc1.weight", TRUE },
    { "video.patch_embed.weight", TRUE },
    { "text.proj.weight", TRUE },
    { "video.blocks.0.attn.q.bias", FALSE },
    { "video.patch_embed.bias", FALSE },
    { "video.blocks.3.ln1.weight", FALSE },
    { "video.blocks.3.ln2.bias", FALSE },
    { "video.norm.weight", FALSE },
    { "video.norm_groups.weight", FALSE },
    { "text.norm.bias", FALSE },
    { "text.token_embed", FALSE },
    { "text.pos_embed", FALSE },
    { "video.pos_temporal", FALSE },
    { "video.pos_spatial", FALSE },
    { "video.group_tokens", FALSE },
    { "video.stages.1.group_tokens", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_test_message ("%s", cases[i].name);
    g_assert_cmpint (sv_optim_param_decays (cases[i].name), ==, cases[i].decays);
  }
}

static void
test_config (void)
{
  GError *error = NULL;
  SvOptimConfig c;
  sv_optim_config_init (&c, SV_OPTIM_SGD);
  g_assert_cmpfloat (c.momentum, ==, 0.9f);
  g_assert_cmpfloat (c.max_grad_norm, ==, 0.0f);
  sv_optim_config_init (&c, SV_OPTIM_ADAMW);
  g_assert_cmpfloat (c.beta1, ==, 0.9f);
  g_assert_cmpfloat (c.beta2, ==, 0.999f);
  g_assert_cmpfloat (c.eps, ==, 1e-8f);

  SvOptimKind kind = SV_OPTIM_SGD;
  g_assert_true (sv_optim_kind_from_string ("AdamW", &kind, &error));
  g_assert_cmpint (kind, ==, SV_OPTIM_ADAMW);
  g_assert_true (sv_optim_kind_from_string ("sgd", &kind, &error));
  g_assert_cmpint (kind, ==, SV_OPTIM_SGD);
  g_assert_false (sv_optim_kind_from_string ("adam", &kind, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_cmpstr (sv_optim_kind_name (SV_OPTIM_ADAMW), ==, "adamw");

  Params *p = default_params_new ();
  SvOptimConfig bad[6];
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    bad[i] = config (i < 3 ? SV_OPTIM_SGD : SV_OPTIM_ADAMW, 1.0f);
  bad[0].momentum = 1.0f;
  bad[1].weight_decay = -1.0f;
  bad[2].max_grad_norm = NAN;
  bad[3].beta2 = 1.0f;
  bad[4].eps = 0.0f;
  bad[5].kind = 7;
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_null (sv_optim_new (p->set, &bad[i], &error));
    sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  }

  /* an uncommitted set */
  SvVarSet *planned = sv_var_set_new (sv_backend_cpu ());
  SvVar v;
  sv_var_plan (planned, &v, SV_INIT_ZERO, SV_SHAPE (3), &error, "w");
  g_assert_no_error (error);
  SvOptimConfig good = config (SV_OPTIM_SGD, 0);
  g_assert_null (sv_optim_new (planned, &good, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  sv_var_set_free (planned);

  /* bad learning rates */
  SvOptimizer *opt = sv_optim_new (p->set, &good, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_optim_state_bytes (opt), ==, sv_var_set_numel (p->set) * sizeof (float));
  fill_grads (p, 0);
  g_assert_false (sv_optim_step (opt, NAN, NULL, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_optim_step (opt, -0.1f, NULL, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_cmpint (sv_optim_get_step (opt), ==, 0);
  sv_optim_free (opt);

  SvOptimConfig ac = config (SV_OPTIM_ADAMW, 0);
  opt = sv_optim_new (p->set, &ac, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_optim_state_bytes (opt), ==, 2 * sv_var_set_numel (p->set) * sizeof (float));
  sv_optim_free (opt);
  params_free (p);
}

/* ---- schedule ---- */

static void
test_lr_schedule (void)
{
  SvLrSchedule s;
  sv_lr_schedule_init (&s, 0.1f, 1000);
  g_assert_cmpfloat (s.warmup_ratio, ==, 0.05);
  g_assert_cmpfloat (s.min_lr, ==, 0.0f);
  g_assert_cmpint (sv_lr_warmup_steps (&s), ==, 50);
  /* linear warm-up to the peak */
  g_assert_cmpfloat_with_epsilon (sv_lr_at (&s, 0), 0.1 / 50, 1e-9);
  g_assert_cmpfloat_with_epsilon (sv_lr_at (&s, 24), 0.1 * 25 / 50, 1e-8);
  g_assert_cmpfloat (sv_lr_at (&s, 49), ==, 0.1f);
  g_assert_cmpfloat (sv_lr_at (&s, 50), ==, 0.1f);
  /* half-way through the decay, half the peak */
  g_assert_cmpfloat_with_epsilon (sv_lr_at (&s, 525), 0.05, 1e-8);
  /* decreasing to min_lr, then flat */
  for (int64_t t = 51; t < 1000; t++)
    g_assert_cmpfloat (sv_lr_at (&s, t), <=, sv_lr_at (&s, t - 1));
  g_assert_cmpfloat (sv_lr_at (&s, 999), >, 0.0f);
  g_assert_cmpfloat (sv_lr_at (&s, 1000), ==, 0.0f);
  g_assert_cmpfloat (sv_lr_at (&s, 5000), ==, 0.0f);
  g_assert_cmpfloat (sv_lr_at (&s, -3), ==, sv_lr_at (&s, 0));

  s.min_lr = 0.001f;
  g_assert_cmpfloat (sv_lr_at (&s, 1000), ==, 0.001f);
  g_assert_cmpfloat_with_epsilon (sv_lr_at (&s, 525), 0.0505, 1e-8);

  /* explicit warm-up steps; none; more than the run */
  s.warmup_steps = 10;
  g_assert_cmpint (sv_lr_warmup_steps (&s), ==, 10);
  s.warmup_steps = 0;
  g_assert_cmpfloat (sv_lr_at (&s, 0), ==, 0.1f);
  s.warmup_steps = -1;
  s.warmup_ratio = 3.0;
  g_assert_cmpint (sv_lr_warmup_steps (&s), ==, 1000);
  g_assert_cmpfloat (sv_lr_at (&s, 999), ==, 0.1f);
  /* ratio 0.05 of 100 steps is 5, whatever the rounding of 0.05 */
  sv_lr_schedule_init (&s, 1.0f, 100);
  g_assert_cmpint (sv_lr_warmup_steps (&s), ==, 5);
  s.warmup_ratio = 0.07;
  g_assert_cmpint (sv_lr_warmup_steps (&s), ==, 7);
  /* no total: constant */
  sv_lr_schedule_init (&s, 0.3f, 0);
  g_assert_cmpfloat (sv_lr_at (&s, 0), ==, 0.3f);
  g_assert_cmpfloat (sv_lr_at (&s, 100), ==, 0.3f);
}

/* ---- steps vs a naive double-precision reference ---- */

static void
check_against_naive (SvOptimKind kind, float max_norm)
{
  GError *error = NULL;
  Params *p = default_params_new ();
  SvOptimConfig cfg = config (kind, max_norm);
  SvLrSchedule sched = schedule (kind);
  SvOptimizer *opt = sv_optim_new (p->set, &cfg, &error);
  g_assert_no_error (error);

  size_t total = sv_var_set_numel (p->set);
  double *x = g_new (double, total), *s0 = g_new0 (double, total), *s1 = g_new0 (double, total);
  size_t o = 0;
  for (guint i = 0; i < p->n; i++)
    for (size_t j = 0; j < p->vars[i].x.numel; j++)
      x[o++] = sv_tensor_f32 (&p->vars[i].x)[j];

  for (int k = 0; k < 5; k++) {
    fill_grads (p, k);
    double lr = sv_lr_at (&sched, k);
    double ssq = 0.0;
    for (guint i = 0; i < p->n; i++)
      for (size_t j = 0; j < p->vars[i].d.numel; j++)
        ssq += (double) sv_tensor_f32 (&p->vars[i].d)[j] * sv_tensor_f32 (&p->vars[i].d)[j];
    double want_norm = sqrt (ssq);
    double scale = max_norm > 0 ? MIN (1.0, max_norm / (want_norm + 1e-6)) : 1.0;
    double t = k + 1;
    o = 0;
    for (guint i = 0; i < p->n; i++) {
      double wd = sv_optim_param_decays (sv_var_set_name (p->set, i)) ? cfg.weight_decay : 0.0;
      for (size_t j = 0; j < p->vars[i].d.numel; j++, o++) {
        double g = sv_tensor_f32 (&p->vars[i].d)[j] * scale;
        if (kind == SV_OPTIM_SGD) {
          g += wd * x[o];
          s0[o] = k == 0 ? g : cfg.momentum * s0[o] + g;
          x[o] -= lr * s0[o];
        } else {
          x[o] *= 1 - lr * wd;
          s0[o] = cfg.beta1 * s0[o] + (1 - cfg.beta1) * g;
          s1[o] = cfg.beta2 * s1[o] + (1 - cfg.beta2) * g * g;
          double mh = s0[o] / (1 - pow (cfg.beta1, t));
          double vh = sqrt (s1[o]) / sqrt (1 - pow (cfg.beta2, t));
          x[o] -= lr * mh / (vh + cfg.eps);
        }
      }
    }
    double norm = 0.0;
    sv_optim_step (opt, (float) lr, &norm, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat_with_epsilon (norm, want_norm, 1e-9 * want_norm);
  }
  o = 0;
  for (guint i = 0; i < p->n; i++) {
    size_t n = p->vars[i].x.numel;
    float *want = g_new (float, n);
    for (size_t j = 0; j < n; j++)
      want[j] = (float) x[o++];
    char *what = g_strdup_printf ("%s %s max_norm %g", sv_optim_kind_name (kind),
                                  sv_var_set_name (p->set, i), (double) max_norm);
    sv_test_assert_close (what, sv_tensor_f32 (&p->vars[i].x), want, n, 1e-5, 1e-6);
    g_free (what);
    g_free (want);
  }
  g_assert_cmpint (sv_optim_get_step (opt), ==, 5);
  g_free (x);
  g_free (s0);
  g_free (s1);
  sv_optim_free (opt);
  params_free (p);
}

static void
test_steps (void)
{
  check_against_naive (SV_OPTIM_SGD, 0.0f);
  check_against_naive (SV_OPTIM_SGD, 5.0f);
  check_against_naive (SV_OPTIM_ADAMW, 0.0f);
  check_against_naive (SV_OPTIM_ADAMW, 5.0f);
}

/* the clipped gradient tensors themselves are left as they are */
static void
test_grads_untouched (void)
{
  GError *error = NULL;
  Params *p = default_params_new ();
  SvOptimConfig cfg = config (SV_OPTIM_SGD, 1.0f);
  SvOptimizer *opt = sv_optim_new (p->set, &cfg, &error);
  g_assert_no_error (error);
  fill_grads (p, 1);
  Params *copy = default_params_new ();
  fill_grads (copy, 1);
  double norm = 0.0, norm2 = 0.0;
  sv_optim_grad_norm (opt, &norm, &error);
  g_assert_no_error (error);
  sv_optim_step (opt, 0.1f, &norm2, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (norm, ==, norm2);
  g_assert_cmpfloat (norm, >, 1.0);
  for (guint i = 0; i < p->n; i++)
    g_assert_cmpmem (p->vars[i].d.data, p->vars[i].d.numel * 4, copy->vars[i].d.data,
                     copy->vars[i].d.numel * 4);
  sv_optim_free (opt);
  params_free (p);
  params_free (copy);
}

/* ---- determinism ---- */

static void
check_threads (SvOptimKind kind)
{
  GError *error = NULL;
  int saved = sv_get_num_threads ();
  Params *p[3];
  double norms[3];
  int threads[3] = { 1, 2, 3 };
  for (int r = 0; r < 3; r++) {
    sv_set_num_threads (threads[r]);
    p[r] = default_params_new ();
    SvOptimConfig cfg = config (kind, 5.0f);
    SvLrSchedule sched = schedule (kind);
    SvOptimizer *opt = sv_optim_new (p[r]->set, &cfg, &error);
    g_assert_no_error (error);
    norms[r] = run_steps (opt, p[r], &sched, 0, 5);
    sv_optim_free (opt);
  }
  sv_set_num_threads (saved);
  for (int r = 1; r < 3; r++) {
    g_assert_cmpmem (&norms[0], sizeof (double), &norms[r], sizeof (double));
    assert_params_identical ("threads", p[0], p[r]);
  }
  for (int r = 0; r < 3; r++)
    params_free (p[r]);
}

static void
test_threads (void)
{
  check_threads (SV_OPTIM_SGD);
  check_threads (SV_OPTIM_ADAMW);
}

/* ---- a device backend: no host pointers, only upload / download ---- */

static SvStorage *
dev_storage_new (SvBackend *be, size_t bytes, GError **error)
{
  SvStorage *st = g_new0 (SvStorage, 1);
  st->backend = be;
  st->bytes = bytes;
  st->handle = g_malloc0 (bytes);
  return st;
}

static void
dev_storage_free (SvBackend *be, SvStorage *st)
{
  g_free (st->handle);
  g_free (st);
}

static void *
dev_host_ptr (SvBackend *be, SvStorage *st)
{
  return NULL;
}

static gboolean
dev_upload (SvBackend *be, SvTensor *t, const void *src, size_t bytes, GError **error)
{
  memcpy ((char *) t->storage->handle + t->offset, src, bytes);
  return TRUE;
}

static gboolean
dev_download (SvBackend *be, const SvTensor *t, void *dst, size_t bytes, GError **error)
{
  memcpy (dst, (const char *) t->storage->handle + t->offset, bytes);
  return TRUE;
}

static gboolean
dev_zero (SvBackend *be, SvTensor *t, GError **error)
{
  memset ((char *) t->storage->handle + t->offset, 0, t->numel * sv_dtype_size (t->dtype));
  return TRUE;
}

static const SvBackendClass dev_class = {
  .name = "test-device",
  .storage_new = dev_storage_new,
  .storage_free = dev_storage_free,
  .storage_host_ptr = dev_host_ptr,
  .upload = dev_upload,
  .download = dev_download,
  .zero = dev_zero,
};

static SvBackend dev_backend = {
  .klass = &dev_class,
  .device_name = (char *) "test device",
  .is_host = FALSE,
};

/* parameters on a device backend: the same bits as on the CPU */
static void
check_device (SvOptimKind kind)
{
  GError *error = NULL;
  SvOptimConfig cfg = config (kind, 5.0f);
  SvLrSchedule sched = schedule (kind);
  Params *h = default_params_new ();
  Params *d = params_new_on (&dev_backend, default_params, G_N_ELEMENTS (default_params), 42);
  g_assert_null (d->vars[0].x.data);
  SvOptimizer *oh = sv_optim_new (h->set, &cfg, &error);
  g_assert_no_error (error);
  SvOptimizer *od = sv_optim_new (d->set, &cfg, &error);
  g_assert_no_error (error);
  for (int k = 0; k < 5; k++) {
    double nh = run_steps (oh, h, &sched, k, k + 1);
    double nd = run_steps (od, d, &sched, k, k + 1);
    g_assert_cmpmem (&nh, sizeof nh, &nd, sizeof nd);
  }
  assert_params_identical ("device", h, d);
  GBytes *sh = state_bytes (oh, "state-h.safetensors");
  GBytes *sd = state_bytes (od, "state-d.safetensors");
  g_assert_true (g_bytes_equal (sh, sd));

  /* a non-finite gradient on the device changes nothing */
  fill_grads (d, 5);
  float *g = download (&d->vars[4].d);
  g[1] = NAN;
  sv_tensor_upload (&d->vars[4].d, g, d->vars[4].d.numel * sizeof (float), &error);
  g_assert_no_error (error);
  g_free (g);
  g_assert_false (sv_optim_step (od, 0.1f, NULL, &error));
  g_assert_error (error, SV_ERROR, SV_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, sv_var_set_name (d->set, 4)));
  g_clear_error (&error);
  assert_params_identical ("device after a NaN gradient", h, d);
  g_assert_cmpint (sv_optim_get_step (od), ==, 5);

  g_bytes_unref (sh);
  g_bytes_unref (sd);
  sv_optim_free (oh);
  sv_optim_free (od);
  params_free (h);
  params_free (d);
}

static void
test_device (void)
{
  check_device (SV_OPTIM_SGD);
  check_device (SV_OPTIM_ADAMW);
}

/* ---- checkpoints ---- */

/* 5 uninterrupted steps vs 3 steps, a checkpoint (parameters + optimiser state),
 * a fresh parameter set and optimiser restored from it, and 2 more steps */
static void
check_resume (SvOptimKind kind)
{
  GError *error = NULL;
  SvOptimConfig cfg = config (kind, 5.0f);
  SvLrSchedule sched = schedule (kind);

  Params *a = default_params_new ();
  SvOptimizer *oa = sv_optim_new (a->set, &cfg, &error);
  g_assert_no_error (error);
  run_steps (oa, a, &sched, 0, 5);

  Params *b = default_params_new ();
  SvOptimizer *ob = sv_optim_new (b->set, &cfg, &error);
  g_assert_no_error (error);
  run_steps (ob, b, &sched, 0, 3);
  char *path = tmp_path ("resume.safetensors");
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  for (guint i = 0; i < b->n; i++) {
    char *name = g_strdup_printf ("param.%s", sv_var_set_name (b->set, i));
    sv_safetensors_writer_add (w, name, SV_F32, b->vars[i].x.ndim, b->vars[i].x.shape,
                               b->vars[i].x.data, &error);
    g_assert_no_error (error);
    g_free (name);
  }
  sv_optim_save (ob, w, &error);
  g_assert_no_error (error);
  sv_safetensors_writer_write (w, path, &error);
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  sv_optim_free (ob);
  params_free (b);

  /* different initial values: everything must come from the checkpoint */
  Params *c = params_new (default_params, G_N_ELEMENTS (default_params), 7);
  SvOptimizer *oc = sv_optim_new (c->set, &cfg, &error);
  g_assert_no_error (error);
  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sv_safetensors_metadata (st, "optim.kind"), ==, sv_optim_kind_name (kind));
  g_assert_cmpstr (sv_safetensors_metadata (st, "optim.step"), ==, "3");
  for (guint i = 0; i < c->n; i++) {
    char *name = g_strdup_printf ("param.%s", sv_var_set_name (c->set, i));
    sv_safetensors_load_tensor (st, name, &c->vars[i].x, &error);
    g_assert_no_error (error);
    g_free (name);
  }
  sv_optim_load (oc, st, &error);
  g_assert_no_error (error);
  sv_safetensors_close (st);
  g_assert_cmpint (sv_optim_get_step (oc), ==, 3);
  run_steps (oc, c, &sched, 3, 5);

  assert_params_identical ("resume", a, c);
  GBytes *sa = state_bytes (oa, "state-a.safetensors");
  GBytes *sc = state_bytes (oc, "state-c.safetensors");
  g_assert_true (g_bytes_equal (sa, sc));
  g_bytes_unref (sa);
  g_bytes_unref (sc);

  g_unlink (path);
  g_free (path);
  sv_optim_free (oa);
  sv_optim_free (oc);
  params_free (a);
  params_free (c);
}

static void
test_resume (void)
{
  check_resume (SV_OPTIM_SGD);
  check_resume (SV_OPTIM_ADAMW);
}

/* ---- non-finite gradients ---- */

static void
check_nonfinite (SvOptimKind kind, float bad, guint bad_param)
{
  GError *error = NULL;
  Params *p = default_params_new ();
  SvOptimConfig cfg = config (kind, 5.0f);
  SvLrSchedule sched = schedule (kind);
  SvOptimizer *opt = sv_optim_new (p->set, &cfg, &error);
  g_assert_no_error (error);
  run_steps (opt, p, &sched, 0, 2);

  Params *before = default_params_new ();
  for (guint i = 0; i < p->n; i++)
    memcpy (before->vars[i].x.data, p->vars[i].x.data, p->vars[i].x.numel * 4);
  GBytes *state = state_bytes (opt, "before.safetensors");

  fill_grads (p, 2);
  sv_tensor_f32 (&p->vars[bad_param].d)[3] = bad;
  /* a later parameter is bad too: the first one is named */
  sv_tensor_f32 (&p->vars[p->n - 1].d)[100] = NAN;
  double norm = -1.0;
  g_assert_false (sv_optim_step (opt, 0.1f, &norm, &error));
  g_assert_error (error, SV_ERROR, SV_ERROR_ARGUMENT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, sv_var_set_name (p->set, bad_param)));
  g_assert_nonnull (strstr (error->message, isnan (bad) ? "NaN" : "infinite"));
  g_clear_error (&error);
  g_assert_cmpfloat (norm, ==, -1.0);
  g_assert_false (sv_optim_grad_norm (opt, &norm, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  /* nothing changed */
  g_assert_cmpint (sv_optim_get_step (opt), ==, 2);
  assert_params_identical ("after a non-finite gradient", p, before);
  GBytes *state2 = state_bytes (opt, "after.safetensors");
  g_assert_true (g_bytes_equal (state, state2));

  /* and it goes on with good gradients */
  run_steps (opt, p, &sched, 2, 3);
  g_assert_cmpint (sv_optim_get_step (opt), ==, 3);

  g_bytes_unref (state);
  g_bytes_unref (state2);
  sv_optim_free (opt);
  params_free (p);
  params_free (before);
}

static void
test_nonfinite (void)
{
  check_nonfinite (SV_OPTIM_SGD, NAN, 2);
  check_nonfinite (SV_OPTIM_SGD, INFINITY, 0);
  check_nonfinite (SV_OPTIM_ADAMW, -INFINITY, 3);
  check_nonfinite (SV_OPTIM_ADAMW, NAN, 5);
}

/* ---- state that does not match ---- */

static void
expect_load_error (SvOptimKind kind, const ParamSpec *specs, guint n, const char *path, int code)
{
  GError *error = NULL;
  Params *p = params_new (specs, n, 1);
  SvOptimConfig cfg = config (kind, 0);
  SvOptimizer *opt = sv_optim_new (p->set, &cfg, &error);
  g_assert_no_error (error);
  GBytes *fresh = state_bytes (opt, "fresh.safetensors");
  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (sv_optim_load (opt, st, &error));
  sv_test_expect_error (&error, code);
  sv_safetensors_close (st);
  /* unchanged */
  g_assert_cmpint (sv_optim_get_step (opt), ==, 0);
  GBytes *after = state_bytes (opt, "after.safetensors");
  g_assert_true (g_bytes_equal (fresh, after));
  g_bytes_unref (fresh);
  g_bytes_unref (after);
  sv_optim_free (opt);
  params_free (p);
}

static void
test_mismatch (void)
{
  GError *error = NULL;
  guint n = G_N_ELEMENTS (default_params);
  char *path = tmp_path ("sgd.safetensors");
  {
    Params *p = default_params_new ();
    SvOptimConfig cfg = config (SV_OPTIM_SGD, 0);
    SvLrSchedule sched = schedule (SV_OPTIM_SGD);
    SvOptimizer *opt = sv_optim_new (p->set, &cfg, &error);
    g_assert_no_error (error);
    run_steps (opt, p, &sched, 0, 2);
    SvSafetensorsWriter *w = sv_safetensors_writer_new ();
    sv_optim_save (opt, w, &error);
    g_assert_no_error (error);
    /* saving twice into one writer: duplicate names */
    g_assert_false (sv_optim_save (opt, w, &error));
    sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
    sv_safetensors_writer_write (w, path, &error);
    g_assert_no_error (error);
    sv_safetensors_writer_free (w);
    sv_optim_free (opt);
    params_free (p);
  }

  /* another kind */
  expect_load_error (SV_OPTIM_ADAMW, default_params, n, path, SV_ERROR_FORMAT);
  /* a parameter of another shape */
  ParamSpec *specs = g_memdup2 (default_params, sizeof default_params);
  specs[3].shape[1] = 5;
  expect_load_error (SV_OPTIM_SGD, specs, n, path, SV_ERROR_SHAPE);
  /* another rank */
  memcpy (specs, default_params, sizeof default_params);
  specs[2].ndim = 2;
  specs[2].shape[1] = 1;
  expect_load_error (SV_OPTIM_SGD, specs, n, path, SV_ERROR_SHAPE);
  /* a parameter fewer (state for a parameter not in the set) */
  expect_load_error (SV_OPTIM_SGD, default_params, n - 1, path, SV_ERROR_FORMAT);
  /* a parameter more (no state for it) */
  ParamSpec *more = g_new (ParamSpec, n + 1);
  memcpy (more, default_params, sizeof default_params);
  more[n] = (ParamSpec){ "text.extra.weight", 2, { 3, 3 } };
  expect_load_error (SV_OPTIM_SGD, more, n + 1, path, SV_ERROR_FORMAT);
  /* a renamed parameter */
  memcpy (specs, default_params, sizeof default_params);
  specs[1].name = "video.blocks.0.attn.k.bias";
  expect_load_error (SV_OPTIM_SGD, specs, n, path, SV_ERROR_FORMAT);

  /* a file without optimiser state */
  char *plain = tmp_path ("plain.safetensors");
  {
    float data[3] = { 1, 2, 3 };
    SvSafetensorsWriter *w = sv_safetensors_writer_new ();
    sv_safetensors_writer_add (w, "x", SV_F32, SV_SHAPE (3), data, &error);
    g_assert_no_error (error);
    sv_safetensors_writer_write (w, plain, &error);
    g_assert_no_error (error);
    sv_safetensors_writer_free (w);
  }
  expect_load_error (SV_OPTIM_SGD, default_params, n, plain, SV_ERROR_FORMAT);

  /* a bad step */
  char *badstep = tmp_path ("badstep.safetensors");
  {
    Params *p = default_params_new ();
    SvOptimConfig cfg = config (SV_OPTIM_SGD, 0);
    SvOptimizer *opt = sv_optim_new (p->set, &cfg, &error);
    g_assert_no_error (error);
    SvSafetensorsWriter *w = sv_safetensors_writer_new ();
    sv_optim_save (opt, w, &error);
    g_assert_no_error (error);
    sv_safetensors_writer_set_metadata (w, "optim.step", "-4");
    sv_safetensors_writer_write (w, badstep, &error);
    g_assert_no_error (error);
    sv_safetensors_writer_free (w);
    sv_optim_free (opt);
    params_free (p);
  }
  expect_load_error (SV_OPTIM_SGD, default_params, n, badstep, SV_ERROR_FORMAT);

  /* and the matching set loads */
  {
    Params *p = default_params_new ();
    SvOptimConfig cfg = config (SV_OPTIM_SGD, 0);
    SvOptimizer *opt = sv_optim_new (p->set, &cfg, &error);
    g_assert_no_error (error);
    SvSafetensors *st = sv_safetensors_open (path, &error);
    g_assert_no_error (error);
    sv_optim_load (opt, st, &error);
    g_assert_no_error (error);
    g_assert_cmpint (sv_optim_get_step (opt), ==, 2);
    sv_safetensors_close (st);
    sv_optim_free (opt);
    params_free (p);
  }

  g_free (specs);
  g_free (more);
  g_free (path);
  g_free (plain);
  g_free (badstep);
}

/* ---- PyTorch: tests/torch/ref_optim.py ---- */

/* "a b c" metadata into doubles */
static guint
meta_numbers (SvSafetensors *st, const char *key, char **kind, double *out, guint max)
{
  const char *s = sv_safetensors_metadata (st, key);
  g_assert_nonnull (s);
  char **parts = g_strsplit (s, " ", -1);
  guint n = 0, i = 0;
  if (kind)
    *kind = g_strdup (parts[i++]);
  for (; parts[i] && n < max; i++)
    out[n++] = g_ascii_strtod (parts[i], NULL);
  g_strfreev (parts);
  return n;
}

static SvLrSchedule
schedule_from (const double *v)
{
  SvLrSchedule s;
  sv_lr_schedule_init (&s, (float) v[0], (int64_t) v[3]);
  s.min_lr = (float) v[1];
  s.warmup_ratio = v[2];
  s.warmup_steps = (int64_t) v[4];
  return s;
}

static void
test_torch_schedule (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  int n = atoi (sv_safetensors_metadata (st, "n_schedules"));
  g_assert_cmpint (n, >, 0);
  for (int j = 0; j < n; j++) {
    char *key = g_strdup_printf ("sched%d", j), *lr_name = g_strdup_printf ("sched%d.lr", j);
    double v[5];
    g_assert_cmpuint (meta_numbers (st, key, NULL, v, 5), ==, 5);
    SvLrSchedule s = schedule_from (v);
    SvTensor *want = sv_test_ref (st, lr_name);
    float *got = g_new (float, want->numel);
    for (size_t t = 0; t < want->numel; t++)
      got[t] = sv_lr_at (&s, (int64_t) t - 1); /* steps -1 .. total + 2 */
    g_test_message ("schedule %s: %zu steps", sv_safetensors_metadata (st, key), want->numel);
    sv_test_assert_close (key, got, sv_tensor_f32 (want), want->numel, 1e-5, 1e-9);
    g_free (got);
    sv_tensor_free (want);
    g_free (key);
    g_free (lr_name);
  }
  sv_safetensors_close (st);
}

static void
test_torch_optim (void)
{
  GError *error = NULL;
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  char **names = g_strsplit (sv_safetensors_metadata (st, "names"), ",", -1);
  guint n = g_strv_length (names);
  SvTensor *decays = sv_test_ref (st, "decays");
  g_assert_cmpuint (decays->numel, ==, n);

  /* the parameter set, shapes from p0.* */
  SvVarSet *set = sv_var_set_new (sv_backend_cpu ());
  SvVar *vars = g_new0 (SvVar, n);
  for (guint i = 0; i < n; i++) {
    char *p0 = g_strconcat ("p0.", names[i], NULL);
    const SvSafetensorsEntry *e = sv_safetensors_find (st, p0, &error);
    g_assert_no_error (error);
    sv_var_plan (set, &vars[i], SV_INIT_ZERO, e->ndim, e->shape, &error, "%s", names[i]);
    g_assert_no_error (error);
    g_free (p0);
    /* the rule agrees with the torch parameter groups */
    g_assert_cmpint (sv_optim_param_decays (names[i]), ==, sv_tensor_i32 (decays)[i]);
  }
  sv_var_set_commit (set, &error);
  g_assert_no_error (error);

  char **cases = g_strsplit (sv_safetensors_metadata (st, "cases"), ",", -1);
  for (guint c = 0; cases[c]; c++) {
    /* kind max_norm wd base min ratio total warmup_steps */
    char *kind_s = NULL;
    double v[7];
    g_assert_cmpuint (meta_numbers (st, cases[c], &kind_s, v, 7), ==, 7);
    SvOptimConfig cfg;
    SvOptimKind kind;
    sv_optim_kind_from_string (kind_s, &kind, &error);
    g_assert_no_error (error);
    sv_optim_config_init (&cfg, kind);
    cfg.max_grad_norm = (float) v[0];
    cfg.weight_decay = (float) v[1];
    SvLrSchedule sched = schedule_from (v + 2);
    g_test_message ("case %s: %s", cases[c], sv_safetensors_metadata (st, cases[c]));

    for (guint i = 0; i < n; i++) {
      char *p0 = g_strconcat ("p0.", names[i], NULL);
      sv_safetensors_load_tensor (st, p0, &vars[i].x, &error);
      g_assert_no_error (error);
      g_free (p0);
    }
    SvOptimizer *opt = sv_optim_new (set, &cfg, &error);
    g_assert_no_error (error);
    char *tmp = g_strconcat (cases[c], ".norm", NULL);
    SvTensor *norms = sv_test_ref (st, tmp);
    g_free (tmp);
    tmp = g_strconcat (cases[c], ".lr", NULL);
    SvTensor *lrs = sv_test_ref (st, tmp);
    g_free (tmp);
    for (int k = 0; k < (int) norms->numel; k++) {
      for (guint i = 0; i < n; i++) {
        char *g = g_strdup_printf ("g%d.%s", k, names[i]);
        sv_safetensors_load_tensor (st, g, &vars[i].d, &error);
        g_assert_no_error (error);
        g_free (g);
      }
      float lr = sv_lr_at (&sched, sv_optim_get_step (opt));
      sv_test_assert_close ("torch lr", &lr, sv_tensor_f32 (lrs) + k, 1, 1e-6, 0);
      double norm = 0.0;
      sv_optim_step (opt, lr, &norm, &error);
      g_assert_no_error (error);
      float normf = (float) norm;
      sv_test_assert_close ("torch grad norm", &normf, sv_tensor_f32 (norms) + k, 1, 1e-5, 0);
      for (guint i = 0; i < n; i++) {
        char *pk = g_strdup_printf ("%s.p%d.%s", cases[c], k + 1, names[i]);
        SvTensor *want = sv_test_ref (st, pk);
        sv_test_assert_close (pk, sv_tensor_f32 (&vars[i].x), sv_tensor_f32 (want), want->numel,
                              1e-5, 1e-6);
        sv_tensor_free (want);
        g_free (pk);
      }
    }
    sv_tensor_free (norms);
    sv_tensor_free (lrs);
    sv_optim_free (opt);
    g_free (kind_s);
  }
  g_strfreev (cases);
  sv_var_set_free (set);
  g_free (vars);
  sv_tensor_free (decays);
  g_strfreev (names);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("svilm-test-optim-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/optim/decay-rule", test_decay_rule);
  g_test_add_func ("/optim/config", test_config);
  g_test_add_func ("/optim/lr-schedule", test_lr_schedule);
  g_test_add_func ("/optim/steps", test_steps);
  g_test_add_func ("/optim/grads-untouched", test_grads_untouched);
  g_test_add_func ("/optim/threads", test_threads);
  g_test_add_func ("/optim/device", test_device);
  g_test_add_func ("/optim/resume", test_resume);
  g_test_add_func ("/optim/nonfinite", test_nonfinite);
  g_test_add_func ("/optim/mismatch", test_mismatch);
  g_test_add_func ("/torch/schedule", test_torch_schedule);
  g_test_add_func ("/torch/optim", test_torch_optim);
  int rc = g_test_run ();
  /* remove what the tests wrote */
  GDir *d = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *path = tmp_path (name);
    g_unlink (path);
    g_free (path);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
