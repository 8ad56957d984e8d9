/* svilm-core: the pre-training losses (method.md sections 4, 6, 7).
 *
 * All take the batch's cut-and-paste weights: Wv[i][j] = beta_i if j == i,
 * 1 - beta_i if j == p_i (the background video), else 0; Wc = Wv^T.
 *
 * Temporal grouping L_t: clip features z_clip (mean of final video tokens over
 *   space), foreground/background means z_f, z_b; per clip
 *   a = softmax([cos(z_clip, z_b), cos(z_clip, z_f)] / tau_t); L_t = MSE(a, onehot(m)).
 * Spatial grounding L_g: G(v_i, c_j) = mean_k cos(n_jk, sum_m softmax_m(cos(g_im, n_jk)/tau) g_im);
 *   L_g = xent(G(v_i, C)/tau, Wv) + xent(G(V, c_j)/tau, Wc).
 * Grounding within a video L_w (ours, off by default; docs/training.md): with
 *   p_ik = sum_m softmax_m(cos(g_im, n_ik)/tau) g_im, the pooled groups of video i for its own
 *   caption's k-th phrase, L_w = xent over k' of cos(p_ik, n_ik')/tau with targets T (k's own
 *   phrase, spread over the prompts of the same phrase when a caption has fewer than K):
 *   the phrases of one video must pool different groups.
 * Contrastive: s = cos(f_v, f_c)/tau, same two cross-entropies.  With negative captions
 *   (edited copies of the batch's captions that no video matches, train/caption-negatives.h)
 *   the video->text softmax of video i runs over the B captions and the negatives, with
 *   target weight 0 on every negative; text->video is over the B captions' rows only.
 * CSAL (STGT, method.md section 9): the same cross-entropies with soft targets from the
 *   batch's own similarity structure (sv_csal_targets); a separate term with its own weight.
 * Caption words L_words (ours, off by default; docs/training.md): the caption's words
 *   predicted from the clip embedding, a softmax over the vocabulary of (W f_v + b) / tau
 *   (tau: the contrastive temperature, so that AdamW's bounded steps move the logits as
 *   fast as the contrastive loss's; at 1 the head barely learned in a test run) whose
 *   target spreads 1 over the distinct tokens of the caption, in equal shares or in
 *   proportion to a weight per token (pretrain's --words-weighting idf: the words that tell
 *   captions apart; for a cut-and-paste clip, Wv's mix of its two captions' targets): every clip
 * gets a gradient from each of its words, where the contrastive loss asks only for what tells it
 * from the batch's other clips.
 */
#pragma once

#include "sv-var.h"

G_BEGIN_DECLS

typedef struct {
  int B, Nt, S, D;
  SvTensor wfb;    /* [B,2,Nt]: row 0 background weights (1-m)/|1-m|, row 1 m/|m| */
  SvTensor onehot; /* [B,Nt,2]: (1-m, m) */
  SvVar zc, zfb, sim, prob, loss;
  SvTensor an, bn, anorm, bnorm, scratch;
} SvTemporalLoss;

typedef struct {
  int B, M, K, E;
  SvTensor wv, wc; /* [B,B] targets */
  SvVar S, ST, W, pooled, pooledT, Gk, Gc, Gv, lv, lc, loss_v, loss_c;
  SvTensor an, bn, anorm, bnorm, scratch;      /* cos(groups, nouns) */
  SvTensor an2, bn2, anorm2, bnorm2, scratch2; /* cos(nouns, pooled) */
  SvTensor probs_v, probs_c;
  /* L_w: own[B*K, E] = pooled[i, i*K + k] (gathered by own_ids), Sw[B, K, K] =
   * cos(own_ik, n_ik'), lw = Sw / tau, targets tw [B*K, K] */
  SvTensor own_ids, tw, probs_w;
  SvVar own, Sw, lw, loss_w;
  SvTensor an3, bn3, anorm3, bnorm3, scratch3;
} SvGroundingLoss;

typedef struct {
  int B, N, E;                 /* N: caption columns, the B captions then N - B negatives */
  SvTensor wv, wc;             /* [B,N] (zero on the negatives), [B,B] */
  SvVar S, ST, loss_v, loss_c; /* S [B,N]; ST [B,B] = S[:, :B]^T */
  SvTensor probs_v, probs_c;
} SvContrastLoss;

/* Negative captions held apart (ours, off by default; docs/training.md): with c_j the batch's
 * captions and n_jq their Q negatives (unit rows), L_s = mean over the B*Q pairs of
 * max(0, cos(c_j, n_jq) - m)^2.  Without it the encoders can rest where neither tells a
 * noun from another: the video does not, so the text need not, so the video's gradient
 * towards the caption and away from its negative (c - n) stays near zero.  Computed as
 * mse(S, T) * N / Q over S = C [C; N]^T [B, B+B*Q] with T = S except at the pairs, where
 * T = min(S, m) (T is set on the host and carries no gradient). */
typedef struct {
  int B, Q, N;
  SvTensor target; /* [B, N] */
  SvVar S, loss;
} SvSeparateLoss;

typedef struct {
  int B, V;
  SvTensor targets, probs; /* [B, V] */
  SvVar raw, logits, loss; /* [B, V] W f_v + b, [B, V] raw / tau, [1] */
} SvWordsLoss;

gboolean sv_temporal_loss_plan (SvVarSet *as, SvTemporalLoss *l, int B, int Nt, int S, int D,
                                GError **error);
