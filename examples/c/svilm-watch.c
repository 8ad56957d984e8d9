/* svilm-watch: an application that embeds a pipeline with svilm elements and
 * reads their results from the buffers (metas) and from the bus (messages).
 *
 *   svilm-watch VIDEO [PHRASE]
 *
 * Prints every scene cut, every grounding of PHRASE (default "ball") and, for
 * every clip, the first values of its embedding read from the
 * GstSvilmEmbeddingMeta of the buffer that completed it.
 */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>

/* metas: a pad probe after svilmencode */
static GstPadProbeReturn
on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstCustomMeta *meta = gst_buffer_get_custom_meta (buf, "GstSvilmEmbeddingMeta");
  if (meta) {
    GstStructure *s = gst_custom_meta_get_structure (meta);
    guint64 start = 0, end = 0;
    gst_structure_get_uint64 (s, "start", &start);
    gst_structure_get_uint64 (s, "end", &end);
    GBytes *bytes = g_value_get_boxed (gst_structure_get_value (s, "embedding"));
    gsize n = 0;
    const gfloat *e = g_bytes_get_data (bytes, &n);
    printf ("clip  [%6.2f, %6.2f) s  embedding %zu values: %+.3f %+.3f %+.3f ...\n",
            (double) start / GST_SECOND, (double) end / GST_SECOND, n / sizeof (gfloat), e[0], e[1],
            e[2]);
  }
  /* boxes also arrive as region-of-interest metas, readable by any tool */
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered (buf, &state,
                                                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) m;
    if (GST_BUFFER_PTS (buf) % GST_SECOND < GST_SECOND / 30) /* once a second */
      printf ("roi   %6.2f s  %s at %u,%u %ux%u\n", (double) GST_BUFFER_PTS (buf) / GST_SECOND,
              g_quark_to_string (roi->roi_type), roi->x, roi->y, roi->w, roi->h);
  }
  return GST_PAD_PROBE_OK;
}

/* messages: the bus */
static gboolean
on_message (GstBus *bus, GstMessage *msg, gpointer loop)
{
  switch (GST_MESSAGE_TYPE (msg)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure (msg);
    guint64 t = 0;
    double score = 0;
    gst_structure_get_uint64 (s, "stream-time", &t);
    gst_structure_get_double (s, "score", &score);
    if (gst_structure_has_name (s, "svilm-scenecut"))
      printf ("cut   %6.2f s  score %.3f\n", (double) t / GST_SECOND, score);
    else if (gst_structure_has_name (s, "svilm-ground")) {
      int x = 0, y = 0, w = 0, h = 0;
      gst_structure_get (s, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width", G_TYPE_INT, &w,
                         "height", G_TYPE_INT, &h, NULL);
      printf ("phrase %5.2f s  '%s' score %.3f box %d,%d %dx%d\n", (double) t / GST_SECOND,
              gst_structure_get_string (s, "phrase"), score, x, y, w, h);
    }
    break;
  }
  case GST_MESSAGE_ERROR: {
    GError *err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    fprintf (stderr, "error: %s\n", err->message);
    g_error_free (err);
    g_main_loop_quit (loop);
    break;
  }
  case GST_MESSAGE_EOS:
    g_main_loop_quit (loop);
    break;
  default:
    break;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  if (argc < 2) {
    fprintf (stderr, "usage: %s VIDEO [PHRASE]\n", argv[0]);
    return 2;
  }
  char *uri = gst_filename_to_uri (argv[1], NULL);
  char *desc = g_strdup_printf ("uridecodebin uri=%s ! videoconvert ! svilmscenecut "
                                "! svilmground phrases=\"%s\" draw=none ! svilmencode name=enc "
                                "! fakesink sync=false",
                                uri, argc > 2 ? argv[2] : "ball");
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  if (!pipeline) {
    fprintf (stderr, "error: %s\n", error->message);
    return 1;
  }
  GstElement *enc = gst_bin_get_by_name (GST_BIN (pipeline), "enc");
  GstPad *src = gst_element_get_static_pad (enc, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, NULL, NULL);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_message, loop);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_main_loop_run (loop);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (enc);
  gst_object_unref (pipeline);
  g_main_loop_unref (loop);
  g_free (desc);
  g_free (uri);
  return 0;
}
