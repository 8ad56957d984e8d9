/* svilmground with GstHarness: messages per phrase and window, region-of-interest
 * metas, the overlay (in place and through the scratch surface), phrases changed
 * while playing, passthrough without phrases, renegotiation, EOS with a partial
 * window, flushing, JSON lines, state cycles, bad model files; and the
 * phrase-embedding grounding API it uses.
 *
 *   test-svilmground MAKE_TEST_MODEL_PROGRAM
 */
#include "svilm-model.h"
#include "svilm-harness.h"

#include <gst/base/gstbasetransform.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static char *model_path, *tmp_dir;

static GstHarness *
make_harness (const char *extra)
{
  return svh_harness_new_parse ("svilmground name=ground", model_path, extra);
}

/* the element inside the harness's bin */
static GstElement *
ground (GstHarness *h)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (h->element), "ground");
  gst_object_unref (e); /* the bin keeps it */
  return e;
}

static gboolean
same_pixels (GstBuffer *out, const char *format, int w, int h, guint i)
{
  GstBuffer *ref = svh_frame (format, w, h, i);
  GstMapInfo a, b;
  gst_buffer_map (out, &a, GST_MAP_READ);
  gst_buffer_map (ref, &b, GST_MAP_READ);
  gboolean same = a.size == b.size && memcmp (a.data, b.data, a.size) == 0;
  gst_buffer_unmap (out, &a);
  gst_buffer_unmap (ref, &b);
  gst_buffer_unref (ref);
  return same;
}

typedef struct {
  const char *label;
  int x, y, w, h;
  double score;
} Roi;

/* the region-of-interest metas of a buffer, checked; returns how many (at most 8) */
static guint
rois (GstBuffer *buf, int width, int height, Roi *out)
{
  gpointer state = NULL;
  GstMeta *meta;
  guint n = 0;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
                                                   GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *m = (GstVideoRegionOfInterestMeta *) meta;
    fail_unless (m->w > 0 && m->h > 0);
    fail_unless (m->x + m->w <= (guint) width && m->y + m->h <= (guint) height);
    GstStructure *s = gst_video_region_of_interest_meta_get_param (m, "svilm/grounding");
    fail_unless (s != NULL);
    const char *label = gst_structure_get_string (s, "label");
    fail_unless_equals_string (label, g_quark_to_string (m->roi_type));
    double score;
    guint group;
    fail_unless (gst_structure_get_double (s, "score", &score));
    fail_unless (score >= -1.0 && score <= 1.0);
    fail_unless (gst_structure_get_uint (s, "group", &group));
    if (n < 8)
      out[n] = (Roi){ label, (int) m->x, (int) m->y, (int) m->w, (int) m->h, score };
    n++;
  }
  return n;
}

/* pops the svilm-ground messages, checking every field; returns how many and the
 * last `max` of them (owned by the caller) */
