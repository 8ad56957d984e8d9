/* svilm-core: optimisers (SGD with momentum, AdamW), gradient clipping, LR schedule. */
#include "sv-optim.h"

#include "sv-backend.h"
#include "sv-error.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Gradients are reduced in chunks of this many elements: each chunk's sum of
 * squares is computed sequentially in double, and the chunk sums are added in
 * order, so the norm does not depend on the number of threads. */
#define CHUNK ((size_t) 8192)

typedef struct {
  guint param;  /* index in the set */
  size_t start; /* first element in the parameter */
  size_t len;
} Chunk;

typedef struct {
  float *x;       /* parameter values (host) */
  const float *g; /* gradient (host) */
  float *s0;      /* momentum buffer / exp_avg */
  float *s1;      /* exp_avg_sq (AdamW) */
} Ptrs;

struct _SvOptimizer {
  SvOptimConfig cfg;
  SvVarSet *set;
  guint n;         /* parameters */
  size_t numel;    /* elements in all */
  guint n_slots;   /* state tensors per parameter: 1 (SGD) or 2 (AdamW) */
  float *state;    /* the one allocation: slot 0 of every parameter, then slot 1 */
  size_t *offset;  /* [n]: element offset of each parameter in a slot */
  gboolean *decay; /* [n] */
  Chunk *chunks;
  guint n_chunks;
  guint *first_chunk; /* [n + 1] */
  double *partials;   /* [n_chunks] */
  gboolean host;      /* every value and gradient has a host pointer */
  float *scratch;     /* device sets: 2 * max numel floats (values, gradients) */
  int64_t step;
  /* Device updates, when every parameter is on one device backend that has the
   * optim_* entries: the state lives on the device, dstate[slot] holding numel
   * floats (parameter i from element offset[i]); `state` is then only the host
   * copy that checkpoints are written from and read into. */
  SvBackend *dev;
  SvTensor *dstate[2];
  SvTensor *dssq;  /* [2 n]: (hi, lo) of each parameter's gradient sum of squares */
  float *ssq_host; /* [2 n] */
};

static const char *const slot_names[2][2] = {
  [SV_OPTIM_SGD] = { "momentum", NULL },
  [SV_OPTIM_ADAMW] = { "exp_avg", "exp_avg_sq" },
};

/* ---- config ---- */

void
sv_optim_config_init (SvOptimConfig *cfg, SvOptimKind kind)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->kind = kind;
  cfg->weight_decay = kind == SV_OPTIM_SGD ? 1e-4f : 0.05f;
  cfg->momentum = 0.9f;
  cfg->beta1 = 0.9f;
  cfg->beta2 = 0.999f;
  cfg->eps = 1e-8f;
  cfg->max_grad_norm = 0.0f;
}

const char *
sv_optim_kind_name (SvOptimKind kind)
{
  switch (kind) {
  case SV_OPTIM_SGD:
    return "sgd";
  case SV_OPTIM_ADAMW:
    return "adamw";
  }
  return "unknown";
}

gboolean
sv_optim_kind_from_string (const char *s, SvOptimKind *kind, GError **error)
{
  if (s && g_ascii_strcasecmp (s, "sgd") == 0) {
    *kind = SV_OPTIM_SGD;
    return TRUE;
  }
  if (s && g_ascii_strcasecmp (s, "adamw") == 0) {
    *kind = SV_OPTIM_ADAMW;
    return TRUE;
  }
  g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
               "unknown optimiser \"%s\" (expected \"sgd\" or \"adamw\")", s ? s : "(null)");
  return FALSE;
}

gboolean
sv_optim_param_decays (const char *name)
{
  g_return_val_if_fail (name != NULL, FALSE);
  if (strstr (name, ".ln") || strstr (name, "norm"))
    return FALSE; /* layer norms */
  if (strstr (name, ".bias"))
    return FALSE;
  if (strstr (name, "group_tokens"))
    return FALSE;
  if (strstr (name, "pos_"))
    return FALSE; /* positional embeddings */
  if (strstr (name, "embed") && !strstr (name, "patch_embed"))
    return FALSE; /* token / positional embedding tables */
  return TRUE;
}

