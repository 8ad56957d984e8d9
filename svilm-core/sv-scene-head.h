/* svilm-core: the scene head, a learned "do these two slices show different scenes?".
 *
 * The video encoder gives one unit-length temporal feature per token slice of a clip
 * (final tokens averaged over space, what temporal grouping trains).  Without a head,
 * scene cuts score 1 - cos of two slices.  The head replaces that distance with a
 * probability: for slices i < k of a clip with Nt slices
 *
 *   x   = [a, b, a * b, |a - b|, onehot(pair (i, k))]     a, b the features [D]
 *   h   = GELU(W1 x + b1)                                  [H]
 *   p   = softmax(W2 h + b2)[1]                            "a scene change lies between"
 *
 * With the config's scene_cues (SV_SCENE_PIXEL_CUES) x also holds eight pixel cues of the
 * pair (sv_scene_head_window_cues), after the one-hot: how much the last frame of slice i
 * and the first frame of slice k differ, in motion-aligned thumbnails, in colour histogram
 * and in texture, next to how much each slice changes within itself.  A colour-histogram
 * comparison beside the learned features is what TransNet V2 adds to its convolutions;
 * here the cues give the head the hard cuts that the temporal features hardly see (two
 * scenes on the same background).
 *
 * The one-hot of the pair (Nt (Nt - 1) / 2 of them, in the order (0,1), (0,2), ..,
 * (1,2), ..) lets the head learn the position bias of the learned temporal embeddings,
 * which 1 - cos cannot remove.  Adjacent pairs score the boundary between them; pairs
 * further apart are what the flash filter reads (a flash leaves the slices before and
 * after it in one scene).  svilm-train scenehead trains the head on frozen features from
 * a corpus with known transitions (docs/training.md); it is stored in the model as
 * "scene.fc1.weight" [H, In], "scene.fc1.bias" [H], "scene.fc2.weight" [2, H],
 * "scene.fc2.bias" [2] with the config's scene_hidden = H.
 */
#pragma once

#include "sv-model-config.h"
#include "sv-var.h"

G_BEGIN_DECLS

typedef struct {
  SvVar fc1_w, fc1_b, fc2_w, fc2_b;
} SvSceneHeadParams;

/* Nt (Nt - 1) / 2 */
int sv_scene_head_n_pairs (int Nt);
/* the index of pair (i, k), 0 <= i < k < Nt, in the one-hot */
int sv_scene_head_pair_index (int Nt, int i, int k);
/* the head's input size for Nt slices of D with n_cues pixel cues: 4 D + pairs + n_cues */
int sv_scene_head_inputs (int Nt, int D, int n_cues);
/* writes the input of pair (i, k) of slices [Nt, D] and its cues [n_cues] (NULL when
 * n_cues is 0) into x [sv_scene_head_inputs] */
void sv_scene_head_pair_input (const float *slices, int Nt, int D, int i, int k, const float *cues,
                               int n_cues, float *x);
/* The SV_SCENE_PIXEL_CUES cues of every pair (i, k) of a clip's T model frames (the
 * encoder's input: [H, W, 3] floats each, sv-frames.h), Nt slices of T / Nt frames, into
 * cues [pairs, SV_SCENE_PIXEL_CUES] in pair order.  With A0, A the first and last frame of
 * slice i and B, B1 the first and last of slice k, a pair's cues are
 *   diff(A, B), hist(A, B), diff(A0, A), diff(B, B1), hist(A0, A), hist(B, B1),
 *   orient(A, B), |log energy(A) / energy(B)|
 * where diff is the mean absolute difference (in the frames' normalised units) of 16x16
 * thumbnails at the best global shift of up to 3 cells (so that a pan or a shaking camera
 * does not look like a new scene), hist half the L1 distance of 4x4x4-bin colour
 * histograms (0: same colours, 1: none shared), orient half the L1 distance of the
 * luminance gradients' orientation histograms (4 bins, weighted by magnitude: stripes and
 * checks of the same colours differ there, and a pan does not change it) and energy the
 * mean gradient magnitude (+0.05).  scratch: floats of
 * sv_scene_head_window_cues_scratch (Nt). */
size_t sv_scene_head_window_cues_scratch (int Nt);
void sv_scene_head_window_cues (const float *const *frames, int T, int H, int W, int Nt,
                                float *scratch, float *cues);

/* plans the head's parameters in ps (nothing when c->scene_hidden is 0) */
gboolean sv_scene_head_params_plan (SvVarSet *ps, SvSceneHeadParams *p, const SvModelConfig *c,
                                    GError **error);

/* A training pass over N pairs at a time. */
typedef struct {
  int N, in, hidden;
  SvTensor x;       /* [N, in] inputs */
  SvTensor targets; /* [N, 2]: (1 - y, y) */
  SvTensor probs;   /* [N, 2] */
  SvVar h, g, logits, loss;
} SvSceneHeadActs;

gboolean sv_scene_head_acts_plan (SvVarSet *as, SvSceneHeadActs *a, const SvModelConfig *c, int N,
                                  GError **error);
/* x, targets uploaded by the caller; a->probs and a->loss.x get the results */
gboolean sv_scene_head_forward (SvSceneHeadParams *p, SvSceneHeadActs *a, GError **error);
/* zeroes the activation gradients, then accumulates into the parameters' gradients */
gboolean sv_scene_head_backward (SvSceneHeadParams *p, SvSceneHeadActs *a, GError **error);

/* The head on the host, for inference on a few pairs a clip (weights copied once). */
typedef struct {
  int in, hidden, n_cues;
  float *w1, *b1, *w2, *b2; /* one allocation, at w1; read-only once set up */
} SvSceneHeadHost;

gboolean sv_scene_head_host_init (SvSceneHeadHost *h, const SvSceneHeadParams *p, int n_cues,
                                  GError **error);
void sv_scene_head_host_clear (SvSceneHeadHost *h);
/* floats of scratch that sv_scene_head_host_pair needs (in + hidden) */
size_t sv_scene_head_host_scratch (const SvSceneHeadHost *h);
/* p(a scene change lies between slices i < k) for slices [Nt, D] and the pair's cues
 * [h->n_cues] (NULL when none); safe to call from several threads, each with its own
 * scratch */
float sv_scene_head_host_pair (const SvSceneHeadHost *h, const float *slices, int Nt, int D, int i,
                               int k, const float *cues, float *scratch);

G_END_DECLS
