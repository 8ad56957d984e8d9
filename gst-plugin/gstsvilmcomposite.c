/* svilm: an ARGB overlay composited OVER packed RGB video frames (gstsvilmcomposite.h). */
#include "gstsvilmcomposite.h"

#include <string.h>

/* Lays the overlay out in the byte order of a packed format cairo cannot draw on: for
 * every byte of a frame row, the value to add (the premultiplied colour, or the alpha)
 * and the factor / 255 to scale the frame's byte by (255 - alpha; 255 on padding bytes,
 * which stay as they are).  Blending is then one contiguous loop over bytes. */
static gboolean
pack_overlay (GstSvilmComposite *c, cairo_surface_t *overlay, const GstVideoFormatInfo *f)
{
  int width = cairo_image_surface_get_width (overlay);
  int height = cairo_image_surface_get_height (overlay);
  if (c->packed_add && c->packed_current && c->packed_format == GST_VIDEO_FORMAT_INFO_FORMAT (f))
    return TRUE;
  int ps = GST_VIDEO_FORMAT_INFO_PSTRIDE (f, GST_VIDEO_COMP_R);
  int off[4] = { GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_R),
                 GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_G),
                 GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_B),
                 GST_VIDEO_FORMAT_INFO_HAS_ALPHA (f)
                     ? (int) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_A)
                     : -1 };
  gsize n = (gsize) width * height * ps;
  g_free (c->packed_add);
  c->packed_add = g_try_malloc (2 * n);
  if (!c->packed_add)
    return FALSE;
  guint8 *add = c->packed_add, *scale = add + n;
  memset (add, 0, n);
  memset (scale, 255, n);
  const guint8 *src = cairo_image_surface_get_data (overlay);
  int sstride = cairo_image_surface_get_stride (overlay);
  for (int y = 0; y < height; y++) {
    const guint32 *s = (const guint32 *) (src + (gsize) y * sstride);
    for (int x = 0; x < width; x++) {
      gsize k = ((gsize) y * width + x) * ps;
      guint32 px = s[x];
      guint8 value[4] = { px >> 16 & 0xff, px >> 8 & 0xff, px & 0xff, px >> 24 };
      for (int ch = 0; ch < 4; ch++)
        if (off[ch] >= 0) {
          add[k + off[ch]] = value[ch];
          scale[k + off[ch]] = (guint8) (255 - (px >> 24));
        }
    }
  }
  c->packed_row = (gsize) width * ps;
  c->packed_current = TRUE;
  c->packed_format = GST_VIDEO_FORMAT_INFO_FORMAT (f);
  return TRUE;
}

/* out = add + d x scale / 255 for every byte of the rows.  The division is rounded as
 * (t + (t >> 8)) >> 8 with t = d scale + 128, which is round (d scale / 255) for all
 * d, scale <= 255 (scale 255 leaves d as it is): no division and no branch, so the
 * loop vectorises (-fvect-cost-model=dynamic in gst-plugin/meson.build). */
static void
blend_packed (const guint8 *restrict add, const guint8 *restrict scale, gsize row_bytes,
              guint8 *restrict dst, gsize dstride, int height)
{
  for (int y = 0; y < height; y++) {
    const guint8 *a = add + (gsize) y * row_bytes, *m = scale + (gsize) y * row_bytes;
    guint8 *d = dst + (gsize) y * dstride;
    for (gsize k = 0; k < row_bytes; k++) {
      guint t = (guint) d[k] * m[k] + 128;
      d[k] = (guint8) (a[k] + ((t + (t >> 8)) >> 8));
    }
  }
}

void
gst_svilm_composite_invalidate (GstSvilmComposite *c)
{
  c->packed_current = FALSE;
}

gboolean
gst_svilm_composite_frame (GstSvilmComposite *c, cairo_surface_t *overlay, GstVideoFrame *frame)
{
  int width = GST_VIDEO_FRAME_WIDTH (frame), height = GST_VIDEO_FRAME_HEIGHT (frame);
  GstVideoFormat fmt = GST_VIDEO_FRAME_FORMAT (frame);
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  gboolean native = fmt == GST_VIDEO_FORMAT_BGRx || fmt == GST_VIDEO_FORMAT_BGRA;
  gboolean alpha_fmt = fmt == GST_VIDEO_FORMAT_BGRA;
#else
  gboolean native = fmt == GST_VIDEO_FORMAT_xRGB || fmt == GST_VIDEO_FORMAT_ARGB;
  gboolean alpha_fmt = fmt == GST_VIDEO_FORMAT_ARGB;
#endif
  cairo_surface_t *surface = NULL;
  if (native && stride % 4 == 0) {
    surface = cairo_image_surface_create_for_data (
        GST_VIDEO_FRAME_PLANE_DATA (frame, 0), alpha_fmt ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24,
        width, height, stride);
    if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
      g_clear_pointer (&surface, cairo_surface_destroy);
  }
  if (!surface) {
    if (!pack_overlay (c, overlay, frame->info.finfo))
      return FALSE;
    blend_packed (c->packed_add, c->packed_add + c->packed_row * height, c->packed_row,
                  GST_VIDEO_FRAME_PLANE_DATA (frame, 0), (gsize) stride, height);
    return TRUE;
  }
  cairo_t *cr = cairo_create (surface);
  cairo_set_source_surface (cr, overlay, 0, 0);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  cairo_surface_destroy (surface);
  return TRUE;
}

void
gst_svilm_composite_clear (GstSvilmComposite *c)
{
  g_clear_pointer (&c->packed_add, g_free);
  c->packed_current = FALSE;
}