static gboolean
check_config (const SvOptimConfig *c, GError **error)
{
  const char *bad = NULL;
  if (c->kind != SV_OPTIM_SGD && c->kind != SV_OPTIM_ADAMW)
    bad = "kind";
  else if (!isfinite (c->weight_decay) || c->weight_decay < 0)
    bad = "weight_decay (finite, >= 0)";
  else if (c->kind == SV_OPTIM_SGD && !(c->momentum >= 0 && c->momentum < 1))
    bad = "momentum (in [0, 1))";
  else if (c->kind == SV_OPTIM_ADAMW && !(c->beta1 >= 0 && c->beta1 < 1))
    bad = "beta1 (in [0, 1))";
  else if (c->kind == SV_OPTIM_ADAMW && !(c->beta2 >= 0 && c->beta2 < 1))
    bad = "beta2 (in [0, 1))";
  else if (c->kind == SV_OPTIM_ADAMW && !(isfinite (c->eps) && c->eps > 0))
    bad = "eps (finite, > 0)";
  else if (!isfinite (c->max_grad_norm) || c->max_grad_norm < 0)
    bad = "max_grad_norm (finite, >= 0)";
  if (bad) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "optimiser config: invalid %s", bad);
    return FALSE;
  }
  return TRUE;
}

/* ---- construction ---- */

/* Picks device updates for a set on one backend that has them (see the struct);
 * otherwise device parameters go through host copies. */
static gboolean
device_init (SvOptimizer *opt, GError **error)
{
  SvBackend *be = NULL;
  for (guint i = 0; i < opt->n; i++) {
    SvVar *v = sv_var_set_get (opt->set, i);
    if (v->x.numel == 0)
      continue;
    if (!be)
      be = v->x.backend;
    if (v->x.backend != be || v->d.backend != be)
      return TRUE; /* mixed backends: host copies */
  }
  if (!be || be->is_host || !be->klass->optim_grad_ssq || !be->klass->optim_update)
    return TRUE;
  for (guint slot = 0; slot < opt->n_slots; slot++) {
    opt->dstate[slot] = sv_tensor_new (be, SV_F32, 1, (int64_t[]){ (int64_t) opt->numel }, error);
    if (!opt->dstate[slot])
      return FALSE;
  }
  opt->dssq = sv_tensor_new (be, SV_F32, 1, (int64_t[]){ 2 * (int64_t) opt->n }, error);
  if (!opt->dssq)
    return FALSE;
  opt->ssq_host = g_new (float, 2 * (size_t) opt->n);
  opt->dev = be;
  return TRUE;
}

