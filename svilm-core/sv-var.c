/* svilm-core: differentiable variables and parameter sets. */
#include "sv-var.h"

#include "sv-backend.h"
#include "sv-error.h"

#include <math.h>
#include <stdarg.h>

SvVarSet *
sv_var_set_new (SvBackend *backend)
{
  SvVarSet *s = g_new0 (SvVarSet, 1);
  s->x = sv_arena_new (backend);
  s->d = sv_arena_new (backend);
  s->vars = g_ptr_array_new ();
  s->names = g_ptr_array_new_with_free_func (g_free);
  s->inits = g_array_new (FALSE, FALSE, sizeof (SvInit));
  return s;
}

SvVarSet *
sv_var_set_new_inference (SvBackend *backend)
{
  SvVarSet *s = sv_var_set_new (backend);
  sv_arena_free (s->d);
  s->d = NULL;
  return s;
}

void
sv_var_set_free (SvVarSet *s)
{
  if (!s)
    return;
  sv_arena_free (s->x);
  sv_arena_free (s->d);
  g_ptr_array_unref (s->vars);
  g_ptr_array_unref (s->names);
  g_array_unref (s->inits);
  g_free (s);
}

gboolean
sv_var_plan (SvVarSet *s, SvVar *var, SvInit init, int ndim, const int64_t *shape, GError **error,
             const char *name_fmt, ...)
{
  va_list ap;
  va_start (ap, name_fmt);
  char *name = g_strdup_vprintf (name_fmt, ap);
  va_end (ap);
  g_ptr_array_add (s->names, name);
  if (!sv_arena_alloc (s->x, &var->x, SV_F32, ndim, shape, name, error))
    return FALSE;
  if (s->d) {
    if (!sv_arena_alloc (s->d, &var->d, SV_F32, ndim, shape, name, error))
      return FALSE;
  } else {
    var->d = var->x;
    var->d.storage = NULL;
    var->d.data = NULL;
  }
  g_ptr_array_add (s->vars, var);
  g_array_append_val (s->inits, init);
  return TRUE;
}

gboolean
sv_var_set_commit (SvVarSet *s, GError **error)
{
  return sv_arena_commit (s->x, error) && (!s->d || sv_arena_commit (s->d, error));
}

gboolean
sv_var_set_init (SvVarSet *s, SvRng *rng, GError **error)
{
  for (guint i = 0; i < s->vars->len; i++) {
    SvVar *v = g_ptr_array_index (s->vars, i);
    SvInit init = g_array_index (s->inits, SvInit, i);
    float *host = g_new (float, MAX (v->x.numel, 1));
    for (size_t j = 0; j < v->x.numel; j++)
      host[j] = init == SV_INIT_ONE ? 1.0f : 0.0f;
    if (init == SV_INIT_LINEAR && s->linear_fan_in) {
      float bound = 1.0f / sqrtf ((float) v->x.shape[v->x.ndim - 1]);
      sv_rng_fill_uniform (rng, host, v->x.numel, -bound, bound);
    } else if (init == SV_INIT_NORMAL || init == SV_INIT_LINEAR) {
      sv_rng_fill_trunc_normal (rng, host, v->x.numel, 0.0f, 0.02f);
    }
    gboolean ok = sv_tensor_upload (&v->x, host, v->x.numel * sizeof (float), error);
    g_free (host);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

gboolean
sv_var_set_zero_grad (SvVarSet *s, GError **error)
{
  if (!s->d) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "an inference variable set has no gradients");
    return FALSE;
  }
  return sv_arena_zero (s->d, error);
}

guint
sv_var_set_len (const SvVarSet *s)
{
  return s->vars->len;
}

SvVar *
sv_var_set_get (const SvVarSet *s, guint i)
{
  return g_ptr_array_index (s->vars, i);
}

const char *
sv_var_set_name (const SvVarSet *s, guint i)
{
  return g_ptr_array_index (s->names, i);
}

SvVar *
sv_var_set_find (const SvVarSet *s, const char *name)
{
  for (guint i = 0; i < s->vars->len; i++)
    if (g_str_equal (g_ptr_array_index (s->names, i), name))
      return g_ptr_array_index (s->vars, i);
  return NULL;
}

size_t
sv_var_set_numel (const SvVarSet *s)
{
  size_t n = 0;
  for (guint i = 0; i < s->vars->len; i++)
    n += ((SvVar *) g_ptr_array_index (s->vars, i))->x.numel;
  return n;
}