static guint
pop_messages (GstBus *bus, int width, int height, GstStructure **out, guint max)
{
  guint n = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, "svilm-ground")) {
      const char *fields[] = { "timestamp", "stream-time", "running-time", "duration",
                               "clip-index" };
      for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
        fail_unless (gst_structure_has_field_typed (s, fields[i], G_TYPE_UINT64), "%s", fields[i]);
      fail_unless (gst_structure_has_field_typed (s, "partial", G_TYPE_BOOLEAN));
      fail_unless (gst_structure_get_string (s, "phrase") != NULL);
      double score;
      int x, y, w, h;
      guint group, gw, gh;
      fail_unless (gst_structure_get_double (s, "score", &score));
      fail_unless (score >= -1.0 && score <= 1.0);
      fail_unless (gst_structure_get (s, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width",
                                      G_TYPE_INT, &w, "height", G_TYPE_INT, &h, "group",
                                      G_TYPE_UINT, &group, "grid-width", G_TYPE_UINT, &gw,
                                      "grid-height", G_TYPE_UINT, &gh, NULL));
      fail_unless (x >= 0 && y >= 0 && w >= 0 && h >= 0);
      fail_unless (x + w <= width && y + h <= height);
      fail_unless (gw == 8 && gh == 8); /* the test model: 64x64 input, patches of 8 */
      /* the point lies in the frame, within a cell and a half of the box, which covers
       * the heatmap's maximum cell when any cell reaches 0.5 (the maximum is 1) */
      double px = -1, py = -1;
      fail_unless (gst_structure_get_double (s, "point-x", &px));
      fail_unless (gst_structure_get_double (s, "point-y", &py));
      fail_unless (px >= 0 && px <= width && py >= 0 && py <= height);
      fail_unless (px >= x - 1.5 * width / gw && px <= x + w + 1.5 * width / gw);
      fail_unless (py >= y - 1.5 * height / gh && py <= y + h + 1.5 * height / gh);
      const GValue *heat = gst_structure_get_value (s, "heatmap");
      fail_unless (heat && GST_VALUE_HOLDS_ARRAY (heat));
      fail_unless_equals_int (gst_value_array_get_size (heat), gw * gh);
      for (guint i = 0; i < gw * gh; i++) {
        float v = g_value_get_float (gst_value_array_get_value (heat, i));
        fail_unless (v >= 0.0f && v <= 1.0f);
      }
      guint gt = 0;
      fail_unless (gst_structure_get_uint (s, "grid-time", &gt));
      fail_unless_equals_int (gt, 4); /* 8 frames in tubelets of 2 */
      const GValue *slices = gst_structure_get_value (s, "slice-heatmaps");
      fail_unless (slices && GST_VALUE_HOLDS_ARRAY (slices));
      fail_unless_equals_int (gst_value_array_get_size (slices), gt * gw * gh);
      float top = 0.0f;
      for (guint i = 0; i < gt * gw * gh; i++) {
        float v = g_value_get_float (gst_value_array_get_value (slices, i));
        fail_unless (v >= 0.0f && v <= 1.0f);
        top = MAX (top, v);
      }
      fail_unless (top == 1.0f);
      if (out && max) {
        guint slot = n % max;
        if (out[slot])
          gst_structure_free (out[slot]);
        out[slot] = gst_structure_copy (s);
      }
      n++;
    }
    gst_message_unref (m);
  }
  return n;
}

static void
free_structs (GstStructure **s, guint n)
{
  for (guint i = 0; i < n; i++)
    g_clear_pointer (&s[i], gst_structure_free);
}