SvOptimizer *
sv_optim_new (SvVarSet *set, const SvOptimConfig *cfg, GError **error)
{
  g_return_val_if_fail (set != NULL && cfg != NULL, NULL);
  if (!check_config (cfg, error))
    return NULL;
  guint n = sv_var_set_len (set);
  size_t numel = 0, max_numel = 0, n_chunks = 0;
  gboolean host = TRUE;
  for (guint i = 0; i < n; i++) {
    SvVar *v = sv_var_set_get (set, i);
    const char *name = sv_var_set_name (set, i);
    if (v->x.dtype != SV_F32 || v->d.dtype != SV_F32 || v->x.numel != v->d.numel) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                   "optimiser: parameter \"%s\" is not an F32 value/gradient pair", name);
      return NULL;
    }
    if (v->x.numel > 0 && (!v->x.storage || !v->d.storage)) {
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                   "optimiser: parameter \"%s\" has no value or gradient storage (the set is not "
                   "committed, or is an inference set)",
                   name);
      return NULL;
    }
    if (v->x.numel > 0 && (!v->x.data || !v->d.data))
      host = FALSE;
    numel += v->x.numel;
    max_numel = MAX (max_numel, v->x.numel);
    n_chunks += (v->x.numel + CHUNK - 1) / CHUNK;
  }
  if (n_chunks > G_MAXUINT) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "optimiser: too many parameters");
    return NULL;
  }

  SvOptimizer *opt = g_new0 (SvOptimizer, 1);
  opt->cfg = *cfg;
  opt->set = set;
  opt->n = n;
  opt->numel = numel;
  opt->n_slots = cfg->kind == SV_OPTIM_ADAMW ? 2 : 1;
  opt->host = host;
  opt->state = g_try_malloc0_n (MAX (numel * opt->n_slots, 1), sizeof (float));
  if (!opt->state) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "optimiser: cannot allocate %zu bytes of state",
                 numel * opt->n_slots * sizeof (float));
    g_free (opt);
    return NULL;
  }
  opt->offset = g_new (size_t, MAX (n, 1));
  opt->decay = g_new (gboolean, MAX (n, 1));
  opt->first_chunk = g_new (guint, n + 1);
  opt->n_chunks = (guint) n_chunks;
  opt->chunks = g_new (Chunk, MAX (n_chunks, 1));
  opt->partials = g_new0 (double, MAX (n_chunks, 1));
  size_t off = 0;
  guint c = 0;
  for (guint i = 0; i < n; i++) {
    SvVar *v = sv_var_set_get (set, i);
    opt->offset[i] = off;
    off += v->x.numel;
    opt->decay[i] = sv_optim_param_decays (sv_var_set_name (set, i));
    opt->first_chunk[i] = c;
    for (size_t s = 0; s < v->x.numel; s += CHUNK)
      opt->chunks[c++] = (Chunk){ .param = i, .start = s, .len = MIN (CHUNK, v->x.numel - s) };
  }
  opt->first_chunk[n] = c;
  if (!host)
    opt->scratch = g_new (float, MAX (2 * max_numel, 1));
  if (!host && !device_init (opt, error)) {
    sv_optim_free (opt);
    return NULL;
  }
  return opt;
}

void
sv_optim_free (SvOptimizer *opt)
{
  if (!opt)
    return;
  g_free (opt->state);
  g_free (opt->offset);
  g_free (opt->decay);
  g_free (opt->first_chunk);
  g_free (opt->chunks);
  g_free (opt->partials);
  g_free (opt->scratch);
  for (guint slot = 0; slot < 2; slot++)
    if (opt->dstate[slot])
      sv_tensor_free (opt->dstate[slot]);
  if (opt->dssq)
    sv_tensor_free (opt->dssq);
  g_free (opt->ssq_host);
  g_free (opt);
}

const SvOptimConfig *
sv_optim_get_config (const SvOptimizer *opt)
{
  return &opt->cfg;
}

int64_t
sv_optim_get_step (const SvOptimizer *opt)
{
  return opt->step;
}

size_t
sv_optim_state_bytes (const SvOptimizer *opt)
{
  return opt->numel * opt->n_slots * sizeof (float);
}

/* ---- host access ---- */

/* parameter i's range of device state slot `slot` */
static gboolean
dstate_view (const SvOptimizer *opt, guint slot, guint i, SvTensor *view, GError **error)
{
  SvVar *v = sv_var_set_get (opt->set, i);
  return sv_tensor_slice0 (view, opt->dstate[slot], (int64_t) opt->offset[i], (int64_t) v->x.numel,
                           error);
}

static float *
slot_ptr (const SvOptimizer *opt, guint slot, guint i)
{
  if (slot >= opt->n_slots)
    return NULL;
  return opt->state + (size_t) slot * opt->numel + opt->offset[i];
}

/* Host pointers to parameter i's values (when want_x) and gradient; device
 * tensors are downloaded into the scratch buffer. */
