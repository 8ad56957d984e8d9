/* Frames to model input (svilm-core/sv-frames.c): the resize of every packed layout
 * against a naive double-precision box filter (shrinking) and bilinear sampling
 * (enlarging), per pixel, over sizes that divide and that do not; the temporal
 * sampling of sv_frames_to_clip and its refusals. */
#include "sv-frames.h"
#include "sv-test.h"

#include <math.h>
#include <string.h>

/* source interval [a, b) of output cell i */
static void
cell (int i, int n_out, int n_in, double *a, double *b)
{
  *a = (double) i * n_in / n_out;
  *b = (double) (i + 1) * n_in / n_out;
}

/* the value of channel c of output pixel (x, y), in bytes (0..255), the slow way */
static double
naive_pixel (const uint8_t *px, int width, int height, int stride, int ps, int off, int H, int W,
             int x, int y)
{
  double ya, yb, xa, xb;
  cell (y, H, height, &ya, &yb);
  cell (x, W, width, &xa, &xb);
  if (height < H || width < W) {
    double cy = CLAMP ((ya + yb) / 2 - 0.5, 0.0, height - 1.0);
    double cx = CLAMP ((xa + xb) / 2 - 0.5, 0.0, width - 1.0);
    int y0 = (int) floor (cy), x0 = (int) floor (cx);
    int y1 = MIN (y0 + 1, height - 1), x1 = MIN (x0 + 1, width - 1);
    double fy = cy - y0, fx = cx - x0;
#define P(yy, xx) ((double) px[(size_t) (yy) *stride + (xx) *ps + off])
    return (1 - fy) * ((1 - fx) * P (y0, x0) + fx * P (y0, x1)) +
           fy * ((1 - fx) * P (y1, x0) + fx * P (y1, x1));
#undef P
  }
  double sum = 0.0, wsum = 0.0;
  for (int sy = (int) floor (ya); sy < MIN ((int) ceil (yb), height); sy++)
    for (int sx = (int) floor (xa); sx < MIN ((int) ceil (xb), width); sx++) {
      double wy = MAX (0.0, MIN (sy + 1.0, yb) - MAX ((double) sy, ya));
      double wx = MAX (0.0, MIN (sx + 1.0, xb) - MAX ((double) sx, xa));
      sum += wy * wx * px[(size_t) sy * stride + sx * ps + off];
      wsum += wy * wx;
    }
  return sum / wsum;
}

static void
check_resize (int width, int height, int ps, int r, int g, int b, int H, int W)
{
  SvRng rng;
  sv_rng_seed (&rng, (guint64) width * 1000 + height);
  int stride = width * ps + 7; /* rows with padding */
  uint8_t *px = g_new (uint8_t, (size_t) stride * height);
  for (size_t i = 0; i < (size_t) stride * height; i++)
    px[i] = (uint8_t) (sv_rng_uniform (&rng) * 256.0f);
  float *out = g_new (float, (size_t) H *W * 3);
  sv_frame_resize_normalize_packed (px, width, height, stride, ps, r, g, b, H, W, out);
  const int off[3] = { r, g, b };
  double worst = 0.0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int c = 0; c < 3; c++) {
        double v = naive_pixel (px, width, height, stride, ps, off[c], H, W, x, y);
        double want = (v / 255.0 - SV_PIXEL_MEAN) / SV_PIXEL_STD;
        worst = MAX (worst, fabs (out[((size_t) y * W + x) * 3 + c] - want));
      }
  g_test_message ("%dx%d (%d bytes a pixel) -> %dx%d: largest difference %.2g", width, height, ps,
                  W, H, worst);
  /* one grey level is 1 / (255 * 0.225) = 0.017: float rounding is far below */
  g_assert_cmpfloat (worst, <, 2e-5);
  g_free (px);
  g_free (out);
}

static void
test_resize_shrink (void)
{
  check_resize (640, 480, 4, 2, 1, 0, 64, 64); /* BGRx, the elements' usual input */
  check_resize (640, 480, 3, 0, 1, 2, 64, 64); /* RGB, training's decoder */
  check_resize (321, 243, 4, 0, 1, 2, 64, 64); /* RGBx, cells that do not divide */
  check_resize (100, 64, 3, 0, 1, 2, 64, 64);  /* one axis the same size */
  check_resize (64, 64, 3, 0, 1, 2, 64, 64);   /* the identity */
  check_resize (1000, 66, 4, 2, 1, 0, 112, 65);
  check_resize (5, 40000, 3, 0, 1, 2, 64, 5); /* 625 whole rows a cell: several 16-bit sums */
}

static void
test_resize_enlarge (void)
{
  check_resize (32, 24, 3, 0, 1, 2, 64, 64);
  check_resize (100, 32, 4, 2, 1, 0, 64, 64); /* shrinks one axis, enlarges the other */
  check_resize (1, 1, 3, 0, 1, 2, 8, 8);
}

/* T frames from the centre of each of T equal segments; short inputs repeat frames */
static void
test_frames_to_clip (void)
{
  enum { N = 5, T = 8, S = 4 };
  uint8_t *frames[N];
  for (int i = 0; i < N; i++) {
    frames[i] = g_new (uint8_t, S * S * 3);
    memset (frames[i], 40 * i, S * S * 3);
  }
  float *out = g_new (float, (size_t) T *S *S * 3);
  GError *error = NULL;
  g_assert_true (
      sv_frames_to_clip ((const uint8_t *const *) frames, N, S, S, S * 3, T, S, S, out, &error));
  g_assert_no_error (error);
  for (int t = 0; t < T; t++) {
    int src = (int) ((t + 0.5) * N / T);
    float want = (40.0f * src / 255.0f - SV_PIXEL_MEAN) / SV_PIXEL_STD;
    g_assert_cmpfloat (fabsf (out[(size_t) t * S * S * 3] - want), <, 1e-5f);
  }
  g_assert_false (
      sv_frames_to_clip ((const uint8_t *const *) frames, 0, S, S, S * 3, T, S, S, out, &error));
  g_assert_error (error, SV_ERROR, SV_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sv_frames_to_clip ((const uint8_t *const *) frames, N, S, S, S * 3 - 1, T, S, S,
                                     out, &error));
  g_assert_error (error, SV_ERROR, SV_ERROR_ARGUMENT);
  g_clear_error (&error);
  for (int i = 0; i < N; i++)
    g_free (frames[i]);
  g_free (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/frames/resize-shrink", test_resize_shrink);
  g_test_add_func ("/frames/resize-enlarge", test_resize_enlarge);
  g_test_add_func ("/frames/to-clip", test_frames_to_clip);
  return g_test_run ();
}
