/* svilm-core: turning decoded video frames into model input.
 *
 * Frames are packed RGB (3 bytes per pixel, any size, rows `stride` bytes
 * apart).  A clip of T model frames samples the given frames uniformly in time
 * (the centre of each of T equal segments), resizes each by area averaging
 * (box filter: no aliasing when shrinking 640x480 to 64x64; bilinear when
 * enlarging) and normalises channels with the VideoMAE/Kinetics statistics
 * mean 0.45, std 0.225: x = (v / 255 - 0.45) / 0.225.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SV_PIXEL_MEAN 0.45f
#define SV_PIXEL_STD 0.225f

/* out: [T, H, W, 3] floats.  Returns FALSE for empty or inconsistent input. */
gboolean sv_frames_to_clip (const uint8_t *const *frames, int n_frames, int width, int height,
                            int stride, int T, int H, int W, float *out, GError **error);

/* One frame resized and normalised into out [H, W, 3]. */
void sv_frame_resize_normalize (const uint8_t *rgb, int width, int height, int stride, int H, int W,
                                float *out);

/* Any 8-bit packed RGB layout: pixel_stride bytes a pixel (3 or 4), with the red, green
 * and blue bytes at the given offsets (RGBx: 4, 0, 1, 2; BGRx: 4, 2, 1, 0). */
void sv_frame_resize_normalize_packed (const uint8_t *px, int width, int height, int stride,
                                       int pixel_stride, int r_off, int g_off, int b_off, int H,
                                       int W, float *out);

G_END_DECLS