static gboolean
fetch (SvOptimizer *opt, guint i, gboolean want_x, Ptrs *p, GError **error)
{
  SvVar *v = sv_var_set_get (opt->set, i);
  size_t bytes = v->x.numel * sizeof (float);
  p->s0 = slot_ptr (opt, 0, i);
  p->s1 = slot_ptr (opt, 1, i);
  if (v->x.numel == 0) {
    p->x = NULL;
    p->g = NULL;
    return TRUE;
  }
  if (opt->host) {
    p->x = sv_tensor_f32 (&v->x);
    p->g = sv_tensor_f32 (&v->d);
    return TRUE;
  }
  float *gx = opt->scratch + v->x.numel;
  if (!sv_tensor_download (&v->d, gx, bytes, error))
    return FALSE;
  p->g = gx;
  p->x = NULL;
  if (want_x) {
    if (!sv_tensor_download (&v->x, opt->scratch, bytes, error))
      return FALSE;
    p->x = opt->scratch;
  }
  return TRUE;
}

/* ---- gradient norm ---- */

static void
chunk_ssq (SvOptimizer *opt, guint c0, guint c1, const float *const *grads)
{
#pragma omp parallel for schedule(static)
  for (guint c = c0; c < c1; c++) {
    const Chunk *ch = &opt->chunks[c];
    const float *g = grads[c - c0] + ch->start;
    double s = 0.0;
    for (size_t j = 0; j < ch->len; j++)
      s += (double) g[j] * (double) g[j];
    opt->partials[c] = s;
  }
}

static void
set_nonfinite_error (SvOptimizer *opt, guint i, const float *g, GError **error)
{
  SvVar *v = sv_var_set_get (opt->set, i);
  size_t j = 0;
  while (j < v->x.numel && isfinite (g[j]))
    j++;
  g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
               "non-finite gradient in parameter \"%s\" (element %zu is %s) at step %" PRId64
               "; no parameter was updated",
               sv_var_set_name (opt->set, i), j,
               j < v->x.numel ? (isnan (g[j]) ? "NaN" : "infinite") : "non-finite", opt->step);
}

/* Parameter i's gradient sum of squares from a host copy of it (fetched into p): by
 * chunks, each in double, summed in chunk order as the host path does. */
static gboolean
param_ssq_from_copy (SvOptimizer *opt, guint i, Ptrs *p, double *s, GError **error)
{
  guint c0 = opt->first_chunk[i], c1 = opt->first_chunk[i + 1];
  if (!fetch (opt, i, FALSE, p, error))
    return FALSE;
  const float **grads = g_new (const float *, MAX (c1 - c0, 1));
  for (guint c = c0; c < c1; c++)
    grads[c - c0] = p->g;
  chunk_ssq (opt, c0, c1, grads);
  g_free (grads);
  *s = 0.0;
  for (guint c = c0; c < c1; c++)
    *s += opt->partials[c];
  return TRUE;
}

/* Device updates: each gradient's sum of squares comes from the device as a
 * double-float (hi, lo), added in double in parameter order.  One that is not
 * finite (a non-finite gradient, or squares beyond the float range) is recounted
 * here from a host copy, in double like the host path, which also names the
 * element. */
static gboolean
grad_ssq_device (SvOptimizer *opt, double *ssq, GError **error)
{
  for (guint i = 0; i < opt->n; i++) {
    SvVar *v = sv_var_set_get (opt->set, i);
    if (v->d.numel > 0)
      opt->dev->klass->optim_grad_ssq (opt->dev, opt->dssq, i, &v->d);
  }
  if (!sv_tensor_download (opt->dssq, opt->ssq_host, 2 * (size_t) opt->n * sizeof (float), error))
    return FALSE;
  double total = 0.0;
  for (guint i = 0; i < opt->n; i++) {
    guint c0 = opt->first_chunk[i], c1 = opt->first_chunk[i + 1];
    if (c1 == c0)
      continue;
    double s = (double) opt->ssq_host[2 * i] + (double) opt->ssq_host[2 * i + 1];
    if (!isfinite (s)) {
      Ptrs p = { 0 };
      if (!param_ssq_from_copy (opt, i, &p, &s, error))
        return FALSE;
      if (!isfinite (s)) {
        set_nonfinite_error (opt, i, p.g, error);
        return FALSE;
      }
    }
    total += s;
  }
  *ssq = total;
  return TRUE;
}

