/* svilm-core: the S-ViLM model: parameters, checkpoints and the pre-training pass.
 *
 * A checkpoint is one safetensors file: every parameter by name (F32), and in
 * __metadata__ "format" = "svilm-1", "config" = the model config JSON and, once
 * trained, "tokenizer" = the tokenizer JSON.
 */
#pragma once

#include "sv-encoders.h"
#include "sv-losses.h"
#include "sv-model-config.h"
#include "sv-scene-head.h"
#include "sv-tokenizer.h"

G_BEGIN_DECLS

#define SV_CHECKPOINT_FORMAT "svilm-1"

typedef struct {
  SvModelConfig cfg;
  SvBackend *backend;
  SvVarSet *params; /* values and gradients of every parameter */
  SvVideoParams video;
  SvTextParams text;
  SvVar words_w, words_b;  /* [vocab, embed_dim], [vocab]: planned when cfg.word_head */
  SvSceneHeadParams scene; /* planned when cfg.scene_hidden > 0 */
  SvTokenizer *tokenizer;  /* NULL until one is attached */
} SvModel;

/* A freshly initialised model (seeded). */
SvModel *sv_model_new (const SvModelConfig *cfg, SvBackend *backend, guint64 seed, GError **error);
SvModel *sv_model_load (const char *path, SvBackend *backend, GError **error);
/* with_grads FALSE: inference only (no gradient memory) */
SvModel *sv_model_load_full (const char *path, SvBackend *backend, gboolean with_grads,
                             GError **error);
gboolean sv_model_save (SvModel *model, const char *path, GError **error);
void sv_model_free (SvModel *model);
/* takes ownership */
void sv_model_set_tokenizer (SvModel *model, SvTokenizer *tok);

/* Loss switches and weights (the paper's three at 1; STGT's CSAL, an extra contrastive
 * term with soft targets, and our grounding within a video (sv-losses.h, L_w; needs
 * grounding on and the batch's within_targets) off unless asked for: 0 switches a term
 * off). */
typedef struct {
  float temporal, grounding, contrast, csal, within;
  float separate; /* negative captions held apart (sv-losses.h, L_s); needs Q > 0 */
  float words;    /* the caption's words from the clip (L_words); needs cfg.word_head */
} SvLossWeights;

/* One pre-training batch, already cut-and-pasted (method.md section 3). */
typedef struct {
  const float *video; /* [B,T,H,W,3] blended clips, normalised */
  const int32_t *ids; /* [B*(1+Q+K), L]: B captions, caption j's Q negatives at B+j*Q+q,
                         then caption j's K prompts at B+B*Q+j*K+k */
  const float *mask;  /* [B*(1+Q+K), L] 1 = token, 0 = padding */
  const float *fg;    /* [B, Nt] 1 = foreground clip (from v_i), 0 = background */
  const float *Wv;    /* [B, B] cut-and-paste weights */
  const float *noise; /* [G, B, M, Nv] Gumbel noise for the G grouping blocks, or NULL to
                         draw it from noise_seed */
  guint64 noise_seed;
  const float *within_targets; /* [B*K, K] L_w's targets (rows sum to 1), or NULL: L_w off */
  const float *separate_held;  /* [B*Q] 1: L_s holds caption j's negative q apart, 0: not;
                                  NULL: every negative (sv_separate_loss_forward) */
  const float *word_weight;    /* [vocab] what each token counts in L_words' targets (e.g.
                                  its idf); NULL: every token 1 (sv_words_loss_set_targets) */
} SvTrainBatch;

typedef struct {
  SvModel *model;
  int B, K, Q; /* Q: negative captions a caption (train/caption-negatives.h) */
  SvVarSet *acts;
  SvVideoActs video;
  SvTextActs text;
  /* views of text.f: the captions [0,B), with their negatives [0,B+B*Q), the prompts
   * [B+B*Q, B+B*Q+B*K) */
  SvVar captions, captions_negatives, nouns;
  SvTemporalLoss lt;
  SvGroundingLoss lg;
  SvContrastLoss lc;
  SvContrastLoss lcsal;  /* the contrastive logits again, with CSAL targets */
  SvSeparateLoss ls;     /* planned when Q > 0 */
  SvWordsLoss lwd;       /* planned when the model has a word head */
  float separate_margin; /* L_s's m (default 0.5) */
  SvBlockScratch scratch;
  /* results of the last forward */
  float loss_temporal, loss_grounding, loss_contrast, loss_csal, loss_within, loss_separate,
      loss_words, loss;
} SvTrainPass;

SvTrainPass *sv_train_pass_new (SvModel *model, int B, GError **error);
/* with Q >= 0 negative captions per caption in the contrastive loss's video->text term */
SvTrainPass *sv_train_pass_new_negatives (SvModel *model, int B, int Q, GError **error);
void sv_train_pass_free (SvTrainPass *pass);
/* number of grouping blocks (the G of SvTrainBatch.noise) */
int sv_model_n_group_blocks (const SvModel *model);
gboolean sv_train_pass_forward (SvTrainPass *pass, const SvTrainBatch *batch,
                                const SvLossWeights *w, GError **error);
/* zeroes the activation gradients, then accumulates into the parameters' gradients
 * (zero them with sv_var_set_zero_grad first) */
gboolean sv_train_pass_backward (SvTrainPass *pass, const SvLossWeights *w, GError **error);

G_END_DECLS