GST_START_TEST (test_messages_and_metas)
{
  /* follow off: the frames show the window's averaged result, as the messages do */
  GstHarness *h = make_harness ("phrases=\"ball; red square;ball;\" follow=false");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  fail_if (gst_base_transform_is_passthrough (GST_BASE_TRANSFORM (ground (h))));
  GstStructure *last[2] = { NULL, NULL };
  for (guint i = 0; i < 24; i++) {
    fail_unless_equals_int (gst_harness_push (h, svh_frame ("RGB", 64, 48, i)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h);
    Roi r[8];
    guint n = rois (out, 64, 48, r);
    /* the test model's clip is 8 frames: one message per phrase (duplicates dropped) */
    guint msgs = pop_messages (bus, 64, 48, last, 2);
    fail_unless_equals_int (msgs, i % 8 == 7 ? 2 : 0);
    fail_unless_equals_int (n, i < 7 ? 0 : 2); /* from the first window on, every frame */
    if (i >= 7) {
      fail_unless_equals_string (r[0].label, "ball");
      fail_unless_equals_string (r[1].label, "red square");
    }
    if (msgs) {
      /* the frame completing the window carries the boxes of its messages */
      for (guint k = 0; k < 2; k++) {
        int x, y, w, ht;
        double score;
        gst_structure_get (last[k], "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width", G_TYPE_INT,
                           &w, "height", G_TYPE_INT, &ht, "score", G_TYPE_DOUBLE, &score, NULL);
        fail_unless_equals_string (gst_structure_get_string (last[k], "phrase"), r[k].label);
        fail_unless (x == r[k].x && y == r[k].y && w == r[k].w && ht == r[k].h);
        fail_unless (fabs (score - r[k].score) < 1e-6);
        guint64 idx, ts, dur;
        gst_structure_get (last[k], "clip-index", G_TYPE_UINT64, &idx, "timestamp", G_TYPE_UINT64,
                           &ts, "duration", G_TYPE_UINT64, &dur, NULL);
        fail_unless_equals_uint64 (idx, i / 8);
        fail_unless_equals_uint64 (ts, gst_util_uint64_scale (i - 7, GST_SECOND, 30));
        fail_unless_equals_uint64 (ts + dur, GST_BUFFER_PTS (out) + GST_BUFFER_DURATION (out));
      }
    }
    gst_buffer_unref (out);
  }
  free_structs (last, 2);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* follow (the default): the frames' boxes are those of the window's last token slice */
GST_START_TEST (test_follow)
{
  GstHarness *h = make_harness ("phrases=\"ball;red square\"");
  gboolean follow = FALSE;
  g_object_get (ground (h), "follow", &follow, NULL);
  fail_unless (follow);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  GstStructure *last[2] = { NULL, NULL };
  guint checked = 0;
  for (guint i = 0; i < 24; i++) {
    /* a new scene every 3 frames, for heatmaps that change within a window */
    fail_unless_equals_int (gst_harness_push (h, svh_frame_full ("RGB", 64, 48, i, 3, FALSE)),
                            GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h);
    Roi r[8];
    guint n = rois (out, 64, 48, r);
    if (pop_messages (bus, 64, 48, last, 2)) {
      fail_unless_equals_int (n, 2);
      for (guint k = 0; k < 2; k++) {
        int x, y, w, ht;
        fail_unless (svh_last_slice_box (last[k], 64, 48, &x, &y, &w, &ht));
        fail_unless (x == r[k].x && y == r[k].y && w == r[k].w && ht == r[k].h,
                     "box %d,%d %dx%d, the last slice's %d,%d %dx%d", r[k].x, r[k].y, r[k].w,
                     r[k].h, x, y, w, ht);
        checked++;
      }
    }
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (checked, 6);
  /* the untrained test model's heatmaps are flat enough for both boxes to be the whole
   * frame: test-accuracy checks with the trained model that the two differ */
  free_structs (last, 2);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* pushes 10 frames (a window of 8 and two more); returns how many came out
 * changed (checks that the first 7, before any result, never are) and how many
 * carried a region meta */
static guint
count_drawn (const char *format, const char *draw, guint *with_meta)
{
  char *extra = g_strdup_printf ("phrases=\"ball;square\" draw=%s", draw);
  GstHarness *h = make_harness (extra);
  svh_set_caps (h, format, 48, 40);
  guint changed = 0;
  *with_meta = 0;
  for (guint i = 0; i < 10; i++) {
    fail_unless_equals_int (gst_harness_push (h, svh_frame (format, 48, 40, i)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h);
    Roi r[8];
    *with_meta += rois (out, 48, 40, r) > 0;
    gboolean same = same_pixels (out, format, 48, 40, i);
    if (i < 7)
      fail_unless (same, "%s frame %u changed before any result", format, i);
    changed += !same;
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
  g_free (extra);
  return changed;
}

GST_START_TEST (test_overlay)
{
  /* BGRx/BGRA: cairo draws on the frame; the others through a scratch surface */
  const char *formats[] = { "BGRx", "RGB", "BGRA", "xBGR", "RGBA" };
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    guint metas;
    fail_unless_equals_int (count_drawn (formats[f], "both", &metas), 3);
    fail_unless_equals_int (metas, 3);
    /* no drawing: the pixels stay untouched, the metas still come */
    fail_unless_equals_int (count_drawn (formats[f], "none", &metas), 0);
    fail_unless_equals_int (metas, 3);
    if (f < 2) {
      fail_unless_equals_int (count_drawn (formats[f], "box", &metas), 3);
      fail_unless_equals_int (count_drawn (formats[f], "heatmap", &metas), 3);
    }
  }
}
GST_END_TEST;

/* frame i of a pattern with the same RGB content in any packed RGB format */
static GstBuffer *
rgb_frame (const char *format, int width, int height, guint i)
{
  GstBuffer *b = svh_frame (format, width, height, i);
  GstVideoInfo info;
  gst_video_info_set_format (&info, gst_video_format_from_string (format), width, height);
  GstVideoFrame f;
  fail_unless (gst_video_frame_map (&f, &info, b, GST_MAP_WRITE));
  const GstVideoFormatInfo *fi = info.finfo;
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (&f, 0);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      guint8 *px = data + y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0) +
                   x * GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
      for (int c = 0; c < 3; c++)
        px[GST_VIDEO_FORMAT_INFO_POFFSET (fi, c)] =
            (guint8) ((x * 7 + y * 3 + i * 13 + c * 50) & 0xff);
    }
  gst_video_frame_unmap (&f);
  return b;
}

/* R, G, B of every pixel of frame 9 of rgb_frame()s through svilmground with phrases
 * "ball;square" and heatmap-alpha ALPHA; SET_ALPHA >= 0 sets heatmap-alpha to it before
 * frame 9 (the results are those of frame 7's window either way) */
static guint8 *
drawn_rgb (const char *format, double alpha, double set_alpha)
{
  const int w = 48, hgt = 40;
  char *extra = g_strdup_printf ("phrases=\"ball;square\" heatmap-alpha=%.2f", alpha);
  GstHarness *h = make_harness (extra);
  svh_set_caps (h, format, w, hgt);
  guint8 *rgb = g_malloc ((gsize) w * hgt * 3);
  for (guint i = 0; i < 10; i++) {
    if (i == 9 && set_alpha >= 0)
      g_object_set (ground (h), "heatmap-alpha", set_alpha, NULL);
    GstBuffer *out = gst_harness_push_and_pull (h, rgb_frame (format, w, hgt, i));
    if (i == 9) {
      GstVideoInfo info;
      gst_video_info_set_format (&info, gst_video_format_from_string (format), w, hgt);
      GstVideoFrame f;
      fail_unless (gst_video_frame_map (&f, &info, out, GST_MAP_READ));
      const guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (&f, 0);
      for (int y = 0; y < hgt; y++)
        for (int x = 0; x < w; x++)
          for (int c = 0; c < 3; c++)
            rgb[(y * w + x) * 3 + c] = data[y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0) +
                                            x * GST_VIDEO_FORMAT_INFO_PSTRIDE (info.finfo, 0) +
                                            GST_VIDEO_FORMAT_INFO_POFFSET (info.finfo, c)];
      gst_video_frame_unmap (&f);
    }
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
  g_free (extra);
  return rgb;
}

static int
max_difference (const guint8 *a, const guint8 *b, gsize n)
{
  int m = 0;
  for (gsize k = 0; k < n; k++)
    m = MAX (m, abs ((int) a[k] - (int) b[k]));
  return m;
}

GST_START_TEST (test_overlay_formats)
{
  const gsize n = 48 * 40 * 3;
  /* the overlay composited by cairo (BGRx) and by the blend loop (RGB, xBGR): the same
   * pixels but for rounding */
  guint8 *bgrx = drawn_rgb ("BGRx", 0.5, -1), *rgb = drawn_rgb ("RGB", 0.5, -1);
  guint8 *xbgr = drawn_rgb ("xBGR", 0.5, -1);
  GstBuffer *plain_buf = rgb_frame ("RGB", 48, 40, 9);
  GstMapInfo plain;
  gst_buffer_map (plain_buf, &plain, GST_MAP_READ);
  fail_unless (max_difference (rgb, plain.data, n) > 50, "nothing drawn");
  fail_unless (max_difference (bgrx, rgb, n) <= 1, "BGRx and RGB differ by %d",
               max_difference (bgrx, rgb, n));
  fail_unless_equals_int (max_difference (xbgr, rgb, n), 0);
  /* a new heatmap-alpha redraws the overlay of the same results at once */
  guint8 *changed = drawn_rgb ("RGB", 0.5, 0.9), *direct = drawn_rgb ("RGB", 0.9, -1);
  fail_unless_equals_int (max_difference (changed, direct, n), 0);
  fail_unless (max_difference (changed, rgb, n) > 20);
  gst_buffer_unmap (plain_buf, &plain);
  gst_buffer_unref (plain_buf);
  g_free (bgrx);
  g_free (rgb);
  g_free (xbgr);
  g_free (changed);
  g_free (direct);
}
GST_END_TEST;

GST_START_TEST (test_change_phrases)
{
  GstHarness *h = make_harness ("phrases=\"ball;square\"");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "BGRx", 32, 32);
  for (guint i = 0; i < 8; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, svh_frame ("BGRx", 32, 32, i)));
  fail_unless_equals_int (pop_messages (bus, 32, 32, NULL, 0), 2);
  /* while playing: the old results go at once, the new phrase from the next window */
  g_object_set (ground (h), "phrases", "dog", NULL);
  GstStructure *last[1] = { NULL };
  for (guint i = 8; i < 16; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, svh_frame ("BGRx", 32, 32, i));
    Roi r[8];
    guint n = rois (out, 32, 32, r);
    fail_unless_equals_int (n, i < 15 ? 0 : 1);
    fail_unless_equals_int (same_pixels (out, "BGRx", 32, 32, i), i < 15);
    if (n)
      fail_unless_equals_string (r[0].label, "dog");
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (pop_messages (bus, 32, 32, last, 1), 1);
  fail_unless_equals_string (gst_structure_get_string (last[0], "phrase"), "dog");
  free_structs (last, 1);
  gchar *phrases = NULL;
  g_object_get (ground (h), "phrases", &phrases, NULL);
  fail_unless_equals_string (phrases, "dog");
  g_free (phrases);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_passthrough)
{
  GstHarness *h = make_harness ("");
  GstBus *bus = svh_watch (h);
  GstBaseTransform *trans = GST_BASE_TRANSFORM (ground (h));
  svh_set_caps (h, "RGB", 32, 24);
  fail_unless (gst_base_transform_is_passthrough (trans));
  for (guint i = 0; i < 16; i++) {
    GstBuffer *in = svh_frame ("RGB", 32, 24, i);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    fail_unless (out == in); /* the very buffer, untouched */
    Roi r[8];
    fail_unless_equals_int (rois (out, 32, 24, r), 0);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (pop_messages (bus, 32, 24, NULL, 0), 0);
  /* phrases: leaves passthrough (on the streaming thread, before the next buffer) */
  g_object_set (ground (h), "phrases", "ball", NULL);
  for (guint i = 16; i < 24; i++) {
    GstBuffer *in = svh_frame ("RGB", 32, 24, i);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    fail_if (gst_base_transform_is_passthrough (trans));
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (pop_messages (bus, 32, 24, NULL, 0), 1);
  /* only separators: nothing to ground again */
  g_object_set (ground (h), "phrases", " ; ;", NULL);
  fail_unless (gst_base_transform_is_passthrough (trans));
  for (guint i = 24; i < 40; i++) {
    GstBuffer *in = svh_frame ("RGB", 32, 24, i);
    GstBuffer *out = gst_harness_push_and_pull (h, in);
    fail_unless (out == in);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (pop_messages (bus, 32, 24, NULL, 0), 0);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

static gint toggling;

static gpointer
toggle_phrases (gpointer data)
{
  GstElement *e = data;
  const char *sets[] = { "ball", "", "a;b;c", "red square;ball", " ; " };
  for (guint i = 0; g_atomic_int_get (&toggling); i++) {
    g_object_set (e, "phrases", sets[i % G_N_ELEMENTS (sets)], "draw", i % 4, NULL);
    g_usleep (200);
  }
  return NULL;
}

/* phrases and draw changed from another thread while frames stream */
GST_START_TEST (test_concurrent_changes)
{
  GstHarness *h = make_harness ("phrases=ball");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 32, 24);
  g_atomic_int_set (&toggling, 1);
  GThread *t = g_thread_new ("toggle", toggle_phrases, ground (h));
  for (guint i = 0; i < 100; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, svh_frame ("RGB", 32, 24, i));
    fail_unless (out != NULL);
    g_usleep (1000);
    Roi r[8];
    rois (out, 32, 24, r);
    gst_buffer_unref (out);
  }
  g_atomic_int_set (&toggling, 0);
  g_thread_join (t);
  pop_messages (bus, 32, 24, NULL, 0);
  fail_if (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR | GST_MESSAGE_WARNING) != NULL);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_renegotiate)
{
  GstHarness *h = make_harness ("phrases=ball");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  Roi small[8], big[8];
  for (guint i = 0; i < 8; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, svh_frame ("RGB", 64, 48, i));
    if (i == 7)
      fail_unless_equals_int (rois (out, 64, 48, small), 1);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (pop_messages (bus, 64, 48, NULL, 0), 1);
  /* twice the size: the current box scales with the svh_frame (grid cells of 8 and 16 px) */
  svh_set_caps (h, "RGB", 128, 96);
  GstBuffer *out = gst_harness_push_and_pull (h, svh_frame ("RGB", 128, 96, 8));
  fail_unless_equals_int (rois (out, 128, 96, big), 1);
  fail_unless (big[0].x == 2 * small[0].x && big[0].y == 2 * small[0].y);
  fail_unless (big[0].w == 2 * small[0].w && big[0].h == 2 * small[0].h);
  fail_if (same_pixels (out, "RGB", 128, 96, 8)); /* drawn at the new size */
  gst_buffer_unref (out);
  /* a window of the new size: its messages are in the new size's pixels */
  for (guint i = 9; i < 16; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, svh_frame ("RGB", 128, 96, i)));
  GstStructure *last[1] = { NULL };
  fail_unless_equals_int (pop_messages (bus, 128, 96, last, 1), 1);
  int x, w;
  gst_structure_get (last[0], "x", G_TYPE_INT, &x, "width", G_TYPE_INT, &w, NULL);
  fail_unless_equals_int (x % 16, 0);
  fail_unless_equals_int (w % 16, 0);
  free_structs (last, 1);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_partial_eos_and_flush)
{
  GstHarness *h = make_harness ("phrases=\"ball;square;dog\"");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "BGRx", 40, 30);
  for (guint i = 0; i < 8; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, svh_frame ("BGRx", 40, 30, i)));
  fail_unless_equals_int (pop_messages (bus, 40, 30, NULL, 0), 3);
  /* a flush drops the current results and the gathered frames */
  for (guint i = 8; i < 12; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, svh_frame ("BGRx", 40, 30, i)));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  for (guint i = 0; i < 5; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, svh_frame ("BGRx", 40, 30, i));
    Roi r[8];
    fail_unless_equals_int (rois (out, 40, 30, r), 0);
    fail_unless (same_pixels (out, "BGRx", 40, 30, i));
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (pop_messages (bus, 40, 30, NULL, 0), 0);
  /* EOS with 5 frames pending: a partial window, one message per phrase */
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstStructure *last[3] = { NULL, NULL, NULL };
  fail_unless_equals_int (pop_messages (bus, 40, 30, last, 3), 3);
  for (guint k = 0; k < 3; k++) {
    gboolean partial = FALSE;
    fail_unless (gst_structure_get_boolean (last[k], "partial", &partial));
    fail_unless (partial);
  }
  free_structs (last, 3);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_json_lines)
{
  char *path = g_build_filename (tmp_dir, "ground.jsonl", NULL);
  char *extra =
      g_strdup_printf ("phrases=\"ball;red square\" location=%s post-messages=false", path);
  GstHarness *h = make_harness (extra);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 40, 30);
  for (guint i = 0; i < 16; i++)
    gst_buffer_unref (gst_harness_push_and_pull (h, svh_frame ("RGB", 40, 30, i)));
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (pop_messages (bus, 40, 30, NULL, 0), 0);
  gst_element_set_state (h->element, GST_STATE_NULL); /* closes the file */
  char *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  char **lines = g_strsplit (g_strstrip (text), "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 4);
  JsonParser *p = json_parser_new ();
  fail_unless (json_parser_load_from_data (p, lines[3], -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  fail_unless_equals_string (json_object_get_string_member (o, "type"), "svilm-ground");
  fail_unless_equals_string (json_object_get_string_member (o, "phrase"), "red square");
  fail_unless_equals_int (json_object_get_int_member (o, "clip-index"), 1);
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member (o, "heatmap")), 64);
  const char *ints[] = { "x", "y", "width", "height", "group", "grid-width", "grid-height" };
  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    fail_unless (json_object_has_member (o, ints[i]), "%s", ints[i]);
  double score = json_object_get_double_member (o, "score");
  fail_unless (score >= -1.0 && score <= 1.0);
  g_object_unref (p);
  g_strfreev (lines);
  g_free (text);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
  g_remove (path);
  g_free (path);
  g_free (extra);
}
GST_END_TEST;