/* Sum of squares of every gradient; fails naming the first non-finite one. */
static gboolean
grad_ssq (SvOptimizer *opt, double *ssq, GError **error)
{
  if (opt->dev)
    return grad_ssq_device (opt, ssq, error);
  if (opt->host) {
    const float **grads = g_new (const float *, MAX (opt->n_chunks, 1));
    for (guint c = 0; c < opt->n_chunks; c++)
      grads[c] = sv_tensor_f32 (&sv_var_set_get (opt->set, opt->chunks[c].param)->d);
    chunk_ssq (opt, 0, opt->n_chunks, grads);
    g_free (grads);
  }
  double total = 0.0;
  for (guint i = 0; i < opt->n; i++) {
    guint c0 = opt->first_chunk[i], c1 = opt->first_chunk[i + 1];
    Ptrs p = { 0 };
    double s = 0.0;
    if (!opt->host && c1 > c0) {
      if (!param_ssq_from_copy (opt, i, &p, &s, error))
        return FALSE;
    } else {
      for (guint c = c0; c < c1; c++)
        s += opt->partials[c];
    }
    if (!isfinite (s)) {
      if (opt->host)
        fetch (opt, i, FALSE, &p, NULL);
      set_nonfinite_error (opt, i, p.g, error);
      return FALSE;
    }
    total += s;
  }
  *ssq = total;
  return TRUE;
}

gboolean
sv_optim_grad_norm (SvOptimizer *opt, double *norm, GError **error)
{
  double ssq = 0.0;
  if (!grad_ssq (opt, &ssq, error))
    return FALSE;
  *norm = sqrt (ssq);
  return TRUE;
}

/* ---- update ---- */

/* the step's constants: SvOptimConsts (sv-backend.h), shared with the device updates */
typedef SvOptimConsts StepConsts;

static void
update_range (const StepConsts *k, SvOptimKind kind, gboolean decay, float *x, const float *g,
              float *s0, float *s1, size_t len)
{
  if (kind == SV_OPTIM_SGD) {
    float wd = decay ? k->wd : 0.0f;
    for (size_t j = 0; j < len; j++) {
      float gj = g[j] * k->gscale;
      if (wd != 0.0f)
        gj = gj + wd * x[j];
      float b = k->first ? gj : k->mom * s0[j] + gj;
      s0[j] = b;
      x[j] = x[j] - k->lr * b;
    }
  } else {
    float wd_mul = decay ? k->wd_mul : 1.0f;
    for (size_t j = 0; j < len; j++) {
      float gj = g[j] * k->gscale;
      float p = x[j] * wd_mul;
      float m = s0[j] * k->b1 + gj * k->omb1;
      float v = s1[j] * k->b2 + k->omb2 * gj * gj;
      s0[j] = m;
      s1[j] = v;
      float denom = sqrtf (v) / k->bc2_sqrt + k->eps;
      x[j] = p - k->step_size * (m / denom);
    }
  }
}

static void
update_chunks (SvOptimizer *opt, const StepConsts *k, guint c0, guint c1, const Ptrs *ptrs)
{
  SvOptimKind kind = opt->cfg.kind;
#pragma omp parallel for schedule(static)
  for (guint c = c0; c < c1; c++) {
    const Chunk *ch = &opt->chunks[c];
    const Ptrs *p = &ptrs[opt->host ? ch->param : 0];
    size_t s = ch->start;
    update_range (k, kind, opt->decay[ch->param], p->x + s, p->g + s, p->s0 + s,
                  p->s1 ? p->s1 + s : NULL, ch->len);
  }
}

