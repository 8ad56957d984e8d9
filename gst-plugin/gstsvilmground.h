/* svilm: svilmground, phrase grounding with an overlay. */
#pragma once

#include "gstsvilmfilter.h"

G_BEGIN_DECLS

/**
 * GstSvilmGroundDraw:
 * @GST_SVILM_GROUND_DRAW_NONE: draw nothing (frames are only analysed)
 * @GST_SVILM_GROUND_DRAW_BOX: a box and a label with the score per phrase
 * @GST_SVILM_GROUND_DRAW_HEATMAP: each phrase's heatmap blended over the frame
 * @GST_SVILM_GROUND_DRAW_BOTH: heatmaps, then boxes and labels
 */
typedef enum {
  GST_SVILM_GROUND_DRAW_NONE,
  GST_SVILM_GROUND_DRAW_BOX,
  GST_SVILM_GROUND_DRAW_HEATMAP,
  GST_SVILM_GROUND_DRAW_BOTH,
} GstSvilmGroundDraw;

#define GST_TYPE_SVILM_GROUND_DRAW (gst_svilm_ground_draw_get_type ())
GType gst_svilm_ground_draw_get_type (void);

#define GST_TYPE_SVILM_GROUND (gst_svilm_ground_get_type ())
G_DECLARE_FINAL_TYPE (GstSvilmGround, gst_svilm_ground, GST, SVILM_GROUND, GstSvilmFilter)

GST_ELEMENT_REGISTER_DECLARE (svilmground);

G_END_DECLS
