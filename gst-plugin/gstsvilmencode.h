/* svilm: svilmencode, clip embeddings. */
#pragma once

#include "gstsvilmfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_SVILM_ENCODE (gst_svilm_encode_get_type ())
G_DECLARE_FINAL_TYPE (GstSvilmEncode, gst_svilm_encode, GST, SVILM_ENCODE, GstSvilmFilter)

GST_ELEMENT_REGISTER_DECLARE (svilmencode);

G_END_DECLS