gboolean
sv_optim_step (SvOptimizer *opt, float lr, double *grad_norm, GError **error)
{
  g_return_val_if_fail (opt != NULL, FALSE);
  if (!isfinite (lr) || lr < 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "optimiser: learning rate %g is not finite and >= 0", (double) lr);
    return FALSE;
  }
  double ssq = 0.0;
  if (!grad_ssq (opt, &ssq, error))
    return FALSE;
  double norm = sqrt (ssq);
  if (grad_norm)
    *grad_norm = norm;

  const SvOptimConfig *cfg = &opt->cfg;
  StepConsts k = { .kind = cfg->kind, .lr = lr, .gscale = 1.0f };
  if (cfg->max_grad_norm > 0) {
    double coef = (double) cfg->max_grad_norm / (norm + 1e-6);
    if (coef < 1.0)
      k.gscale = (float) coef;
  }
  int64_t t = opt->step + 1;
  if (cfg->kind == SV_OPTIM_SGD) {
    k.wd = cfg->weight_decay;
    k.mom = cfg->momentum;
    k.first = opt->step == 0;
  } else {
    k.wd_mul = (float) (1.0 - (double) lr * (double) cfg->weight_decay);
    k.b1 = cfg->beta1;
    k.omb1 = (float) (1.0 - (double) cfg->beta1);
    k.b2 = cfg->beta2;
    k.omb2 = (float) (1.0 - (double) cfg->beta2);
    k.eps = cfg->eps;
    double bc1 = 1.0 - pow ((double) cfg->beta1, (double) t);
    double bc2 = 1.0 - pow ((double) cfg->beta2, (double) t);
    k.step_size = (float) ((double) lr / bc1);
    k.bc2_sqrt = (float) sqrt (bc2);
  }

  if (opt->host) {
    Ptrs *ptrs = g_new (Ptrs, MAX (opt->n, 1));
    for (guint i = 0; i < opt->n; i++)
      fetch (opt, i, TRUE, &ptrs[i], NULL);
    update_chunks (opt, &k, 0, opt->n_chunks, ptrs);
    g_free (ptrs);
  } else if (opt->dev) {
    /* Device updates: recorded, not waited for (they run with the next batch of
     * device work); a failure of the device comes back from the next download or
     * finish on the backend, as for every op. */
    for (guint i = 0; i < opt->n; i++) {
      SvVar *v = sv_var_set_get (opt->set, i);
      SvTensor s0, s1;
      if (v->x.numel == 0)
        continue;
      if (!dstate_view (opt, 0, i, &s0, error) ||
          (opt->n_slots > 1 && !dstate_view (opt, 1, i, &s1, error)))
        return FALSE;
      opt->dev->klass->optim_update (opt->dev, &k, opt->decay[i], &v->x, &v->d, &s0,
                                     opt->n_slots > 1 ? &s1 : NULL);
    }
  } else {
    /* Device parameters: one at a time through the scratch buffer.  A transfer
     * failure here leaves the step partly applied (a backend failure, not a
     * property of the gradients). */
    for (guint i = 0; i < opt->n; i++) {
      guint c0 = opt->first_chunk[i], c1 = opt->first_chunk[i + 1];
      if (c1 == c0)
        continue;
      Ptrs p;
      if (!fetch (opt, i, TRUE, &p, error))
        return FALSE;
      update_chunks (opt, &k, c0, c1, &p);
      SvVar *v = sv_var_set_get (opt->set, i);
      if (!sv_tensor_upload (&v->x, p.x, v->x.numel * sizeof (float), error))
        return FALSE;
    }
  }
  opt->step = t;
  return TRUE;
}

