/* svilm-core: optimisers, gradient clipping and the learning-rate schedule.
 *
 * An SvOptimizer updates every parameter of an SvVarSet from its gradient
 * (var->d) in place (var->x), with the semantics of PyTorch's optimisers:
 *
 *   SGD with momentum (torch.optim.SGD, dampening 0, no Nesterov):
 *     g' = g + wd * p;  buf = momentum * buf + g' (buf = g' on the first step);
 *     p -= lr * buf
 *   AdamW (torch.optim.AdamW, amsgrad off):
 *     p *= 1 - lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *     p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * Parameter groups by name: weight decay applies only where
 * sv_optim_param_decays() is TRUE.  It is FALSE for
 *   - norms: names containing ".ln" or "norm" ("*.ln1.weight", "video.norm.bias"),
 *   - biases: names containing ".bias",
 *   - embeddings: names containing "pos_" or "embed" ("text.token_embed",
 *     "video.pos_temporal"), except "patch_embed" weights, which are the
 *     tubelet projection (a linear layer) and do decay,
 *   - group tokens: names containing "group_tokens",
 * and TRUE for every other parameter (linear and projection weights).
 *
 * Gradient clipping (config max_grad_norm > 0) is torch.nn.utils.clip_grad_norm_:
 * the global L2 norm of all gradients, and every gradient scaled by
 * min(1, max_grad_norm / (norm + 1e-6)).  The scaling is applied inside the update:
 * the gradient tensors themselves are left as they are.  The norm is accumulated
 * in double over fixed chunks in a fixed order, so it is the same bits whatever
 * the number of threads; the updates are elementwise, so the whole step is
 * deterministic.
 *
 * A step first checks every gradient: if any is NaN or infinite it fails with
 * SV_ERROR_ARGUMENT naming the first such parameter and changes nothing (no
 * parameter, no optimiser state, no step count).
 *
 * The state (momentum buffers, or Adam's first and second moments) is one host
 * allocation made by sv_optim_new().  Parameters on a device backend that has
 * the optimiser entries (optim_grad_ssq, optim_update: Vulkan) are updated on
 * the device: the state lives there too (the host allocation is then only the
 * copy checkpoints go through), and only each gradient's sum of squares comes
 * back for the norm (see the backend for how close to the host's it is).  On
 * other device backends (t->data == NULL) parameters are downloaded, updated on
 * the host and uploaded, one at a time.
 *
 * Checkpoints: sv_optim_save() adds the state to a safetensors writer as
 *   "optim.momentum.<param>"                        (SGD)
 *   "optim.exp_avg.<param>", "optim.exp_avg_sq.<param>"  (AdamW)
 * with metadata "optim.kind" ("sgd" / "adamw"), "optim.step" (updates done) and,
 * for information, the hyper-parameters ("optim.weight_decay", "optim.momentum",
 * "optim.beta1", "optim.beta2", "optim.eps", "optim.max_grad_norm").
 * sv_optim_load() restores it exactly, so that a run continued from a checkpoint
 * is bit-identical to an uninterrupted one.  Tensor names that begin with
 * "optim." are the optimiser's: sv_optim_load() rejects any it does not expect.
 */
#pragma once

#include "sv-safetensors.h"
#include "sv-var.h"

G_BEGIN_DECLS

typedef enum {
  SV_OPTIM_SGD = 0,
  SV_OPTIM_ADAMW = 1,
} SvOptimKind;

typedef struct {
  SvOptimKind kind;
  float weight_decay;  /* for parameters that decay (defaults: SGD 1e-4, AdamW 0.05) */
  float momentum;      /* SGD: 0.9 (the paper's) */
  float beta1, beta2;  /* AdamW: 0.9, 0.999 */
  float eps;           /* AdamW: 1e-8 */
  float max_grad_norm; /* > 0: clip by global L2 norm; 0 (default): no clipping */
} SvOptimConfig;

/* The paper's peak learning rate for SGD (0.1) and a usual one for AdamW (1e-3);
 * the optimiser itself takes each step's learning rate as an argument. */
