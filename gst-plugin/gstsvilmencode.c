/* svilm: svilmencode, clip embeddings.
 *
 * SECTION:element-svilmencode
 *
 * Groups frames into clip windows, runs the S-ViLM video encoder on each and
 * attaches the clip's embedding (unit length, the joint video-text space) to the
 * buffer that completes the window as a GstSvilmEmbeddingMeta.  With
 * post-messages it also posts an element message per clip:
 *
 *   svilm-embedding, timestamp=(guint64), stream-time=(guint64),
 *     running-time=(guint64), duration=(guint64), clip-index=(guint64),
 *     partial=(boolean), model-id=(string), embedding=(GBytes) dim float32
 *
 * and with location writes the same as JSON lines.
 *
 *   gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     svilmencode location=embeddings.jsonl ! fakesink
 */
#include "config.h"

#include "gstsvilmencode.h"
#include "gstsvilmmeta.h"

#include <glib/gi18n-lib.h>

GST_DEBUG_CATEGORY_STATIC (gst_svilm_encode_debug);
#define GST_CAT_DEFAULT gst_svilm_encode_debug

struct _GstSvilmEncode {
  GstSvilmFilter parent;
};

G_DEFINE_TYPE (GstSvilmEncode, gst_svilm_encode, GST_TYPE_SVILM_FILTER)
GST_ELEMENT_REGISTER_DEFINE (svilmencode, "svilmencode", GST_RANK_NONE, GST_TYPE_SVILM_ENCODE)

static GstFlowReturn
gst_svilm_encode_window_done (GstSvilmFilter *filter, GstSvilmWindow *w, GstVideoFrame *frame)
{
  if (!w->clip)
    return GST_FLOW_OK; /* skipped by inference-interval */
  SvilmModel *model = gst_svilm_filter_get_model (filter);
  gsize dim = 0;
  const gfloat *emb = svilm_clip_get_embedding (w->clip, &dim);
  if (frame)
    gst_buffer_add_svilm_embedding_meta (frame->buffer, emb, (guint) dim, w->start, w->end,
                                         svilm_model_get_id (model));
  GstStructure *s = gst_svilm_filter_new_result (filter, "svilm-embedding", w->start, w->end);
  GBytes *bytes = g_bytes_new (emb, dim * sizeof (gfloat));
  gst_structure_set (s, "clip-index", G_TYPE_UINT64, w->index, "partial", G_TYPE_BOOLEAN,
                     w->partial, "model-id", G_TYPE_STRING, svilm_model_get_id (model), "embedding",
                     G_TYPE_BYTES, bytes, NULL);
  g_bytes_unref (bytes);
  gst_svilm_filter_write_json (filter, s);
  if (gst_svilm_filter_post_messages (filter))
    gst_svilm_filter_post (filter, s);
  else
    gst_structure_free (s);
  GST_LOG_OBJECT (filter, "clip %" G_GUINT64_FORMAT " [%" GST_TIME_FORMAT ", %" GST_TIME_FORMAT ")",
                  w->index, GST_TIME_ARGS (w->start), GST_TIME_ARGS (w->end));
  return GST_FLOW_OK;
}

static void
gst_svilm_encode_class_init (GstSvilmEncodeClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstSvilmFilterClass *filter_class = GST_SVILM_FILTER_CLASS (klass);
  GST_DEBUG_CATEGORY_INIT (gst_svilm_encode_debug, "svilmencode", 0, "svilm clip embeddings");
  gst_element_class_set_static_metadata (
      element_class, "svilm clip encoder", "Filter/Analyzer/Video",
      "Embeds clip windows of a video into S-ViLM's joint video-text space; attaches the "
      "embedding to buffers (GstSvilmEmbeddingMeta), posts svilm-embedding messages and "
      "writes JSON lines",
      "svilm developers");
  filter_class->window_done = GST_DEBUG_FUNCPTR (gst_svilm_encode_window_done);
}

static void
gst_svilm_encode_init (GstSvilmEncode *self)
{
}
