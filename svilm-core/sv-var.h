/* svilm-core: differentiable variables and parameter sets.
 *
 * An SvVar pairs a value tensor `x` with its gradient `d` of the same shape:
 * parameters live in one arena (values) + one arena (gradients); activations of
 * a pass in another pair, all planned up front and allocated once (llm.c).
 */
#pragma once

#include "sv-rng.h"
#include "sv-tensor.h"

G_BEGIN_DECLS

typedef struct {
  SvTensor x; /* value */
  SvTensor d; /* gradient (dLoss/dx), accumulated by backward ops */
} SvVar;

typedef enum {
  SV_INIT_ZERO,
  SV_INIT_ONE,
  SV_INIT_NORMAL, /* truncated normal, std 0.02 (ViT/BERT/GroupViT convention) */
  SV_INIT_LINEAR, /* a linear map's weight [out, in]: by the set's linear_fan_in */
} SvInit;

/* A pair of arenas for values and gradients. */
typedef struct {
  SvArena *x;
  SvArena *d;       /* NULL for inference sets: gradients get shapes but no memory */
  GPtrArray *vars;  /* SvVar* in planning order (not owned) */
  GPtrArray *names; /* char* (owned) */
  GArray *inits;    /* SvInit per var */
  /* SV_INIT_LINEAR weights: uniform +-1/sqrt(in) (TRUE) or like SV_INIT_NORMAL (FALSE) */
  gboolean linear_fan_in;
} SvVarSet;

SvVarSet *sv_var_set_new (SvBackend *backend);
/* values only (inference): every var's d has its shape but no storage (data NULL) */
SvVarSet *sv_var_set_new_inference (SvBackend *backend);
void sv_var_set_free (SvVarSet *set);
/* plans var with the given shape; name is copied (printf-style) */
gboolean sv_var_plan (SvVarSet *set, SvVar *var, SvInit init, int ndim, const int64_t *shape,
                      GError **error, const char *name_fmt, ...) G_GNUC_PRINTF (7, 8);
gboolean sv_var_set_commit (SvVarSet *set, GError **error);
/* initialises the values by each var's SvInit (host-side, then uploaded) */
gboolean sv_var_set_init (SvVarSet *set, SvRng *rng, GError **error);
gboolean sv_var_set_zero_grad (SvVarSet *set, GError **error);
guint sv_var_set_len (const SvVarSet *set);
SvVar *sv_var_set_get (const SvVarSet *set, guint i);
const char *sv_var_set_name (const SvVarSet *set, guint i);
/* NULL if absent */
SvVar *sv_var_set_find (const SvVarSet *set, const char *name);
size_t sv_var_set_numel (const SvVarSet *set);

/* shape helpers */
#define SV_SHAPE(...)                                                                              \
  (sizeof ((int64_t[]){ __VA_ARGS__ }) / sizeof (int64_t)), ((int64_t[]){ __VA_ARGS__ })

G_END_DECLS
