/* svilm-core: the scene head (see sv-scene-head.h). */
#include "sv-scene-head.h"

#include "sv-error.h"
#include "sv-ops.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    if (!(expr))                                                                                   \
      return FALSE;                                                                                \
  } while (0)

int
sv_scene_head_n_pairs (int Nt)
{
  return Nt * (Nt - 1) / 2;
}

int
sv_scene_head_pair_index (int Nt, int i, int k)
{
  /* pairs (0, *) first: i rows before row i hold (Nt - 1) + .. + (Nt - i) pairs */
  return i * (2 * Nt - i - 1) / 2 + (k - i - 1);
}

int
sv_scene_head_inputs (int Nt, int D, int n_cues)
{
  return 4 * D + sv_scene_head_n_pairs (Nt) + n_cues;
}

void
sv_scene_head_pair_input (const float *slices, int Nt, int D, int i, int k, const float *cues,
                          int n_cues, float *x)
{
  const float *a = slices + (size_t) i * D, *b = slices + (size_t) k * D;
  for (int d = 0; d < D; d++) {
    x[d] = a[d];
    x[D + d] = b[d];
    x[2 * D + d] = a[d] * b[d];
    x[3 * D + d] = fabsf (a[d] - b[d]);
  }
  float *onehot = x + 4 * D;
  memset (onehot, 0, sizeof (float) * sv_scene_head_n_pairs (Nt));
  onehot[sv_scene_head_pair_index (Nt, i, k)] = 1.0f;
  if (n_cues > 0)
    memcpy (onehot + sv_scene_head_n_pairs (Nt), cues, sizeof (float) * n_cues);
}

#define GRID 16 /* the pixel cues compare frames on a GRID x GRID thumbnail */
#define SHIFT 3 /* camera motion: thumbnails are compared at shifts of up to SHIFT cells */

/* the GRID x GRID x 3 thumbnail of a model frame [H, W, 3]: box means */
static void
thumbnail (const float *f, int H, int W, float *out)
{
  for (int gy = 0; gy < GRID; gy++)
    for (int gx = 0; gx < GRID; gx++) {
      int y0 = gy * H / GRID, y1 = MAX ((gy + 1) * H / GRID, y0 + 1);
      int x0 = gx * W / GRID, x1 = MAX ((gx + 1) * W / GRID, x0 + 1);
      float sum[3] = { 0 };
      for (int y = y0; y < MIN (y1, H); y++)
        for (int x = x0; x < MIN (x1, W); x++)
          for (int ch = 0; ch < 3; ch++)
            sum[ch] += f[((size_t) y * W + x) * 3 + ch];
      float n = (float) ((MIN (y1, H) - y0) * (MIN (x1, W) - x0));
      for (int ch = 0; ch < 3; ch++)
        out[(gy * GRID + gx) * 3 + ch] = n > 0 ? sum[ch] / n : 0.0f;
    }
}

/* mean |a - b| of two thumbnails with b moved by (dx, dy) cells, over their overlap */
static float
shifted_diff (const float *a, const float *b, int dx, int dy)
{
  float s = 0.0f;
  int n = 0;
  for (int y = MAX (0, -dy); y < MIN (GRID, GRID - dy); y++)
    for (int x = MAX (0, -dx); x < MIN (GRID, GRID - dx); x++) {
      const float *pa = a + (y * GRID + x) * 3, *pb = b + ((y + dy) * GRID + x + dx) * 3;
      s += fabsf (pa[0] - pb[0]) + fabsf (pa[1] - pb[1]) + fabsf (pa[2] - pb[2]);
      n += 3;
    }
  return n ? s / (float) n : 0.0f;
}

/* the thumbnails' difference after the best global shift: a pan or a shake moves the
 * whole picture, and a shot's next frame is the last one moved; a new scene matches at no
 * shift */
static float
aligned_diff (const float *a, const float *b)
{
  float best = shifted_diff (a, b, 0, 0);
  for (int dy = -SHIFT; dy <= SHIFT; dy++)
    for (int dx = -SHIFT; dx <= SHIFT; dx++)
      if (dx || dy)
        best = MIN (best, shifted_diff (a, b, dx, dy));
  return best;
}

#define HIST_BINS 4 /* per channel */
#define HIST_SIZE (HIST_BINS * HIST_BINS * HIST_BINS)

