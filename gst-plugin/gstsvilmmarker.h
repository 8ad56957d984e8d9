/* svilm: svilmscenecut's marker on the first frames of a new scene. */
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

/* paints a red bar across the top of a packed RGB frame (a twelfth of its height, at
 * least 2 rows); an alpha channel is set opaque */
void gst_svilm_draw_cut_marker (GstVideoFrame *frame);

G_END_DECLS
