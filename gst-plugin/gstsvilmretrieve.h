/* svilm: svilmretrieve, text queries against clips and the retrieval index. */
#pragma once

#include "gstsvilmfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_SVILM_RETRIEVE (gst_svilm_retrieve_get_type ())
G_DECLARE_FINAL_TYPE (GstSvilmRetrieve, gst_svilm_retrieve, GST, SVILM_RETRIEVE, GstSvilmFilter)

GST_ELEMENT_REGISTER_DECLARE (svilmretrieve);

G_END_DECLS