#define SV_OPTIM_SGD_DEFAULT_LR 0.1f
#define SV_OPTIM_ADAMW_DEFAULT_LR 1e-3f

/* Fills cfg with the defaults of kind. */
void sv_optim_config_init (SvOptimConfig *cfg, SvOptimKind kind);
/* "sgd" / "adamw" */
const char *sv_optim_kind_name (SvOptimKind kind);
/* "sgd" or "adamw" (case-insensitive); SV_ERROR_ARGUMENT otherwise */
gboolean sv_optim_kind_from_string (const char *s, SvOptimKind *kind, GError **error);

/* TRUE when weight decay applies to the parameter of this name (see above). */
gboolean sv_optim_param_decays (const char *name);

typedef struct _SvOptimizer SvOptimizer;

/* An optimiser over the parameters of set (committed; not owned: it must outlive
 * the optimiser), state zeroed, step 0.  SV_ERROR_ARGUMENT on a bad config or an
 * uncommitted / non-F32 set. */
SvOptimizer *sv_optim_new (SvVarSet *set, const SvOptimConfig *cfg, GError **error);
void sv_optim_free (SvOptimizer *opt);

const SvOptimConfig *sv_optim_get_config (const SvOptimizer *opt);
/* updates applied so far (the index of the next step, for sv_lr_at) */
int64_t sv_optim_get_step (const SvOptimizer *opt);
/* state bytes (the one allocation) */
size_t sv_optim_state_bytes (const SvOptimizer *opt);

/* Global L2 norm of the gradients (double, deterministic).  SV_ERROR_ARGUMENT
 * naming the first parameter whose gradient is not finite. */
gboolean sv_optim_grad_norm (SvOptimizer *opt, double *norm, GError **error);

/* One update with learning rate lr (>= 0, finite): checks the gradients, clips,
 * updates every parameter and increments the step.  grad_norm (may be NULL)
 * receives the global gradient norm before clipping.  On a non-finite gradient:
 * FALSE, SV_ERROR_ARGUMENT naming the parameter, nothing changed. */
gboolean sv_optim_step (SvOptimizer *opt, float lr, double *grad_norm, GError **error);

/* Adds the state and metadata to w.  The tensors are referenced, not copied: do
 * not step or free the optimiser before sv_safetensors_writer_write() returns.
 * Fails (SV_ERROR_ARGUMENT) if w already has one of the names, having added
 * the ones before it. */
gboolean sv_optim_save (const SvOptimizer *opt, SvSafetensorsWriter *w, GError **error);

/* Restores state and step from st (a checkpoint written with sv_optim_save(); its
 * other tensors are ignored).  Everything is checked before anything is copied;
 * on error the optimiser is unchanged.  SV_ERROR_FORMAT: missing metadata, other
 * kind, a missing state tensor, or a state tensor for a parameter not in the set;
 * SV_ERROR_SHAPE: a state tensor whose dtype or shape differs from its parameter. */
gboolean sv_optim_load (SvOptimizer *opt, const SvSafetensors *st, GError **error);

/* Learning-rate schedule: linear warm-up then cosine decay.
 *
 * With W warm-up steps (warmup_steps if >= 0, else round(warmup_ratio *
 * total_steps), at most total_steps) and step counted from 0 (the index of the
 * update, i.e. sv_optim_get_step() before it):
 *   step < W:           lr = base_lr * (step + 1) / W
 *   W <= step < total:  lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * (step - W) / (total - W)))
 * / 2 step >= total:      lr = min_lr total_steps <= 0 means a constant base_lr.  Computed in
 * double, returned as float. */
typedef struct {
  float base_lr;        /* peak learning rate */
  float min_lr;         /* reached at total_steps (default 0) */
  int64_t total_steps;  /* updates in the run */
  double warmup_ratio;  /* default 0.05 */
  int64_t warmup_steps; /* >= 0 overrides warmup_ratio; default -1 */
} SvLrSchedule;

void sv_lr_schedule_init (SvLrSchedule *s, float base_lr, int64_t total_steps);
int64_t sv_lr_warmup_steps (const SvLrSchedule *s);
float sv_lr_at (const SvLrSchedule *s, int64_t step);

G_END_DECLS
