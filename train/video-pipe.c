/* svilm-train: the decoding pipeline that training clips and evaluation videos share. */
#include "video-pipe.h"

#include "sv-error.h"

#include <string.h>

static void
pad_added_cb (GstElement *src, GstPad *pad, gpointer data)
{
  SvVideoPipe *p = data;
  GstCaps *caps = gst_pad_get_current_caps (pad);
  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  const char *name = caps && !gst_caps_is_empty (caps)
                         ? gst_structure_get_name (gst_caps_get_structure (caps, 0))
                         : "";
  gboolean linked = FALSE;
  if (g_str_has_prefix (name, "video/") && !g_atomic_int_get (&p->video_linked)) {
    GstPad *sinkpad = gst_element_get_static_pad (p->convert, "sink");
    if (!gst_pad_is_linked (sinkpad) && gst_pad_link (pad, sinkpad) == GST_PAD_LINK_OK) {
      g_atomic_int_set (&p->video_linked, 1);
      linked = TRUE;
    }
    gst_object_unref (sinkpad);
  }
  if (!linked) {
    /* audio, subtitles, a second video stream: drained into a fakesink */
    GstElement *fs = gst_element_factory_make ("fakesink", NULL);
    if (fs) {
      g_object_set (fs, "sync", FALSE, "async", FALSE, NULL);
      gst_bin_add (GST_BIN (p->pipe), fs);
      gst_element_sync_state_with_parent (fs);
      GstPad *fpad = gst_element_get_static_pad (fs, "sink");
      gst_pad_link (pad, fpad);
      gst_object_unref (fpad);
    }
  }
  if (caps)
    gst_caps_unref (caps);
}

static void
no_more_pads_cb (GstElement *src, gpointer data)
{
  g_atomic_int_set (&((SvVideoPipe *) data)->no_more_pads, 1);
}

void
sv_video_pipe_clear (SvVideoPipe *p)
{
  if (p->pipe) {
    gst_element_set_state (p->pipe, GST_STATE_NULL);
    gst_object_unref (p->pipe);
  }
  memset (p, 0, sizeof *p);
}

gboolean
sv_video_pipe_build (SvVideoPipe *p, const char *uri, gboolean square_pixels, guint max_buffers,
                     GError **error)
{
  memset (p, 0, sizeof *p);
  const char *names[] = { "uridecodebin", "videoconvert", "appsink", "videoscale" };
  int n = square_pixels ? 4 : 3;
  GstElement *e[4];
  for (int i = 0; i < n; i++) {
    e[i] = gst_element_factory_make (names[i], NULL);
    if (!e[i]) {
      for (int j = 0; j < i; j++)
        gst_object_unref (e[j]);
      g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED,
                   "the GStreamer element %s is missing (install gstreamer1.0-plugins-base)",
                   names[i]);
      return FALSE;
    }
  }
  p->pipe = gst_pipeline_new (NULL);
  p->convert = e[1];
  p->sink = e[2];
  GstCaps *caps = gst_caps_from_string (
      square_pixels ? "video/x-raw,format=RGB,pixel-aspect-ratio=1/1" : "video/x-raw,format=RGB");
  g_object_set (e[0], "uri", uri, NULL);
  g_object_set (p->sink, "caps", caps, "sync", FALSE, "max-buffers", max_buffers, "emit-signals",
                FALSE, NULL);
  gst_caps_unref (caps);
  gst_bin_add_many (GST_BIN (p->pipe), e[0], e[1], e[2], NULL);
  gboolean linked;
  if (square_pixels) {
    gst_bin_add (GST_BIN (p->pipe), e[3]);
    linked = gst_element_link_many (e[1], e[3], e[2], NULL);
  } else {
    linked = gst_element_link (e[1], e[2]);
  }
  if (!linked) {
    sv_video_pipe_clear (p);
    g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED, "cannot link videoconvert ! appsink");
    return FALSE;
  }
  g_signal_connect (e[0], "pad-added", G_CALLBACK (pad_added_cb), p);
  g_signal_connect (e[0], "no-more-pads", G_CALLBACK (no_more_pads_cb), p);
  return TRUE;
}
