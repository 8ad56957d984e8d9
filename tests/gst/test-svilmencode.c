/* svilmencode with GstHarness: windows, metas, messages, JSON lines,
 * inference-interval, renegotiation, EOS with a partial window, flushing,
 * state cycles and a bad model file.
 *
 *   test-svilmencode MAKE_TEST_MODEL_PROGRAM
 */
#include "../../gst-plugin/gstsvilmmeta.h"
#include "svilm-harness.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>

static char *model_path, *tmp_dir;

static GstHarness *
make_harness (const char *extra)
{
  return svh_harness_new_parse ("svilmencode", model_path, extra);
}

/* pushes n frames, pulls them back; returns how many carried an embedding meta */
static guint
push_frames (GstHarness *h, int w, int ht, guint start, guint n)
{
  guint metas = 0;
  for (guint i = start; i < start + n; i++) {
    fail_unless_equals_int (gst_harness_push (h, svh_frame ("RGB", w, ht, i)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h);
    guint dim = 0;
    GstClockTime s, e;
    const gfloat *emb = gst_svilm_embedding_meta_get (out, &dim, &s, &e);
    if (emb) {
      metas++;
      fail_unless_equals_int (dim, 256);
      double norm = 0;
      for (guint k = 0; k < dim; k++)
        norm += emb[k] * emb[k];
      fail_unless (fabs (norm - 1.0) < 1e-3);
      fail_unless (e > s);
      fail_unless_equals_uint64 (e, GST_BUFFER_PTS (out) + GST_BUFFER_DURATION (out));
    }
    gst_buffer_unref (out);
  }
  return metas;
}

static guint
count_messages (GstBus *bus, const char *name)
{
  guint n = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, name)) {
      n++;
      fail_unless (gst_structure_has_field (s, "timestamp"));
      fail_unless (gst_structure_has_field (s, "stream-time"));
      fail_unless (gst_structure_has_field (s, "running-time"));
      fail_unless (gst_structure_has_field (s, "duration"));
      fail_unless (gst_structure_has_field_typed (s, "embedding", G_TYPE_BYTES));
    }
    gst_message_unref (m);
  }
  return n;
}

GST_START_TEST (test_windows_and_metas)
{
  GstHarness *h = make_harness ("");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  /* the test model's clip is 8 frames: 3 windows in 24 frames */
  fail_unless_equals_int (push_frames (h, 64, 48, 0, 24), 3);
  fail_unless_equals_int (count_messages (bus, "svilm-embedding"), 3);
  svh_unwatch (h, bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_interval_stride)
{
  GstHarness *h = make_harness ("inference-interval=2");
  svh_set_caps (h, "RGB", 32, 32);
  fail_unless_equals_int (push_frames (h, 32, 32, 0, 32), 2); /* windows 0 and 2 of 4 */
  gst_harness_teardown (h);
  /* overlapping windows of 8 every 4 frames: 24 frames -> windows ending at 8,12,...,24 */
  h = make_harness ("stride=4");
  svh_set_caps (h, "RGB", 32, 32);
  fail_unless_equals_int (push_frames (h, 32, 32, 0, 24), 5);
  gst_harness_teardown (h);
  /* windows of 4 frames every 6: 4 used, 2 skipped */
  h = make_harness ("frames-per-clip=4 stride=6");
  svh_set_caps (h, "RGB", 32, 32);
  fail_unless_equals_int (push_frames (h, 32, 32, 0, 24), 4);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_renegotiate_partial_eos_flush)
{
  GstHarness *h = make_harness ("");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  fail_unless_equals_int (push_frames (h, 64, 48, 0, 5), 0);
  /* a new size mid-stream starts a new window */
  svh_set_caps (h, "RGB", 33, 17);
  fail_unless_equals_int (push_frames (h, 33, 17, 5, 8), 1);
  /* flushing drops the frames gathered so far */
  fail_unless_equals_int (push_frames (h, 33, 17, 13, 4), 0);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  fail_unless_equals_int (push_frames (h, 33, 17, 0, 7), 0);
  count_messages (bus, "svilm-embedding");
  /* EOS with 7 frames pending: one partial window, reported as a message */
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (m != NULL);
  gboolean partial = FALSE;
  fail_unless (gst_structure_get_boolean (gst_message_get_structure (m), "partial", &partial));
  fail_unless (partial);
  gst_message_unref (m);
  svh_unwatch (h, bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_json_lines)
{
  char *path = g_build_filename (tmp_dir, "emb.jsonl", NULL);
  char *extra = g_strdup_printf ("location=%s post-messages=false", path);
  GstHarness *h = make_harness (extra);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 40, 30);
  push_frames (h, 40, 30, 0, 16);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (count_messages (bus, "svilm-embedding"), 0);
  gst_element_set_state (h->element, GST_STATE_NULL); /* closes the file */
  char *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  char **lines = g_strsplit (g_strstrip (text), "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 2);
  JsonParser *p = json_parser_new ();
  fail_unless (json_parser_load_from_data (p, lines[1], -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  fail_unless_equals_string (json_object_get_string_member (o, "type"), "svilm-embedding");
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member (o, "embedding")),
                          256);
  fail_unless_equals_int (json_object_get_int_member (o, "clip-index"), 1);
  g_object_unref (p);
  g_strfreev (lines);
  g_free (text);
  svh_unwatch (h, bus);
  gst_harness_teardown (h);
  g_remove (path);
  g_free (path);
  g_free (extra);
}
GST_END_TEST;

GST_START_TEST (test_state_cycles)
{
  GstElement *e = gst_element_factory_make ("svilmencode", NULL);
  g_object_set (e, "model", model_path, NULL);
  for (int i = 0; i < 50; i++) {
    fail_unless (gst_element_set_state (e, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
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
    GstElement *e = gst_element_factory_make ("svilmencode", NULL);
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (e, bus);
    g_object_set (e, "model", paths[i], NULL);
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

static Suite *
svilmencode_suite (void)
{
  Suite *s = suite_create ("svilmencode");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_windows_and_metas);
  tcase_add_test (tc, test_interval_stride);
  tcase_add_test (tc, test_renegotiate_partial_eos_flush);
  tcase_add_test (tc, test_json_lines);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_bad_model);
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
  int failed = gst_check_run_suite (svilmencode_suite (), "svilmencode", __FILE__);
  g_remove (model_path);
  g_rmdir (tmp_dir);
  return failed;
}
