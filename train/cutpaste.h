/* svilm-train: cut-and-paste of a pre-training batch (S-ViLM Sec. 3.2, method.md section 3).
 *
 * Every video v_i of a batch of B gets a background video v_{p_i} from the same batch, with
 * p a uniformly random derangement (p_i != i; a permutation, so every video is the
 * background of exactly one other).  Both are split into Nt clips (one clip = one token
 * slice = tubelet_t frames).  The foreground duration d is uniform in [floor(Nt/2), Nt)
 * (at least 1), the start s uniform in [0, Nt - d); the blended video takes clips
 * s..s+d-1 from v_i and the others from v_{p_i}.  fg[i][j] = 1 for j in [s, s+d),
 * beta_i = d / Nt, W^v[i][i] = beta_i, W^v[i][p_i] = 1 - beta_i (W^c = W^v^T is formed by
 * the model).
 */
#pragma once

#include "sv-rng.h"

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  int B, Nt;
  uint32_t *p; /* [B] background video of i */
  int *s, *d;  /* [B] foreground start clip and duration */
  float *fg;   /* [B, Nt] 1 = foreground clip */
  float *Wv;   /* [B, B] */
  gboolean off; /* ablation without cut-and-paste: p_i = i, all clips foreground, W^v = I */
} SvCutPaste;

/* B >= 2, Nt >= 2 */
SvCutPaste *sv_cutpaste_new (int B, int Nt);
void sv_cutpaste_free (SvCutPaste *cp);

/* a uniformly random derangement of 0..n-1 (n >= 2), by rejection */
void sv_derangement (SvRng *rng, uint32_t *p, int n);

/* Draws p, s, d from rng (in that order) and fills fg and Wv.  With `off` set the same
 * numbers are drawn (the RNG stream does not depend on it) and the plan keeps every video
 * whole: p_i = i, s = 0, d = Nt. */
void sv_cutpaste_sample (SvCutPaste *cp, SvRng *rng);

/* Blends clips [B, T, frame_numel] into out (same shape; not aliased) by the current plan:
 * frames [s*clip_frames, (s+d)*clip_frames) of video i from clips[i], the rest from
 * clips[p_i].  T = Nt * clip_frames. */
void sv_cutpaste_apply (const SvCutPaste *cp, const float *clips, float *out, int clip_frames,
                        size_t frame_numel);

G_END_DECLS