/* ---- checkpoints ---- */

static char *
state_name (const SvOptimizer *opt, guint slot, guint i)
{
  return g_strdup_printf ("optim.%s.%s", slot_names[opt->cfg.kind][slot],
                          sv_var_set_name (opt->set, i));
}

static void
set_meta_float (SvSafetensorsWriter *w, const char *key, float v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof buf, "%.9g", (double) v);
  sv_safetensors_writer_set_metadata (w, key, buf);
}

gboolean
sv_optim_save (const SvOptimizer *opt, SvSafetensorsWriter *w, GError **error)
{
  g_return_val_if_fail (opt != NULL && w != NULL, FALSE);
  /* device state: into the host copy, which the writer then references */
  for (guint slot = 0; opt->dev && slot < opt->n_slots; slot++)
    if (!sv_tensor_download (opt->dstate[slot], opt->state + (size_t) slot * opt->numel,
                             opt->numel * sizeof (float), error))
      return FALSE;
  for (guint slot = 0; slot < opt->n_slots; slot++) {
    for (guint i = 0; i < opt->n; i++) {
      SvVar *v = sv_var_set_get (opt->set, i);
      char *name = state_name (opt, slot, i);
      gboolean ok = sv_safetensors_writer_add (w, name, SV_F32, v->x.ndim, v->x.shape,
                                               slot_ptr (opt, slot, i), error);
      g_free (name);
      if (!ok)
        return FALSE;
    }
  }
  char step[32];
  g_snprintf (step, sizeof step, "%" PRId64, opt->step);
  sv_safetensors_writer_set_metadata (w, "optim.kind", sv_optim_kind_name (opt->cfg.kind));
  sv_safetensors_writer_set_metadata (w, "optim.step", step);
  set_meta_float (w, "optim.weight_decay", opt->cfg.weight_decay);
  if (opt->cfg.kind == SV_OPTIM_SGD) {
    set_meta_float (w, "optim.momentum", opt->cfg.momentum);
  } else {
    set_meta_float (w, "optim.beta1", opt->cfg.beta1);
    set_meta_float (w, "optim.beta2", opt->cfg.beta2);
    set_meta_float (w, "optim.eps", opt->cfg.eps);
  }
  set_meta_float (w, "optim.max_grad_norm", opt->cfg.max_grad_norm);
  return TRUE;
}

static gboolean
shape_equal (const SvSafetensorsEntry *e, const SvTensor *t)
{
  if (e->ndim != t->ndim)
    return FALSE;
  for (int d = 0; d < t->ndim; d++)
    if (e->shape[d] != t->shape[d])
      return FALSE;
  return TRUE;
}