GST_START_TEST (test_state_cycles)
{
  GstElement *e = gst_element_factory_make ("svilmground", NULL);
  g_object_set (e, "model", model_path, "phrases", "ball;square", NULL);
  for (int i = 0; i < 50; i++) {
    fail_unless (gst_element_set_state (e, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    if (i % 10 == 0)
      g_object_set (e, "phrases", i % 20 ? "ball" : "", NULL);
    fail_unless (gst_element_set_state (e, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (e);
}
GST_END_TEST;

GST_START_TEST (test_bad_model)
{
  char *bad = g_build_filename (tmp_dir, "corrupt.safetensors", NULL);
  g_file_set_contents (bad, "\x10\x00\x00\x00\x00\x00\x00\x00{\"x\": 1", 15, NULL);
  const char *paths[] = { "/nonexistent/model.safetensors", bad };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    GstElement *e = gst_element_factory_make ("svilmground", NULL);
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (e, bus);
    g_object_set (e, "model", paths[i], "phrases", "ball", NULL);
    fail_unless (gst_element_set_state (e, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (m != NULL);
    GError *err = NULL;
    char *dbg = NULL;
    gst_message_parse_error (m, &err, &dbg);
    GST_INFO ("error: %s (%s)", err->message, dbg);
    fail_unless (strstr (err->message, "Could not load the svilm model") != NULL);
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (m);
    gst_element_set_state (e, GST_STATE_NULL);
    svh_drop_bus (bus);
    gst_object_unref (e);
  }
  g_remove (bad);
  g_free (bad);
}
GST_END_TEST;

/* the element grounds cached phrase embeddings: the same as svilm_clip_ground */
GST_START_TEST (test_ground_embedding_api)
{
  GError *error = NULL;
  SvilmModel *m = svilm_model_load (model_path, "cpu", &error);
  fail_unless (m != NULL);
  guint8 *data = g_malloc (32 * 32 * 3 * 8);
  const guint8 *frames[8];
  for (guint i = 0; i < 32 * 32 * 3 * 8; i++)
    data[i] = (guint8) (i * 31 % 251);
  for (guint i = 0; i < 8; i++)
    frames[i] = data + i * 32 * 32 * 3;
  SvilmClip *clip = svilm_model_encode_clip (m, frames, 8, 32, 32, 32 * 3, &error);
  fail_unless (clip != NULL);
  SvilmGrounding *a = svilm_clip_ground (clip, m, "red ball", &error);
  gsize n = 0;
  gfloat *emb = svilm_model_encode_phrase (m, "red ball", &n, &error);
  fail_unless (a && emb && n == svilm_model_get_embed_dim (m));
  SvilmGrounding *b = svilm_clip_ground_embedding (clip, emb, n, &error);
  fail_unless (b != NULL);
  fail_unless (a->score == b->score && a->group == b->group && a->x == b->x &&
               a->width == b->width && a->n_heatmap == b->n_heatmap);
  fail_unless (memcmp (a->heatmap, b->heatmap, a->n_heatmap * sizeof (gfloat)) == 0);
  fail_unless (svilm_clip_ground_embedding (clip, emb, n - 1, &error) == NULL);
  fail_unless (error != NULL);
  g_clear_error (&error);
  fail_unless (svilm_model_encode_phrase (m, "  ", &n, &error) == NULL);
  g_clear_error (&error);
  svilm_grounding_free (a);
  svilm_grounding_free (b);
  g_free (emb);
  g_free (data);
  g_object_unref (clip);
  g_object_unref (m);
}
GST_END_TEST;

static Suite *
svilmground_suite (void)
{
  Suite *s = suite_create ("svilmground");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_messages_and_metas);
  tcase_add_test (tc, test_follow);
  tcase_add_test (tc, test_overlay);
  tcase_add_test (tc, test_overlay_formats);
  tcase_add_test (tc, test_change_phrases);
  tcase_add_test (tc, test_passthrough);
  tcase_add_test (tc, test_concurrent_changes);
  tcase_add_test (tc, test_renegotiate);
  tcase_add_test (tc, test_partial_eos_and_flush);
  tcase_add_test (tc, test_json_lines);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_bad_model);
  tcase_add_test (tc, test_ground_embedding_api);
  return s;
}

int
main (int argc, char **argv)
{
  gst_check_init (&argc, &argv);
  if (argc < 2) {
    g_printerr ("usage: %s MAKE_TEST_MODEL\n", argv[0]);
    return 2;
  }
  tmp_dir = g_dir_make_tmp ("svilm-gst-XXXXXX", NULL);
  model_path = svh_make_test_model (argv[1], tmp_dir, "model.safetensors", "--small");
  if (!model_path)
    return 1;
  int failed = gst_check_run_suite (svilmground_suite (), "svilmground", __FILE__);
  g_remove (model_path);
  g_rmdir (tmp_dir);
  return failed;
}
