/* svilm-core: frames to model input (temporal sampling, area resize, normalise). */
#include "sv-frames.h"

#include "sv-error.h"

#include <math.h>

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

void
sv_frame_resize_normalize_packed (const uint8_t *rgb, int width, int height, int stride, int ps,
                                  int r_off, int g_off, int b_off, int H, int W, float *out)
{
  const int off[3] = { r_off, g_off, b_off };
  const float scale = 1.0f / (255.0f * SV_PIXEL_STD), shift = SV_PIXEL_MEAN / SV_PIXEL_STD;
  for (int y = 0; y < H; y++) {
    double ya, yb;
    cell (y, H, height, &ya, &yb);
    gboolean up_y = height < H;
    for (int x = 0; x < W; x++) {
      double xa, xb, acc[3] = { 0, 0, 0 }, wsum = 0.0;
      cell (x, W, width, &xa, &xb);
      if (up_y || width < W) {
        /* enlarging: bilinear at the cell centre (half-pixel convention) */
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
        wsum = 1.0;
      } else {
        /* shrinking: average over the covered source area */
        for (int sy = (int) floor (ya); sy < (int) ceil (yb) && sy < height; sy++) {
          double wy = overlap (sy, ya, yb);
          const uint8_t *row = rgb + (size_t) sy * stride;
          for (int sx = (int) floor (xa); sx < (int) ceil (xb) && sx < width; sx++) {
            double w = wy * overlap (sx, xa, xb);
            acc[0] += w * row[sx * ps + off[0]];
            acc[1] += w * row[sx * ps + off[1]];
            acc[2] += w * row[sx * ps + off[2]];
            wsum += w;
          }
        }
      }
      for (int c = 0; c < 3; c++)
        out[((size_t) y * W + x) * 3 + c] = (float) (acc[c] / wsum) * scale - shift;
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