/* masks [B*Nt] of 0/1 (1 = foreground clip); each video needs >= 1 of each */
gboolean sv_temporal_loss_set_masks (SvTemporalLoss *l, const float *masks, GError **error);
/* z [B, Nt*S, D] final video tokens; l->loss.x gets L_t */
gboolean sv_temporal_loss_forward (SvTemporalLoss *l, SvVar *z, float tau, GError **error);
/* seeds with weight (dL/dL_t) and accumulates into z->d */
gboolean sv_temporal_loss_backward (SvTemporalLoss *l, SvVar *z, float tau, float weight,
                                    GError **error);

gboolean sv_grounding_loss_plan (SvVarSet *as, SvGroundingLoss *l, int B, int M, int K, int E,
                                 GError **error);
/* Wv [B*B] row-major (Wc is derived) */
gboolean sv_pair_weights_set (SvTensor *wv, SvTensor *wc, const float *Wv, int B, GError **error);
/* gp [B,M,E] projected group tokens; nouns [B*K,E] noun embeddings (caption j's k-th at j*K+k);
 * l->loss_v.x + l->loss_c.x = L_g.  within_targets [B*K, K] (rows sum to 1), or NULL: L_w is
 * not computed (l->loss_w.x is left alone) */
gboolean sv_grounding_loss_forward (SvGroundingLoss *l, SvVar *gp, SvVar *nouns, float tau,
                                    const float *within_targets, GError **error);
/* L_w's targets [B*K, K] for captions whose k-th prompt holds phrase k % n_phrases[j] (all
 * the same phrase when n_phrases[j] is 0): row j*K + k spreads 1 over the prompts of its
 * phrase. */
void sv_within_targets (const int *n_phrases, int B, int K, float *targets);
/* weight: dL/dL_g; within_weight: dL/dL_w (0 when the forward had no within_targets) */
gboolean sv_grounding_loss_backward (SvGroundingLoss *l, SvVar *gp, SvVar *nouns, float tau,
                                     float weight, float within_weight, GError **error);

/* N >= B caption columns (N - B negatives) */
gboolean sv_contrast_loss_plan (SvVarSet *as, SvContrastLoss *l, int B, int N, int E,
                                GError **error);
/* the cut-and-paste targets: wv = [Wv | 0], wc = Wv^T */
gboolean sv_contrast_loss_set_pairs (SvContrastLoss *l, const float *Wv, GError **error);
/* fv [B,E], fc [N,E] L2-normalised */
gboolean sv_contrast_loss_forward (SvContrastLoss *l, SvVar *fv, SvVar *fc, float tau,
                                   GError **error);
gboolean sv_contrast_loss_backward (SvContrastLoss *l, SvVar *fv, SvVar *fc, float tau,
                                    float weight, GError **error);

gboolean sv_separate_loss_plan (SvVarSet *as, SvSeparateLoss *l, int B, int Q, GError **error);
/* fc [B*(1+Q), E]: the captions, then caption j's negatives at B + j*Q + q; *value gets L_s.
 * held [B*Q]: 1 where caption j's negative q is held apart, 0 where it is left alone (its
 * term is 0, still counted in the mean over the B*Q pairs); NULL: every pair */
gboolean sv_separate_loss_forward (SvSeparateLoss *l, SvVar *fc, float margin, const float *held,
                                   float *value, GError **error);
gboolean sv_separate_loss_backward (SvSeparateLoss *l, SvVar *fc, float weight, GError **error);

gboolean sv_words_loss_plan (SvVarSet *as, SvWordsLoss *l, int B, int V, GError **error);
/* the targets from the B captions' token rows (ids, mask [B, L]) and the cut-and-paste
 * weights Wv [B, B] (NULL: each clip its own caption's): caption j's distinct tokens, each
 * with its share of word_weight [V] (NULL: equal shares); a caption whose tokens all weigh
 * 0 has no target (its row of the cross-entropy is 0) */
gboolean sv_words_loss_set_targets (SvWordsLoss *l, const int32_t *ids, const float *mask, int L,
                                    const float *Wv, const float *word_weight, GError **error);
/* fv [B, E]; weight [V, E], bias [V]: the word head; *value gets L_words */
gboolean sv_words_loss_forward (SvWordsLoss *l, SvVar *fv, SvVar *weight, SvVar *bias, float tau,
                                float *value, GError **error);
gboolean sv_words_loss_backward (SvWordsLoss *l, SvVar *fv, SvVar *weight, SvVar *bias, float tau,
                                 float loss_weight, GError **error);

/* STGT's cross-similarity alignment targets, combined with cut-and-paste.
 * W = max(S_v, 0) * max(S_t, 0) with S_v = fv fv^T and S_t = fc fc^T (the batch's
 * video-video and caption-caption cosines; fv, fc [B,E] unit rows); entries of W below
 * 0.05 are set to -100; Y = softmax(5 W) per row, then label smoothing 0.01
 * (Y = 0.99 Y + 0.01 / B).  Y replaces the identity of plain contrastive learning; with
 * cut-and-paste the identity's role is played by Wv, so the targets are
 *   Tv = Wv Y   (video i holds caption i's content with weight beta_i and caption p_i's
 *                with 1 - beta_i; each is spread over similar captions by Y),
 *   Tc = Y Wv^T (caption j, over videos),
 * which are Wv and Wv^T when Y is the identity, and Y when there is no cut-and-paste.
 * Targets carry no gradient (computed on the host in double precision). */
void sv_csal_targets (const float *fv, const float *fc, const float *Wv, int B, int E, float *Tv,
                      float *Tc);
/* sets l's targets to sv_csal_targets of the current fv, fc (after the encoders' forward) */
gboolean sv_csal_set_targets (SvContrastLoss *l, const SvVar *fv, const SvVar *fc, const float *Wv,
                              GError **error);

G_END_DECLS
