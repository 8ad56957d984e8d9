/* svilm: the clip embedding meta. */
#include "gstsvilmmeta.h"

void
gst_svilm_embedding_meta_register (void)
{
  static const gchar *tags[] = { NULL };
  static gsize once = 0;
  if (g_once_init_enter (&once)) {
    gst_meta_register_custom (GST_SVILM_EMBEDDING_META_NAME, tags, NULL, NULL, NULL);
    g_once_init_leave (&once, 1);
  }
}

GstCustomMeta *
gst_buffer_add_svilm_embedding_meta (GstBuffer *buffer, const gfloat *embedding, guint dim,
                                     GstClockTime start, GstClockTime end, const gchar *model_id)
{
  GstCustomMeta *meta = gst_buffer_add_custom_meta (buffer, GST_SVILM_EMBEDDING_META_NAME);
  if (!meta)
    return NULL;
  GstStructure *s = gst_custom_meta_get_structure (meta);
  GBytes *bytes = g_bytes_new (embedding, dim * sizeof (gfloat));
  gst_structure_set (s, "embedding", G_TYPE_BYTES, bytes, "dim", G_TYPE_UINT, dim, "start",
                     G_TYPE_UINT64, (guint64) start, "end", G_TYPE_UINT64, (guint64) end,
                     "model-id", G_TYPE_STRING, model_id, NULL);
  g_bytes_unref (bytes);
  return meta;
}

const gfloat *
gst_svilm_embedding_meta_get (GstBuffer *buffer, guint *dim, GstClockTime *start, GstClockTime *end)
{
  GstCustomMeta *meta = gst_buffer_get_custom_meta (buffer, GST_SVILM_EMBEDDING_META_NAME);
  if (!meta)
    return NULL;
  GstStructure *s = gst_custom_meta_get_structure (meta);
  const GValue *v = gst_structure_get_value (s, "embedding");
  guint64 a = GST_CLOCK_TIME_NONE, b = GST_CLOCK_TIME_NONE;
  gst_structure_get_uint64 (s, "start", &a);
  gst_structure_get_uint64 (s, "end", &b);
  if (start)
    *start = a;
  if (end)
    *end = b;
  if (!v || !G_VALUE_HOLDS (v, G_TYPE_BYTES))
    return NULL;
  gsize n = 0;
  const gfloat *data = g_bytes_get_data (g_value_get_boxed (v), &n);
  if (dim)
    *dim = (guint) (n / sizeof (gfloat));
  return data;
}