/* the normalised 4x4x4 colour histogram of a model frame */
static void
colour_histogram (const float *f, size_t pixels, float *hist)
{
  memset (hist, 0, sizeof (float) * HIST_SIZE);
  for (size_t p = 0; p < pixels; p++) {
    int bin = 0;
    for (int ch = 0; ch < 3; ch++) {
      /* back to [0, 1]: the frames are (v / 255 - 0.45) / 0.225 (sv-frames.h) */
      float v = f[p * 3 + ch] * 0.225f + 0.45f;
      int q = (int) (v * HIST_BINS);
      bin = bin * HIST_BINS + (q < 0 ? 0 : q >= HIST_BINS ? HIST_BINS - 1 : q);
    }
    hist[bin] += 1.0f;
  }
  for (int b = 0; b < HIST_SIZE; b++)
    hist[b] /= (float) (pixels ? pixels : 1);
}

static float
hist_distance (const float *a, const float *b)
{
  float s = 0.0f;
  for (int j = 0; j < HIST_SIZE; j++)
    s += fabsf (a[j] - b[j]);
  return 0.5f * s;
}

#define ORIENT 4 /* gradient orientations: horizontal, vertical and the two diagonals */

/* The texture of a frame, which thumbnails average away and colour histograms ignore
 * (stripes and checks of the same colours): its luminance gradients' orientations
 * (bins weighted by magnitude, normalised; uniform on a flat frame) and their mean
 * magnitude, out[ORIENT]. Translation does not change it, so pans leave it alone. */
static void
texture (const float *f, int H, int W, float *out)
{
  float bins[ORIENT] = { 0 }, total = 0.0f;
  for (int y = 1; y + 1 < H; y++)
    for (int x = 1; x + 1 < W; x++) {
      const float *l = f + ((size_t) y * W + x - 1) * 3, *r = l + 6;
      const float *u = f + ((size_t) (y - 1) * W + x) * 3, *d = f + ((size_t) (y + 1) * W + x) * 3;
      float gx = (r[0] + r[1] + r[2]) - (l[0] + l[1] + l[2]);
      float gy = (d[0] + d[1] + d[2]) - (u[0] + u[1] + u[2]);
      float ax = fabsf (gx), ay = fabsf (gy), m = ax + ay;
      /* tan(67.5 deg) = 2.414: within 22.5 deg of an axis, else a diagonal by sign; an
       * edge's gradient is across it, so a vertical stripe's is horizontal */
      int b = ax > 2.414f * ay ? 0 : ay > 2.414f * ax ? 1 : gx * gy > 0 ? 2 : 3;
      bins[b] += m;
      total += m;
    }
  for (int b = 0; b < ORIENT; b++)
    out[b] = total > 1e-3f ? bins[b] / total : 1.0f / ORIENT;
  out[ORIENT] = total / (float) ((H > 2 ? H - 2 : 1) * (W > 2 ? W - 2 : 1));
}

#define SUMMARY (HIST_SIZE + GRID * GRID * 3 + ORIENT + 1) /* histogram, thumbnail, texture */

size_t
sv_scene_head_window_cues_scratch (int Nt)
{
  return (size_t) Nt * (2 * SUMMARY + 2);
}

