/* svilm-train: training checkpoints.
 *
 * One safetensors file per checkpoint, DIR/checkpoint-<step, 8 digits>.safetensors, written
 * atomically (temporary file, fsync, rename: sv_safetensors_writer_write), holding
 *   - the model as sv_model_save() writes it: every parameter by name, metadata "format",
 *     "config" and "tokenizer";
 *   - the optimiser state (sv_optim_save: "optim.*" tensors and metadata);
 *   - metadata "train.step" (updates done), "train.data_position" (next data position),
 *     "train.rng" (the trainer's xoshiro state, 4 hex words), "train.options" (the
 *     training options as JSON) and, when steps are made of several micro-batches,
 *     "train.data_lanes" (the next position of every lane, space-separated).
 * After a successful write the oldest checkpoints beyond the last `keep` are deleted; a
 * failed write (disk full) leaves every earlier checkpoint as it was.
 *
 * sv_model_load() does not read these files (it expects parameters only); the trainer
 * writes DIR/model.safetensors with sv_model_save() for that.
 */
#pragma once

#include "sv-model.h"
#include "sv-optim.h"
#include "sv-rng.h"

G_BEGIN_DECLS

#define SV_TRAIN_CHECKPOINT_FORMAT "svilm-train-1"

typedef struct {
  int64_t step;           /* optimiser updates done */
  uint64_t data_position; /* next data position (of lane 0) */
  guint n_lanes;          /* with micro-batches: the next position of each lane (lane l */
  uint64_t *lanes;        /* reads positions l, l + n_lanes, ...); 1 and NULL otherwise */
  SvRng rng;              /* the trainer's RNG (cut-and-paste) */
  char *options;          /* training options, JSON (owned by the caller) */
} SvTrainState;

/* DIR/checkpoint-%08d.safetensors */
char *sv_checkpoint_path (const char *dir, int64_t step);
/* The checkpoints in dir, oldest first (a NULL-terminated array of paths). */
char **sv_checkpoint_list (const char *dir);
/* The newest checkpoint in dir, or NULL. */
char *sv_checkpoint_latest (const char *dir);

/* Removes temporary files left by writes that were killed ("checkpoint-*.safetensors.XXXXXX",
 * "model.safetensors.XXXXXX"); returns how many. */
guint sv_checkpoint_remove_temporaries (const char *dir);

gboolean sv_checkpoint_save (const char *dir, SvModel *model, const SvOptimizer *opt,
                             const SvTrainState *st, int keep, char **written, GError **error);

/* The model (with gradients, on backend) and training state (st->options newly allocated);
 * the optimiser is restored with sv_checkpoint_load_optim() once created. */
SvModel *sv_checkpoint_load (const char *path, SvBackend *backend, SvTrainState *st,
                             GError **error);
gboolean sv_checkpoint_load_optim (const char *path, SvOptimizer *opt, GError **error);

G_END_DECLS
