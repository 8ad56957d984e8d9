/* svilm-core: model configuration (architecture and loss hyper-parameters).
 *
 * Stored as JSON in a checkpoint's __metadata__ ("config").  Named presets:
 *   tiny  - the bundled default: 8 frames of 64x64, tubelets 2x8x8 (4x8x8 token grid),
 *           width 128, 4 layers, 8 group tokens after layers 2 and 4; text width 128,
 *           3 layers.  Trains on 2 CPU cores in about an hour.
 *   small - 16 frames of 112x112, tubelets 2x16x16, width 384, 8 layers, 16 groups.
 *   base  - the paper's: 32 frames of 224x224, ViT-B/16 (12 layers, width 768), 32 group
 *           tokens after layers 6, 9, 12; BERT-base-sized text encoder.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SV_MAX_LAYERS 24
#define SV_MAX_STEM 4

typedef enum {
  SV_ATTENTION_FULL = 0,    /* ordinary softmax self-attention over all video tokens */
  SV_ATTENTION_STGRAPH = 1, /* STGT spatio-temporal graph attention (method.md sec. 9) */
} SvAttentionKind;

/* how the weights of linear maps start (training from scratch only) */
typedef enum {
  SV_LINEAR_INIT_NORMAL = 0, /* truncated normal, std 0.02 (ViT/BERT/GroupViT) */
  SV_LINEAR_INIT_FAN_IN = 1, /* uniform +-1/sqrt(fan_in), PyTorch's nn.Linear default */
} SvLinearInit;

typedef struct {
  /* video input */
  int frames, height, width; /* T, H, W of a clip; 3 colour channels */
  int tubelet_t, patch;      /* tubelet depth pt and patch side p */
  /* convolutional stem before the tubelet embedding: n_stem layers of 3x3 convolutions at
   * stride 2 (padding 1) and GELU, on each frame, with stem[i] output channels; the tubelet
   * embedding then cuts the last layer's map into tubelets of pt x (patch / 2^n_stem)^2, so
   * a token still covers pt x patch x patch pixels.  0 layers: the tubelet embedding reads
   * the pixels (ViT's patches; every config written before the field existed).  A patch
   * embedding alone learnt no shape on the synthetic corpus (docs/training.md). */
  int n_stem;
  int stem[SV_MAX_STEM];
  /* video encoder */
  int v_width, v_depth, v_heads, v_mlp;
  int n_groups;                        /* M group tokens */
  gboolean group_after[SV_MAX_LAYERS]; /* grouping block after layer l (0-based) */
  SvAttentionKind attention;
  /* the group tokens join the video tokens in every transformer layer (GroupViT's
   * layout: "the video together with learnable group tokens are fed into the video
   * encoder"), besides the grouping blocks' updates.  FALSE: only the grouping blocks
   * write them, which trained from scratch never left chance (docs/training.md).
   * Needs full attention and a grouping block after the last layer. */
  gboolean groups_in_layers;
  float stgraph_theta; /* similarity threshold of the STGT graph */
  /* text encoder */
  int vocab, max_len;
  int t_width, t_depth, t_heads, t_mlp;
  /* joint space */
  int embed_dim;
  /* losses */
  float tau_temporal; /* L_t: softmax over {background, foreground} similarities */
  float tau_ground;   /* L_g: softmax over group tokens and over the batch */
  float tau_contrast; /* global contrastive */
  float tau_gumbel;   /* grouping assignment */
  int n_nouns;        /* K noun phrases per caption */
  float ln_eps;
  /* "linear_init": fan-in in the presets.  From std 0.02 both this code and a PyTorch
   * model of the same shape sat at chance for hundreds of steps: attention logits start
   * 6-10x smaller, every token reads the mean of all (docs/training.md).  Configs
   * written before the field existed read as normal. */
  SvLinearInit linear_init;
  /* "word_head": a linear head from the clip embedding to the vocabulary, trained to
   * predict the caption's words (sv-losses.h, L_words; off in the presets) */
  gboolean word_head;
  /* hidden units of the scene head (sv-scene-head.h), 0 = none: pre-training leaves it out,
   * svilm-train scenehead adds it to a trained model */
  int scene_hidden;
  /* pixel cues the scene head reads besides the features (sv-scene-head.h): 0 or
   * SV_SCENE_PIXEL_CUES; heads trained before the field existed read none */
  int scene_cues;
} SvModelConfig;

#define SV_SCENE_PIXEL_CUES 8

/* "tiny", "small", "base"; FALSE with an error for other names */
gboolean sv_model_config_preset (SvModelConfig *cfg, const char *name, GError **error);
/* checks every field for consistency (divisibility, ranges); SV_ERROR_ARGUMENT */
gboolean sv_model_config_validate (const SvModelConfig *cfg, GError **error);
char *sv_model_config_to_json (const SvModelConfig *cfg);
/* unknown keys are ignored, missing keys keep the tiny preset's value; validated */
gboolean sv_model_config_from_json (SvModelConfig *cfg, const char *json, GError **error);

/* derived sizes */
static inline int
sv_model_config_grid_t (const SvModelConfig *c)
{
  return c->frames / c->tubelet_t;
}
static inline int
sv_model_config_grid_h (const SvModelConfig *c)
{
  return c->height / c->patch;
}
static inline int
sv_model_config_grid_w (const SvModelConfig *c)
{
  return c->width / c->patch;
}
/* side of the tubelet embedding's patches on the stem's output map (patch without a stem) */
static inline int
sv_model_config_stem_patch (const SvModelConfig *c)
{
  return c->patch >> c->n_stem;
}
static inline int
sv_model_config_video_tokens (const SvModelConfig *c)
{
  return sv_model_config_grid_t (c) * sv_model_config_grid_h (c) * sv_model_config_grid_w (c);
}

G_END_DECLS