void
sv_scene_head_window_cues (const float *const *frames, int T, int H, int W, int Nt, float *scratch,
                           float *cues)
{
  int tt = T / Nt;
  size_t pixels = (size_t) H * W;
  /* the first and the last frame of each slice, summarised once: pairs share them */
  float *first = scratch, *last = scratch + (size_t) Nt * SUMMARY;
  float *within_diff = scratch + (size_t) 2 * Nt * SUMMARY, *within_hist = within_diff + Nt;
  const size_t tex = HIST_SIZE + GRID * GRID * 3; /* where a summary's texture starts */
  for (int s = 0; s < Nt; s++) {
    float *f = first + (size_t) s * SUMMARY, *l = last + (size_t) s * SUMMARY;
    gboolean need_f = s > 0;      /* the first frame of slice 0 never starts a pair's B */
    gboolean need_l = s + 1 < Nt; /* the last frame of the last slice never ends a pair's A */
    colour_histogram (frames[s * tt], pixels, f);
    thumbnail (frames[s * tt], H, W, f + HIST_SIZE);
    if (tt == 1) {
      /* a slice of one frame: its first frame is its last, summarised once */
      if (need_f || need_l)
        texture (frames[s * tt], H, W, f + tex);
      memcpy (l, f, (need_f || need_l ? SUMMARY : tex) * sizeof (float));
    } else {
      colour_histogram (frames[s * tt + tt - 1], pixels, l);
      thumbnail (frames[s * tt + tt - 1], H, W, l + HIST_SIZE);
      if (need_f)
        texture (frames[s * tt], H, W, f + tex);
      if (need_l)
        texture (frames[s * tt + tt - 1], H, W, l + tex);
    }
    within_diff[s] = aligned_diff (f + HIST_SIZE, l + HIST_SIZE);
    within_hist[s] = hist_distance (f, l);
  }
  for (int i = 0; i < Nt; i++)
    for (int k = i + 1; k < Nt; k++) {
      const float *a = last + (size_t) i * SUMMARY, *b = first + (size_t) k * SUMMARY;
      float *c = cues + (size_t) sv_scene_head_pair_index (Nt, i, k) * SV_SCENE_PIXEL_CUES;
      c[0] = aligned_diff (a + HIST_SIZE, b + HIST_SIZE);
      c[1] = hist_distance (a, b);
      c[2] = within_diff[i];
      c[3] = within_diff[k];
      c[4] = within_hist[i];
      c[5] = within_hist[k];
      const float *ta = a + HIST_SIZE + GRID * GRID * 3, *tb = b + HIST_SIZE + GRID * GRID * 3;
      float od = 0.0f;
      for (int o = 0; o < ORIENT; o++)
        od += fabsf (ta[o] - tb[o]);
      c[6] = 0.5f * od;
      c[7] = fabsf (logf ((ta[ORIENT] + 0.05f) / (tb[ORIENT] + 0.05f)));
    }
}

gboolean
sv_scene_head_params_plan (SvVarSet *ps, SvSceneHeadParams *p, const SvModelConfig *c,
                           GError **error)
{
  memset (p, 0, sizeof *p);
  if (c->scene_hidden <= 0)
    return TRUE;
  int H = c->scene_hidden,
      in = sv_scene_head_inputs (sv_model_config_grid_t (c), c->v_width, c->scene_cues);
  TRY (sv_var_plan (ps, &p->fc1_w, SV_INIT_LINEAR, SV_SHAPE (H, in), error, "scene.fc1.weight"));
  TRY (sv_var_plan (ps, &p->fc1_b, SV_INIT_ZERO, SV_SHAPE (H), error, "scene.fc1.bias"));
  TRY (sv_var_plan (ps, &p->fc2_w, SV_INIT_LINEAR, SV_SHAPE (2, H), error, "scene.fc2.weight"));
  return sv_var_plan (ps, &p->fc2_b, SV_INIT_ZERO, SV_SHAPE (2), error, "scene.fc2.bias");
}

gboolean
sv_scene_head_acts_plan (SvVarSet *as, SvSceneHeadActs *a, const SvModelConfig *c, int N,
                         GError **error)
{
  if (c->scene_hidden <= 0 || N <= 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "scene head: a pass needs a config with scene_hidden > 0 and N > 0");
    return FALSE;
  }
  a->N = N;
  a->hidden = c->scene_hidden;
  a->in = sv_scene_head_inputs (sv_model_config_grid_t (c), c->v_width, c->scene_cues);
  TRY (sv_arena_alloc (as->x, &a->x, SV_F32, SV_SHAPE (N, a->in), "scene.x", error));
  TRY (sv_arena_alloc (as->x, &a->targets, SV_F32, SV_SHAPE (N, 2), "scene.targets", error));
  TRY (sv_arena_alloc (as->x, &a->probs, SV_F32, SV_SHAPE (N, 2), "scene.probs", error));
  TRY (sv_var_plan (as, &a->h, SV_INIT_ZERO, SV_SHAPE (N, a->hidden), error, "scene.h"));
  TRY (sv_var_plan (as, &a->g, SV_INIT_ZERO, SV_SHAPE (N, a->hidden), error, "scene.g"));
  TRY (sv_var_plan (as, &a->logits, SV_INIT_ZERO, SV_SHAPE (N, 2), error, "scene.logits"));
  return sv_var_plan (as, &a->loss, SV_INIT_ZERO, SV_SHAPE (1), error, "scene.loss");
}

