/* svilm: the clip embedding attached to buffers.
 *
 * A GstCustomMeta named "GstSvilmEmbeddingMeta" whose structure is
 *   svilm/embedding, embedding=(GBytes) <dim float32, native endian>, dim=(uint),
 *   start=(guint64) clip start PTS, end=(guint64) clip end PTS (ns),
 *   model-id=(string)
 * Being a custom meta it is readable from any language without our headers
 * (Python: buf.get_custom_meta("GstSvilmEmbeddingMeta").get_structure()), and
 * its fields map one-to-one onto a GstTensorMeta when we move to GStreamer 1.26.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_SVILM_EMBEDDING_META_NAME "GstSvilmEmbeddingMeta"

void gst_svilm_embedding_meta_register (void);

GstCustomMeta *gst_buffer_add_svilm_embedding_meta (GstBuffer *buffer, const gfloat *embedding,
                                                    guint dim, GstClockTime start, GstClockTime end,
                                                    const gchar *model_id);

/* the embedding of a buffer's meta (NULL if none); *dim set */
const gfloat *gst_svilm_embedding_meta_get (GstBuffer *buffer, guint *dim, GstClockTime *start,
                                            GstClockTime *end);

G_END_DECLS
