/* svilm-train pretrain: training options and the CONFIG file (docs/training.md).
 *
 * Every option has a JSON key (the "train" object of a config file, and "train.options" in
 * checkpoints) and a command-line flag (the same name with '-' for '_').  Precedence, lowest
 * first: built-in defaults, the checkpoint resumed from, the config file, the command line.
 */
#pragma once

#include "sv-model-config.h"

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  char *data, *split, *video_dir, *optim, *device, *tokenizer;
  char *swaps;  /* --text-negatives' swap vocabulary; NULL: swaps.json next to the manifest */
  gint64 steps; /* 0: from epochs */
  double epochs;
  int batch, accum, threads, workers, prefetch, checkpoint_every, keep, log_every;
  double lr, min_lr, warmup_ratio, weight_decay, momentum, beta2, clip_grad;
  gint64 seed;
  double loss_temporal, loss_grounding, loss_contrast, loss_csal, loss_within;
  double loss_separate, separate_margin; /* negative captions held apart (sv-losses.h) */
  char *separate_which;                  /* "all" or "sides": the side negatives only */
  gint64 separate_from;                  /* the step L_s starts at */
  double loss_words;                     /* the caption's words from the clip (sv-losses.h) */
  char *words_weighting;                 /* "uniform" or "idf": L_words' target shares */
  gboolean augment;
  gint64 contrast_warmup; /* steps of plain contrastive training first */
  int hard_negatives;     /* videos per group of alike captions in a batch; 0 = off */
  int text_negatives;     /* negative captions a caption (caption-negatives.h); 0 = off */
  double mirror_pairs;    /* odds that a sample is its neighbour's mirror image; 0 = off */
  double side_negatives;  /* odds that a caption's first negative is its mirrored copy */
  gboolean cut_paste;     /* FALSE: Wv = I, every clip foreground (ablation) */
} SvTrainOptions;

/* every field unset (NaN, G_MININT, NULL, -1) */
void sv_train_options_unset (SvTrainOptions *o);
/* the built-in defaults */
void sv_train_options_defaults (SvTrainOptions *o);
/* copies into dst every field that is set in src */
void sv_train_options_merge (SvTrainOptions *dst, const SvTrainOptions *src);
void sv_train_options_clear (SvTrainOptions *o);
/* a JSON object of the set fields */
char *sv_train_options_to_json (const SvTrainOptions *o);
/* sets the fields present in a JSON object; unknown keys and wrong types are errors */
gboolean sv_train_options_from_json (SvTrainOptions *o, const char *json, const char *origin,
                                     GError **error);
/* range checks of the merged options (SV_ERROR_ARGUMENT, one sentence) */
gboolean sv_train_options_validate (const SvTrainOptions *o, GError **error);

/* CONFIG: a preset name (tiny, small, base) or a JSON file of model config fields, an
 * optional "preset" they modify (default tiny) and an optional "train" object of
 * training options (set into train, which may be NULL). */
gboolean sv_train_read_config (const char *config, SvModelConfig *model, SvTrainOptions *train,
                               GError **error);

/* GOptionEntry array for the command line, storing into o (NULL-terminated; g_free) */
GOptionEntry *sv_train_options_entries (SvTrainOptions *o);

G_END_DECLS
