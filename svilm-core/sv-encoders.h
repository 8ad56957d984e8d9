/* svilm-core: the video encoder (tubelets, position embeddings, transformer
 * blocks, group tokens updated by grouping blocks) and the text encoder
 * (token + position embeddings, transformer blocks, [CLS] projection).
 * Parameters live in a model's SvVarSet, activations in a pass's SvVarSet. */
#pragma once

#include "sv-blocks.h"
#include "sv-model-config.h"

G_BEGIN_DECLS

typedef struct {
  SvVar stem_w[SV_MAX_STEM], stem_b[SV_MAX_STEM]; /* [C_i, 3*3*C_{i-1}], [C_i]; C_{-1} = 3 */
  SvVar patch_w, patch_b, pos_t, pos_s, groups;
  SvBlockParams blocks[SV_MAX_LAYERS];
  SvGroupBlockParams gblocks[SV_MAX_LAYERS]; /* used where cfg->group_after[l] */
  SvVar lnf_w, lnf_b, lng_w, lng_b, proj_w;  /* projection to the joint space: no bias */
} SvVideoParams;

typedef struct {
  int B, Nv;
  SvTensor video;                /* input [B,T,H,W,3] */
  SvTensor noise[SV_MAX_LAYERS]; /* Gumbel noise [B,M,Nv] per grouping block (training) */
  SvTensor ids_t, ids_s, ids_g;  /* constant index tensors for the embeddings */
  /* stem layer i (cfg->n_stem of them): im2col of its input [B,T,h,w,9*C_{i-1}], the
   * convolution [B,T,h,w,C_i] and its GELU; h = H / 2^(i+1) */
  SvVar stem_cols[SV_MAX_STEM], stem_pre[SV_MAX_STEM], stem_out[SV_MAX_STEM];
  SvTensor patches;  /* [B,Nv,pt*q*q*C], q = patch / 2^n_stem, C = 3 or the stem's last C_i */
  SvTensor dpatches; /* its gradient (scratch of the backward; training with a stem only) */
  SvVar tok, pos_t, pos_s, pos, x0, g0;
  SvBlockActs blocks[SV_MAX_LAYERS];
  SvGroupBlockActs gblocks[SV_MAX_LAYERS];
  SvVar z;         /* final video tokens, LN'd [B,Nv,D] (temporal grouping, scene features) */
  SvVar gf, gp;    /* final group tokens LN'd [B,M,D] and projected [B,M,E] */
  SvVar gmean, fv; /* mean over groups [B,E] and the L2-normalised video embedding [B,E] */
  SvTensor z_mean, z_rstd, gf_mean, gf_rstd, fv_norm;
  SvTensor graph; /* STGT graph [B,Nv,Nv] when cfg->attention == STGRAPH */
  int last_group; /* index of the last grouping block */
  /* cfg->groups_in_layers: the layers run on a joint stream [B,Nv+M,D] of video tokens
   * then group tokens; where a grouping block reads it, the stream is split into vid/grp
   * and, before the next layer, joined again with the block's new group tokens */
  gboolean joint;
  SvTensor ids_vid, ids_grp; /* rows of the video [B*Nv] and group [B*M] tokens in the stream */
  SvVar cat0;                /* [x0; g0], layer 0's input */
  SvVar vid[SV_MAX_LAYERS], grp[SV_MAX_LAYERS], cat[SV_MAX_LAYERS];
  /* inference on a joint stream (att_rows): each layer's attention lives only during the
   * layer; what outlives it is the group tokens' rows, [B*H*M, Nv+M] (grounding's maps),
   * gathered by ids_att [B*H*M] from the attention seen as a table of rows */
  gboolean att_rows;
  SvTensor ids_att, att_groups[SV_MAX_LAYERS];
} SvVideoActs;

typedef struct {
  SvVar tok_emb, pos_emb;
  SvBlockParams blocks[SV_MAX_LAYERS];
  SvVar lnf_w, lnf_b, proj_w;
} SvTextParams;

typedef struct {
  int B, L;
  SvTensor ids, ids_pos, ids_cls; /* [B,L] token ids, [L] positions, [B] row of each [CLS] */
  SvTensor graph;                 /* [B,L,L] key-padding mask as an attention graph */
  SvVar tok, pos, x0;
  SvBlockActs blocks[SV_MAX_LAYERS];
  SvVar xf, cls, proj, f; /* LN'd tokens, [CLS] rows, projection, L2-normalised [B,E] */
  SvTensor xf_mean, xf_rstd, f_norm;
} SvTextActs;

gboolean sv_video_params_plan (SvVarSet *ps, SvVideoParams *p, const SvModelConfig *c,
                               GError **error);
gboolean sv_video_acts_plan (SvVarSet *as, SvVideoActs *a, const SvModelConfig *c, int B,
                             gboolean training, GError **error);
/* after the arena is committed: fills the constant index tensors */
gboolean sv_video_acts_init (SvVideoActs *a, const SvModelConfig *c, GError **error);
/* the Gumbel noise of every grouping block for a training pass: noise (the blocks' [B,M,Nv]
 * arrays one after the other, as tests supply them) or, when NULL, drawn from (seed, block) */
gboolean sv_video_acts_set_noise (SvVideoActs *a, const SvModelConfig *c, const float *noise,
                                  guint64 seed, GError **error);
gboolean sv_video_forward (SvVideoParams *p, SvVideoActs *a, const SvModelConfig *c,
                           gboolean training, GError **error);
gboolean sv_video_backward (SvVideoParams *p, SvVideoActs *a, const SvModelConfig *c,
                            SvBlockScratch *s, GError **error);

gboolean sv_text_params_plan (SvVarSet *ps, SvTextParams *p, const SvModelConfig *c,
                              GError **error);
gboolean sv_text_acts_plan (SvVarSet *as, SvTextActs *a, const SvModelConfig *c, int B,
                            GError **error);
gboolean sv_text_acts_init (SvTextActs *a, const SvModelConfig *c, GError **error);
/* ids [B,L] and mask [B*L] (1 = token, 0 = padding) are uploaded into a->ids / a->graph */
gboolean sv_text_set_input (SvTextActs *a, const int32_t *ids, const float *mask, GError **error);
gboolean sv_text_forward (SvTextParams *p, SvTextActs *a, const SvModelConfig *c, GError **error);
gboolean sv_text_backward (SvTextParams *p, SvTextActs *a, const SvModelConfig *c,
                           SvBlockScratch *s, GError **error);

G_END_DECLS
