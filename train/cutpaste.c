/* svilm-train: cut-and-paste of a pre-training batch. */
#include "cutpaste.h"

#include <string.h>

SvCutPaste *
sv_cutpaste_new (int B, int Nt)
{
  g_return_val_if_fail (B >= 2 && Nt >= 2, NULL);
  SvCutPaste *cp = g_new0 (SvCutPaste, 1);
  cp->B = B;
  cp->Nt = Nt;
  cp->p = g_new0 (uint32_t, B);
  cp->s = g_new0 (int, B);
  cp->d = g_new0 (int, B);
  cp->fg = g_new0 (float, (size_t) B *Nt);
  cp->Wv = g_new0 (float, (size_t) B *B);
  return cp;
}

void
sv_cutpaste_free (SvCutPaste *cp)
{
  if (!cp)
    return;
  g_free (cp->p);
  g_free (cp->s);
  g_free (cp->d);
  g_free (cp->fg);
  g_free (cp->Wv);
  g_free (cp);
}

void
sv_derangement (SvRng *rng, uint32_t *p, int n)
{
  g_return_if_fail (n >= 2);
  /* rejection: a shuffle is a derangement with probability ~1/e, so ~2.7 draws on average,
   * and every derangement is equally likely */
  for (;;) {
    for (int i = 0; i < n; i++)
      p[i] = (uint32_t) i;
    sv_rng_shuffle (rng, p, (size_t) n);
    gboolean fixed = FALSE;
    for (int i = 0; i < n && !fixed; i++)
      fixed = p[i] == (uint32_t) i;
    if (!fixed)
      return;
  }
}

void
sv_cutpaste_sample (SvCutPaste *cp, SvRng *rng)
{
  int B = cp->B, Nt = cp->Nt;
  sv_derangement (rng, cp->p, B);
  int dmin = MAX (Nt / 2, 1);
  for (int i = 0; i < B; i++) {
    int d = dmin + (int) sv_rng_below (rng, (uint32_t) (Nt - dmin)); /* [dmin, Nt) */
    int s = (int) sv_rng_below (rng, (uint32_t) (Nt - d));           /* [0, Nt - d) */
    cp->d[i] = cp->off ? Nt : d;
    cp->s[i] = cp->off ? 0 : s;
    if (cp->off)
      cp->p[i] = (uint32_t) i;
  }
  memset (cp->fg, 0, sizeof (float) * (size_t) B * Nt);
  memset (cp->Wv, 0, sizeof (float) * (size_t) B * B);
  for (int i = 0; i < B; i++) {
    for (int j = cp->s[i]; j < cp->s[i] + cp->d[i]; j++)
      cp->fg[(size_t) i * Nt + j] = 1.0f;
    float beta = (float) cp->d[i] / (float) Nt;
    cp->Wv[(size_t) i * B + cp->p[i]] = 1.0f - beta;
    cp->Wv[(size_t) i * B + i] += beta; /* p_i = i when off: W^v = I */
  }
}

void
sv_cutpaste_apply (const SvCutPaste *cp, const float *clips, float *out, int clip_frames,
                   size_t frame_numel)
{
  size_t clip_numel = (size_t) clip_frames * frame_numel;
  size_t video_numel = (size_t) cp->Nt * clip_numel;
  for (int i = 0; i < cp->B; i++)
    for (int j = 0; j < cp->Nt; j++) {
      gboolean fg = cp->fg[(size_t) i * cp->Nt + j] != 0.0f;
      const float *src = clips + (fg ? (size_t) i : cp->p[i]) * video_numel + j * clip_numel;
      memcpy (out + (size_t) i * video_numel + j * clip_numel, src, clip_numel * sizeof (float));
    }
}
