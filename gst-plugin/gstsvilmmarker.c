/* svilm: svilmscenecut's marker on the first frames of a new scene (gstsvilmmarker.h). */
#include "gstsvilmmarker.h"

void
gst_svilm_draw_cut_marker (GstVideoFrame *frame)
{
  const GstVideoFormatInfo *f = frame->info.finfo;
  guint ps = (guint) GST_VIDEO_FORMAT_INFO_PSTRIDE (f, GST_VIDEO_COMP_R);
  guint r = (guint) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_R);
  guint g = (guint) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_G);
  guint b = (guint) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_B);
  gboolean alpha = GST_VIDEO_FORMAT_INFO_HAS_ALPHA (f);
  guint a = alpha ? (guint) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_A) : 0;
  guint w = (guint) GST_VIDEO_FRAME_WIDTH (frame), h = (guint) GST_VIDEO_FRAME_HEIGHT (frame);
  guint bar = MIN (h, MAX (2u, h / 12));
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gsize stride = (gsize) GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  for (guint y = 0; y < bar; y++) {
    guint8 *row = data + y * stride;
    for (guint x = 0; x < w; x++) {
      guint8 *p = row + (gsize) x * ps;
      p[r] = 255;
      p[g] = 32;
      p[b] = 32;
      if (alpha)
        p[a] = 255;
    }
  }
}
