/* svilm: svilmscenecut, scene cuts from S-ViLM's temporal features. */
#pragma once

#include "gstsvilmfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_SVILM_SCENE_CUT (gst_svilm_scene_cut_get_type ())
G_DECLARE_FINAL_TYPE (GstSvilmSceneCut, gst_svilm_scene_cut, GST, SVILM_SCENE_CUT, GstSvilmFilter)

GST_ELEMENT_REGISTER_DECLARE (svilmscenecut);

G_END_DECLS