gboolean
sv_optim_load (SvOptimizer *opt, const SvSafetensors *st, GError **error)
{
  g_return_val_if_fail (opt != NULL && st != NULL, FALSE);
  const char *kind = sv_safetensors_metadata (st, "optim.kind");
  const char *step_s = sv_safetensors_metadata (st, "optim.step");
  const char *want_kind = sv_optim_kind_name (opt->cfg.kind);
  if (!kind || !step_s) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "optimiser state: no \"optim.kind\" / \"optim.step\" metadata "
                 "(not a checkpoint with optimiser state)");
    return FALSE;
  }
  if (strcmp (kind, want_kind) != 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "optimiser state is for \"%s\", but this optimiser is \"%s\"", kind, want_kind);
    return FALSE;
  }
  guint64 step = 0;
  if (!g_ascii_string_to_unsigned (step_s, 10, 0, G_MAXINT64, &step, NULL)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "optimiser state: invalid optim.step \"%s\"",
                 step_s);
    return FALSE;
  }

  /* every expected tensor present with the parameter's shape */
  GHashTable *expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const SvSafetensorsEntry **entries =
      g_new (const SvSafetensorsEntry *, opt->n * opt->n_slots + 1);
  gboolean ok = TRUE;
  for (guint slot = 0; ok && slot < opt->n_slots; slot++) {
    for (guint i = 0; ok && i < opt->n; i++) {
      SvVar *v = sv_var_set_get (opt->set, i);
      char *name = state_name (opt, slot, i);
      const SvSafetensorsEntry *e = sv_safetensors_find (st, name, NULL);
      if (!e) {
        g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                     "optimiser state has no \"%s\": it was not saved for this parameter set",
                     name);
        ok = FALSE;
      } else if (e->dtype != SV_F32 || !shape_equal (e, &v->x)) {
        char want[64], got[64];
        SvTensor tmp = { .ndim = e->ndim };
        memcpy (tmp.shape, e->shape, sizeof tmp.shape);
        g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                     "optimiser state \"%s\" is %s %s, but parameter \"%s\" is F32 %s", name,
                     e->dtype == SV_F32 ? "F32" : "I32",
                     sv_tensor_shape_str (&tmp, got, sizeof got), sv_var_set_name (opt->set, i),
                     sv_tensor_shape_str (&v->x, want, sizeof want));
        ok = FALSE;
      }
      entries[slot * opt->n + i] = e;
      g_hash_table_add (expected, name);
    }
  }
  /* no state for parameters that are not in the set */
  guint n_entries = sv_safetensors_n_tensors (st);
  for (guint j = 0; ok && j < n_entries; j++) {
    const char *name = sv_safetensors_entry (st, j)->name;
    if (g_str_has_prefix (name, "optim.") && !g_hash_table_contains (expected, name)) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "optimiser state has \"%s\", which matches no parameter of this set "
                   "(or belongs to another optimiser)",
                   name);
      ok = FALSE;
    }
  }
  g_hash_table_unref (expected);
  if (ok) {
    for (guint slot = 0; slot < opt->n_slots; slot++)
      for (guint i = 0; i < opt->n; i++) {
        const SvSafetensorsEntry *e = entries[slot * opt->n + i];
        if (e->numel > 0)
          memcpy (slot_ptr (opt, slot, i), e->data, e->numel * sizeof (float));
      }
    for (guint slot = 0; opt->dev && ok && slot < opt->n_slots; slot++)
      ok = sv_tensor_upload (opt->dstate[slot], opt->state + (size_t) slot * opt->numel,
                             opt->numel * sizeof (float), error);
    if (ok)
      opt->step = (int64_t) step;
  }
  g_free (entries);
  return ok;
}

/* ---- learning-rate schedule ---- */

void
sv_lr_schedule_init (SvLrSchedule *s, float base_lr, int64_t total_steps)
{
  memset (s, 0, sizeof *s);
  s->base_lr = base_lr;
  s->min_lr = 0.0f;
  s->total_steps = total_steps;
  s->warmup_ratio = 0.05;
  s->warmup_steps = -1;
}

int64_t
sv_lr_warmup_steps (const SvLrSchedule *s)
{
  if (s->total_steps <= 0)
    return 0;
  int64_t w = s->warmup_steps;
  if (w < 0) {
    double r = s->warmup_ratio > 0 ? s->warmup_ratio : 0.0;
    w = (int64_t) floor (r * (double) s->total_steps + 0.5);
  }
  return CLAMP (w, 0, s->total_steps);
}

float
sv_lr_at (const SvLrSchedule *s, int64_t step)
{
  if (s->total_steps <= 0)
    return s->base_lr;
  if (step < 0)
    step = 0;
  int64_t w = sv_lr_warmup_steps (s);
  double base = s->base_lr, min = s->min_lr;
  if (step < w)
    return (float) (base * (double) (step + 1) / (double) w);
  if (step >= s->total_steps)
    return (float) min;
  double progress = (double) (step - w) / (double) (s->total_steps - w);
  return (float) (min + (base - min) * 0.5 * (1.0 + cos (G_PI * progress)));
}
