/* svilm-core: frames to model input (temporal sampling, area resize, normalise). */
#include "sv-frames.h"

#include "sv-error.h"

#include <math.h>
#include <string.h>

/* Source interval [a, b) of output cell i when n_out cells cover n_in pixels. */
static void
cell (int i, int n_out, int n_in, double *a, double *b)
{
  *a = (double) i * n_in / n_out;
  *b = (double) (i + 1) * n_in / n_out;
}

/* Weight of source pixel p (covering [p, p+1)) inside [a, b). */
static double
overlap (int p, double a, double b)
{
  double lo = MAX ((double) p, a), hi = MIN ((double) p + 1.0, b);
  return hi > lo ? hi - lo : 0.0;
}

void
sv_frame_resize_normalize (const uint8_t *rgb, int width, int height, int stride, int H, int W,
                           float *out)
{
  sv_frame_resize_normalize_packed (rgb, width, height, stride, 3, 0, 1, 2, H, W, out);
}

/* The area weights of one axis: output cell i covers source pixels first[i] ..
 * first[i] + taps - 1 with weights w[i * taps ..], normalised to sum 1 (zeros pad
 * cells that cover fewer pixels).  Shrinking only (n_in >= n_out). */
typedef struct {
  int taps;
  int *first;
  float *w;
} AxisTaps;

static void
axis_taps_init (AxisTaps *t, int n_out, int n_in)
{
  t->taps = (n_in + n_out - 1) / n_out + 1;
  t->first = g_new (int, n_out);
  t->w = g_new0 (float, (size_t) n_out * t->taps);
  for (int i = 0; i < n_out; i++) {
    double a, b, sum = 0.0;
    cell (i, n_out, n_in, &a, &b);
    int s0 = (int) floor (a), s1 = MIN ((int) ceil (b), n_in);
    t->first[i] = s0;
    for (int s = s0; s < s1; s++)
      sum += overlap (s, a, b);
    for (int s = s0; s < s1; s++)
      t->w[(size_t) i * t->taps + (s - s0)] = (float) (overlap (s, a, b) / sum);
  }
}

static void
axis_taps_clear (AxisTaps *t)
{
  g_free (t->first);
  g_free (t->w);
}

/* Shrinking both axes: a box filter, separable.  Each output row first sums its source
 * rows, weighted, over the whole row of bytes (every channel and padding byte alike: a
 * contiguous loop the compiler vectorises), then each output pixel sums its columns of
 * that.  A 640x480 frame to 64x64: about 1.5 M multiply-adds a frame.
 *
 * The rows a cell covers whole all have the same weight (1 / 7.5 from 480 to 64), so
 * they are summed exactly as 16-bit integers (8 or 16 bytes an instruction, no
 * conversion) and scaled once; only the two rows the cell's edges cut get a float
 * multiply-add each.  From 640x480 this halved the resize (0.51 -> 0.24 ms a frame here),
 * which runs on the streaming thread for every frame of svilmscenecut. */
#define MAX_U16_ROWS 257 /* 257 * 255 < 65536 */