gboolean
sv_scene_head_forward (SvSceneHeadParams *p, SvSceneHeadActs *a, GError **error)
{
  /* h [N,H] = x W1^T + b1;  g = GELU(h);  logits [N,2] = g W2^T + b2 */
  TRY (sv_linear_forward (&a->h.x, &a->x, &p->fc1_w.x, &p->fc1_b.x, error));
  TRY (sv_gelu_forward (&a->g.x, &a->h.x, error));
  TRY (sv_linear_forward (&a->logits.x, &a->g.x, &p->fc2_w.x, &p->fc2_b.x, error));
  return sv_softmax_xent_forward (&a->loss.x, &a->probs, &a->logits.x, &a->targets, error);
}

gboolean
sv_scene_head_backward (SvSceneHeadParams *p, SvSceneHeadActs *a, GError **error)
{
  TRY (sv_tensor_zero (&a->h.d, error) && sv_tensor_zero (&a->g.d, error) &&
       sv_tensor_zero (&a->logits.d, error));
  float one = 1.0f;
  TRY (sv_tensor_upload (&a->loss.d, &one, sizeof one, error));
  TRY (sv_softmax_xent_backward (&a->logits.d, &a->loss.d, &a->probs, &a->targets, error));
  TRY (sv_linear_backward (&a->g.d, &p->fc2_w.d, &p->fc2_b.d, &a->logits.d, &a->g.x, &p->fc2_w.x,
                           error));
  TRY (sv_gelu_backward (&a->h.d, &a->g.d, &a->h.x, error));
  /* no gradient for the inputs: the features are frozen */
  return sv_linear_backward (NULL, &p->fc1_w.d, &p->fc1_b.d, &a->h.d, &a->x, &p->fc1_w.x, error);
}

gboolean
sv_scene_head_host_init (SvSceneHeadHost *h, const SvSceneHeadParams *p, int n_cues, GError **error)
{
  memset (h, 0, sizeof *h);
  if (!p->fc1_w.x.ndim) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "the model has no scene head");
    return FALSE;
  }
  h->hidden = (int) p->fc1_w.x.shape[0];
  h->in = (int) p->fc1_w.x.shape[1];
  h->n_cues = n_cues;
  size_t n1 = (size_t) h->hidden * h->in, H = (size_t) h->hidden;
  h->w1 = g_new (float, n1 + H + 2 * H + 2);
  h->b1 = h->w1 + n1;
  h->w2 = h->b1 + H;
  h->b2 = h->w2 + 2 * H;
  if (!sv_tensor_download (&p->fc1_w.x, h->w1, n1 * sizeof (float), error) ||
      !sv_tensor_download (&p->fc1_b.x, h->b1, H * sizeof (float), error) ||
      !sv_tensor_download (&p->fc2_w.x, h->w2, 2 * H * sizeof (float), error) ||
      !sv_tensor_download (&p->fc2_b.x, h->b2, 2 * sizeof (float), error)) {
    sv_scene_head_host_clear (h);
    return FALSE;
  }
  return TRUE;
}

void
sv_scene_head_host_clear (SvSceneHeadHost *h)
{
  g_free (h->w1);
  memset (h, 0, sizeof *h);
}

size_t
sv_scene_head_host_scratch (const SvSceneHeadHost *h)
{
  return (size_t) h->in + (size_t) h->hidden;
}

float
sv_scene_head_host_pair (const SvSceneHeadHost *h, const float *slices, int Nt, int D, int i, int k,
                         const float *cues, float *scratch)
{
  g_return_val_if_fail (sv_scene_head_inputs (Nt, D, h->n_cues) == h->in, 0.0f);
  float *x = scratch, *hid = scratch + h->in;
  sv_scene_head_pair_input (slices, Nt, D, i, k, cues, h->n_cues, x);
  /* hid [H] = W1 x + b1, on this thread: a threaded sgemv of this size (6 a window)
   * costs more in waking the other threads than its 70k multiply-adds */
  for (int j = 0; j < h->hidden; j++) {
    const float *w = h->w1 + (size_t) j * h->in;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int c = 0; c < h->in; c++)
      s += w[c] * x[c];
    hid[j] = h->b1[j] + s;
  }
  double l0 = h->b2[0], l1 = h->b2[1];
  for (int j = 0; j < h->hidden; j++) {
    double g = 0.5 * hid[j] * (1.0 + erf (hid[j] * M_SQRT1_2));
    l0 += g * h->w2[j];
    l1 += g * h->w2[h->hidden + j];
  }
  /* softmax(l0, l1)[1] */
  return (float) (1.0 / (1.0 + exp (l0 - l1)));
}
