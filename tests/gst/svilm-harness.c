/* Helpers shared by the GstHarness element tests; see svilm-harness.h. */
#include "svilm-harness.h"

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

char *
svh_make_test_model (const char *program, const char *dir, const char *name, const char *flag)
{
  char *path = g_build_filename (dir, name, NULL);
  const char *argv[] = { program, path, flag, NULL };
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                     NULL) ||
      !g_spawn_check_wait_status (status, NULL)) {
    g_printerr ("could not make the test model %s\n", path);
    g_free (path);
    return NULL;
  }
  return path;
}

GstHarness *
svh_harness_new_parse (const char *element, const char *model, const char *extra)
{
  char *desc = g_strdup_printf ("%s model=%s device=cpu %s", element, model, extra);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  return h;
}

GstElement *
svh_element_new (const char *factory, const char *model, const char *props)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  fail_unless (e != NULL);
  g_object_set (e, "model", model, "device", "cpu", NULL);
  char **kv = g_strsplit (props, " ", -1);
  for (char **p = kv; *p; p++) {
    char *eq = strchr (*p, '=');
    if (!eq)
      continue;
    *eq = '\0';
    gst_util_set_object_arg (G_OBJECT (e), *p, eq + 1);
  }
  g_strfreev (kv);
  return gst_object_ref_sink (e);
}

GstHarness *
svh_harness_take (GstElement *element)
{
  GstHarness *h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element); /* the harness holds its own */
  return h;
}

void
svh_set_caps (GstHarness *h, const char *format, int width, int height)
{
  char *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,framerate=30/1", format,
                                width, height);
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
}

GstBuffer *
svh_frame (const char *format, int width, int height, guint i)
{
  return svh_frame_full (format, width, height, i, 0, FALSE);
}

GstBuffer *
svh_frame_full (const char *format, int width, int height, guint i, guint scene, gboolean black)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, gst_video_format_from_string (format), (guint) width,
                             (guint) height);
  GstBuffer *b = gst_buffer_new_allocate (NULL, info.size, NULL);
  guint jump = scene ? (i / scene) * 101 : 0;
  GstMapInfo map;
  gst_buffer_map (b, &map, GST_MAP_WRITE);
  for (gsize j = 0; j < map.size; j++)
    map.data[j] = black ? 0 : (guint8) ((j * 7 + i * 13 + jump) & 0xff);
  gst_buffer_unmap (b, &map);
  GST_BUFFER_PTS (b) = gst_util_uint64_scale (i, GST_SECOND, 30);
  GST_BUFFER_DURATION (b) = gst_util_uint64_scale (1, GST_SECOND, 30);
  return b;
}

GstBus *
svh_watch (GstHarness *h)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  return bus;
}

void
svh_unwatch (GstHarness *h, GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (h->element, NULL);
  svh_drop_bus (bus);
}

void
svh_drop_bus (GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE); /* drops its messages, which hold their elements */
  gst_object_unref (bus);
}

GPtrArray *
svh_pop_messages (GstBus *bus, const char *name)
{
  GPtrArray *a = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, name))
      g_ptr_array_add (a, gst_structure_copy (s));
    gst_message_unref (m);
  }
  return a;
}

guint
svh_count_messages (GstBus *bus, const char *name)
{
  GPtrArray *a = svh_pop_messages (bus, name);
  guint n = a->len;
  g_ptr_array_unref (a);
  return n;
}

gboolean
svh_last_slice_box (const GstStructure *s, int width, int height, int *x, int *y, int *w, int *h)
{
  guint gt = 0, gw = 0, gh = 0;
  *x = *y = *w = *h = 0;
  if (!gst_structure_get (s, "grid-time", G_TYPE_UINT, &gt, "grid-width", G_TYPE_UINT, &gw,
                          "grid-height", G_TYPE_UINT, &gh, NULL) ||
      gt == 0 || gw * gh == 0)
    return FALSE;
  const GValue *a = gst_structure_get_value (s, "slice-heatmaps");
  if (!a || gst_value_array_get_size (a) != gt * gw * gh)
    return FALSE;
  float top = 0.0f, *v = g_new (float, gw *gh);
  for (guint i = 0; i < gw * gh; i++)
    top =
        MAX (top, v[i] = g_value_get_float (gst_value_array_get_value (a, (gt - 1) * gw * gh + i)));
  guint x0 = gw, y0 = gh, x1 = 0, y1 = 0;
  for (guint i = 0; i < gw * gh; i++)
    if (top > 0.0f && v[i] / top >= 0.5f) {
      x0 = MIN (x0, i % gw), y0 = MIN (y0, i / gw);
      x1 = MAX (x1, i % gw + 1), y1 = MAX (y1, i / gw + 1);
    }
  g_free (v);
  if (x1 <= x0 || y1 <= y0)
    return TRUE;
  *x = (int) lround ((double) x0 / gw * width);
  *y = (int) lround ((double) y0 / gh * height);
  *w = (int) lround ((double) x1 / gw * width) - *x;
  *h = (int) lround ((double) y1 / gh * height) - *y;
  return TRUE;
}