static void
shrink_normalize (const uint8_t *px, int width, int height, int stride, int ps, const int off[3],
                  int H, int W, float *out)
{
  const float scale = 1.0f / (255.0f * SV_PIXEL_STD), shift = SV_PIXEL_MEAN / SV_PIXEL_STD;
  AxisTaps ty, tx;
  axis_taps_init (&ty, H, height);
  axis_taps_init (&tx, W, width);
  int row_bytes = width * ps;
  float *acc = g_new (float, row_bytes);
  uint16_t *whole = g_new (uint16_t, row_bytes);
  for (int y = 0; y < H; y++) {
    const float *wy = ty.w + (size_t) y * ty.taps;
    int taps = MIN (ty.taps, height - ty.first[y]);
    float wfull = 0.0f;
    for (int k = 0; k < taps; k++)
      wfull = MAX (wfull, wy[k]);
    // acc[row_bytes] = wfull * sum of the whole rows, in batches of MAX_U16_ROWS
    gboolean acc_set = FALSE;
    for (int k = 0; k < taps;) {
      int n = 0;
      memset (whole, 0, (size_t) row_bytes * sizeof (uint16_t));
      for (; k < taps && n < MAX_U16_ROWS; k++) {
        if (wy[k] != wfull)
          continue;
        const uint8_t *row = px + (size_t) (ty.first[y] + k) * stride;
#pragma omp simd
        for (int i = 0; i < row_bytes; i++)
          whole[i] = (uint16_t) (whole[i] + row[i]);
        n++;
      }
      if (acc_set) {
#pragma omp simd
        for (int i = 0; i < row_bytes; i++)
          acc[i] += wfull * (float) whole[i];
      } else {
#pragma omp simd
        for (int i = 0; i < row_bytes; i++)
          acc[i] = wfull * (float) whole[i];
        acc_set = TRUE;
      }
    }
    // + the rows the cell's edges cut, each with its own weight
    for (int k = 0; k < taps; k++) {
      const uint8_t *row = px + (size_t) (ty.first[y] + k) * stride;
      float w = wy[k];
      if (w == wfull || w == 0.0f)
        continue;
#pragma omp simd
      for (int i = 0; i < row_bytes; i++)
        acc[i] += w * (float) row[i];
    }
    for (int x = 0; x < W; x++) {
      const float *wx = tx.w + (size_t) x * tx.taps;
      float sum[3] = { 0.0f, 0.0f, 0.0f };
      for (int k = 0; k < tx.taps && tx.first[x] + k < width; k++) {
        const float *p = acc + (size_t) (tx.first[x] + k) * ps;
        sum[0] += wx[k] * p[off[0]];
        sum[1] += wx[k] * p[off[1]];
        sum[2] += wx[k] * p[off[2]];
      }
      for (int c = 0; c < 3; c++)
        out[((size_t) y * W + x) * 3 + c] = sum[c] * scale - shift;
    }
  }
  g_free (whole);
  g_free (acc);
  axis_taps_clear (&ty);
  axis_taps_clear (&tx);
}

void
sv_frame_resize_normalize_packed (const uint8_t *rgb, int width, int height, int stride, int ps,
                                  int r_off, int g_off, int b_off, int H, int W, float *out)
{
  const int off[3] = { r_off, g_off, b_off };
  if (height >= H && width >= W) {
    shrink_normalize (rgb, width, height, stride, ps, off, H, W, out);
    return;
  }
  /* enlarging (either axis): bilinear at the cell centre (half-pixel convention) */
  const float scale = 1.0f / (255.0f * SV_PIXEL_STD), shift = SV_PIXEL_MEAN / SV_PIXEL_STD;
  for (int y = 0; y < H; y++) {
    double ya, yb;
    cell (y, H, height, &ya, &yb);
    for (int x = 0; x < W; x++) {
      double xa, xb, acc[3];
      cell (x, W, width, &xa, &xb);
      double cy = CLAMP ((ya + yb) / 2 - 0.5, 0.0, height - 1.0);
      double cx = CLAMP ((xa + xb) / 2 - 0.5, 0.0, width - 1.0);
      int y0 = (int) floor (cy), x0 = (int) floor (cx);
      int y1 = MIN (y0 + 1, height - 1), x1 = MIN (x0 + 1, width - 1);
      double fy = cy - y0, fx = cx - x0;
      for (int c = 0; c < 3; c++) {
        double v00 = rgb[(size_t) y0 * stride + x0 * ps + off[c]];
        double v01 = rgb[(size_t) y0 * stride + x1 * ps + off[c]];
        double v10 = rgb[(size_t) y1 * stride + x0 * ps + off[c]];
        double v11 = rgb[(size_t) y1 * stride + x1 * ps + off[c]];
        acc[c] = (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11);
      }
      for (int c = 0; c < 3; c++)
        out[((size_t) y * W + x) * 3 + c] = (float) acc[c] * scale - shift;
    }
  }
}

gboolean
sv_frames_to_clip (const uint8_t *const *frames, int n_frames, int width, int height, int stride,
                   int T, int H, int W, float *out, GError **error)
{
  if (n_frames <= 0 || width <= 0 || height <= 0 || stride < width * 3 || T <= 0 || H <= 0 ||
      W <= 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "cannot make a clip from %d frames of %dx%d (stride %d)", n_frames, width, height,
                 stride);
    return FALSE;
  }
#pragma omp parallel for schedule(static)
  for (int t = 0; t < T; t++) {
    /* centre of the t-th of T equal segments; short inputs repeat frames */
    int src = (int) (((double) t + 0.5) * n_frames / T);
    src = CLAMP (src, 0, n_frames - 1);
    sv_frame_resize_normalize (frames[src], width, height, stride, H, W,
                               out + (size_t) t * H * W * 3);
  }
  return TRUE;
}
