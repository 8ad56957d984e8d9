/* The four svilm elements under bad and unusual input (issue 10): odd and tiny
 * resolutions, zero-size and short buffers, missing, backward and jumping timestamps, gap
 * events, caps changes mid-stream, 1000 NULL <-> PLAYING cycles of a pipeline holding all
 * four, a model swapped in READY, and several pipelines sharing a model from several
 * threads.  Each must either work or fail with an error message; none may crash or hang.
 *
 *   test-robustness MAKE_TEST_MODEL_PROGRAM
 */
#include "svilm-harness.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <unistd.h>

static char *model_path, *model2_path, *tmp_dir;

static const char *const elements[] = { "svilmencode", "svilmscenecut", "svilmground",
                                        "svilmretrieve" };

static GstHarness *
make_harness (const char *element)
{
  const char *extra = g_str_equal (element, "svilmground")     ? "phrases=ball"
                      : g_str_equal (element, "svilmretrieve") ? "query=ball threshold=-1"
                                                               : "";
  return svh_harness_new_parse (element, model_path, extra);
}

/* frame i of the test pattern stamped with pts (and without a duration when it has none) */
static GstBuffer *
frame (int w, int h, guint i, GstClockTime pts)
{
  GstBuffer *b = svh_frame ("RGB", w, h, i);
  GST_BUFFER_PTS (b) = pts;
  GST_BUFFER_DURATION (b) = GST_CLOCK_TIME_IS_VALID (pts) ? GST_SECOND / 30 : GST_CLOCK_TIME_NONE;
  return b;
}

#define PTS(i) gst_util_uint64_scale ((i), GST_SECOND, 30)

/* the error messages on the bus, each with a human sentence; returns how many */
static guint
errors (GstBus *bus)
{
  guint n = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
    GError *err = NULL;
    gst_message_parse_error (m, &err, NULL);
    GST_INFO ("error: %s", err->message);
    fail_unless (err->message && strlen (err->message) > 10);
    g_error_free (err);
    gst_message_unref (m);
    n++;
  }
  return n;
}

static void
drain (GstHarness *h)
{
  GstBuffer *b;
  while ((b = gst_harness_try_pull (h)))
    gst_buffer_unref (b);
}

/* every element at sizes down to 1x1 and up to 4097 wide: each frame comes back out */
GST_START_TEST (test_odd_resolutions)
{
  static const int sizes[][2] = { { 1, 1 }, { 3, 5 }, { 4097, 3 }, { 2, 1000 }, { 33, 17 } };
  for (guint e = 0; e < G_N_ELEMENTS (elements); e++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      int w = sizes[s][0], ht = sizes[s][1];
      GstHarness *h = make_harness (elements[e]);
      GstBus *bus = svh_watch (h);
      svh_set_caps (h, "RGB", w, ht);
      for (guint i = 0; i < 12; i++)
        fail_unless_equals_int (gst_harness_push (h, frame (w, ht, i, PTS (i))), GST_FLOW_OK);
      fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
      guint out = 0;
      GstBuffer *b;
      while ((b = gst_harness_try_pull (h))) {
        out++;
        gst_buffer_unref (b);
      }
      GST_INFO ("%s %dx%d: %u frames out", elements[e], w, ht, out);
      fail_unless_equals_int (out, 12);
      fail_unless_equals_int (errors (bus), 0);
      svh_unwatch (h, bus);
      gst_harness_teardown (h);
    }
}
GST_END_TEST;

/* a buffer smaller than its caps say: an error message and GST_FLOW_ERROR, no crash */
GST_START_TEST (test_short_buffers)
{
  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    for (int kind = 0; kind < 2; kind++) {
      GstHarness *h = make_harness (elements[e]);
      GstBus *bus = svh_watch (h);
      svh_set_caps (h, "RGB", 32, 24);
      fail_unless_equals_int (gst_harness_push (h, frame (32, 24, 0, PTS (0))), GST_FLOW_OK);
      GstBuffer *bad = kind == 0 ? gst_buffer_new () : gst_buffer_new_allocate (NULL, 100, NULL);
      GST_BUFFER_PTS (bad) = PTS (1);
      GstFlowReturn ret = gst_harness_push (h, bad);
      GST_INFO ("%s, %s buffer: %s", elements[e], kind == 0 ? "empty" : "short",
                gst_flow_get_name (ret));
      fail_unless (ret == GST_FLOW_ERROR);
      fail_unless (errors (bus) >= 1);
      drain (h);
      svh_unwatch (h, bus);
      gst_harness_teardown (h);
    }
  }
}
GST_END_TEST;

/* no timestamps, timestamps going back, a jump of a minute and gap events: frames flow */
GST_START_TEST (test_timestamps_and_gaps)
{
  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    GstHarness *h = make_harness (elements[e]);
    GstBus *bus = svh_watch (h);
    svh_set_caps (h, "RGB", 32, 24);
    guint pushed = 0;
    for (guint i = 0; i < 10; i++, pushed++) /* none */
      fail_unless_equals_int (gst_harness_push (h, frame (32, 24, i, GST_CLOCK_TIME_NONE)),
                              GST_FLOW_OK);
    for (guint i = 0; i < 10; i++, pushed++) /* backwards */
      fail_unless_equals_int (gst_harness_push (h, frame (32, 24, i, PTS (100 - i))), GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h, gst_event_new_gap (PTS (200), GST_SECOND)));
    for (guint i = 0; i < 10; i++, pushed++) /* a minute later */
      fail_unless_equals_int (gst_harness_push (h, frame (32, 24, i, 60 * GST_SECOND + PTS (i))),
                              GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    guint out = 0;
    GstBuffer *b;
    while ((b = gst_harness_try_pull (h))) {
      out++;
      gst_buffer_unref (b);
    }
    fail_unless_equals_int (out, pushed);
    fail_unless_equals_int (errors (bus), 0);
    svh_unwatch (h, bus);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

/* caps changing every few frames, between formats and sizes */
GST_START_TEST (test_caps_changes)
{
  static const char *const caps[] = {
    "video/x-raw,format=RGB,width=32,height=24,framerate=30/1",
    "video/x-raw,format=BGRx,width=17,height=9,framerate=30/1",
    "video/x-raw,format=RGBA,width=64,height=64,framerate=25/1",
    "video/x-raw,format=RGB,width=5,height=3,framerate=0/1",
  };
  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    GstHarness *h = make_harness (elements[e]);
    GstBus *bus = svh_watch (h);
    guint n = 0;
    for (guint round = 0; round < 3; round++)
      for (guint c = 0; c < G_N_ELEMENTS (caps); c++) {
        gst_harness_set_src_caps_str (h, caps[c]);
        GstVideoInfo info;
        GstCaps *cc = gst_caps_from_string (caps[c]);
        fail_unless (gst_video_info_from_caps (&info, cc));
        gst_caps_unref (cc);
        for (guint i = 0; i < 5; i++, n++) {
          GstBuffer *b = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
          gst_buffer_memset (b, 0, (guint8) (n * 31), GST_VIDEO_INFO_SIZE (&info));
          GST_BUFFER_PTS (b) = PTS (n);
          fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
        }
        drain (h);
      }
    fail_unless_equals_int (errors (bus), 0);
    svh_unwatch (h, bus);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

static GstElement *
all_four_pipeline (const char *model, guint n_buffers)
{
  char *desc = g_strdup_printf (
      "videotestsrc num-buffers=%u ! video/x-raw,width=48,height=32,framerate=30/1 ! "
      "svilmscenecut model=%s ! svilmground model=%s phrases=ball ! svilmencode model=%s ! "
      "svilmretrieve model=%s query=ball ! fakesink",
      n_buffers, model, model, model, model);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  fail_unless (p != NULL && err == NULL);
  g_free (desc);
  return p;
}

/* 1000 cycles of a pipeline with all four elements, sometimes while frames flow */
GST_START_TEST (test_thousand_cycles)
{
  GstElement *p = all_four_pipeline (model_path, 1000000);
  GstBus *bus = gst_element_get_bus (p);
  for (int i = 0; i < 1000; i++) {
    GstState target = i % 10 == 9 ? GST_STATE_PLAYING : i % 2 ? GST_STATE_PAUSED : GST_STATE_READY;
    fail_unless (gst_element_set_state (p, target) != GST_STATE_CHANGE_FAILURE);
    if (target != GST_STATE_READY)
      fail_unless (gst_element_get_state (p, NULL, NULL, 10 * GST_SECOND) !=
                   GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_set_state (p, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (m == NULL);
    gst_bus_set_flushing (bus, TRUE); /* drop the rest */
    gst_bus_set_flushing (bus, FALSE);
  }
  svh_drop_bus (bus);
  gst_object_unref (p);
}
GST_END_TEST;

/* the model property changed in READY: the next run uses the new file; a bad file then
 * fails the start with an error and the element recovers with a good one */
GST_START_TEST (test_model_swap_in_ready)
{
  const char *models[] = { model_path, model2_path, "/nonexistent.safetensors", model_path };
  GstElement *p = all_four_pipeline (model_path, 20);
  GstBus *bus = gst_element_get_bus (p);
  GstElement *enc = gst_bin_get_by_name (GST_BIN (p), "svilmencode0");
  fail_unless (enc != NULL);
  for (guint i = 0; i < G_N_ELEMENTS (models); i++) {
    fail_unless (gst_element_set_state (p, GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS);
    g_object_set (enc, "model", models[i], NULL);
    GstStateChangeReturn r = gst_element_set_state (p, GST_STATE_PLAYING);
    GstMessage *m =
        gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    fail_unless (m != NULL);
    gboolean bad = i == 2;
    fail_unless_equals_int (GST_MESSAGE_TYPE (m), bad ? GST_MESSAGE_ERROR : GST_MESSAGE_EOS);
    if (bad) {
      GError *err = NULL;
      gst_message_parse_error (m, &err, NULL);
      fail_unless (strstr (err->message, "Could not load the svilm model") != NULL);
      g_error_free (err);
    } else {
      fail_unless (r != GST_STATE_CHANGE_FAILURE);
    }
    gst_message_unref (m);
    fail_unless (gst_element_set_state (p, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
    gst_bus_set_flushing (bus, TRUE);
    gst_bus_set_flushing (bus, FALSE);
  }
  gst_object_unref (enc);
  svh_drop_bus (bus);
  gst_object_unref (p);
}
GST_END_TEST;

/* four pipelines at once, from four threads, all on one model file: each reaches EOS */
static gpointer
run_pipeline (gpointer data)
{
  GstElement *p = all_four_pipeline (model_path, 40);
  GstBus *bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstMessage *m =
      gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean ok = m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
  if (m)
    gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);
  svh_drop_bus (bus);
  gst_object_unref (p);
  return GINT_TO_POINTER (ok);
}

GST_START_TEST (test_shared_model_threads)
{
  for (int round = 0; round < 3; round++) {
    GThread *t[4];
    for (int i = 0; i < 4; i++)
      t[i] = g_thread_new ("pipeline", run_pipeline, NULL);
    for (int i = 0; i < 4; i++)
      fail_unless (GPOINTER_TO_INT (g_thread_join (t[i])));
  }
}
GST_END_TEST;

static Suite *
robustness_suite (void)
{
  Suite *s = suite_create ("robustness");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 600);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_odd_resolutions);
  tcase_add_test (tc, test_short_buffers);
  tcase_add_test (tc, test_timestamps_and_gaps);
  tcase_add_test (tc, test_caps_changes);
  tcase_add_test (tc, test_thousand_cycles);
  tcase_add_test (tc, test_model_swap_in_ready);
  tcase_add_test (tc, test_shared_model_threads);
  return s;
}

/* threads of this process */
static guint
n_threads (void)
{
  GDir *d = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;
  if (!d)
    return 1;
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n;
}

int
main (int argc, char **argv)
{
  gst_check_init (&argc, &argv);
  /* libcheck forks a child per test.  When gst_check_init() has just rebuilt the registry
   * in this process, plugins it loaded may have started threads, and ThreadSanitizer
   * (the CI's TSan stage runs this test) stops any child forked from a multi-threaded
   * process as soon as it starts a thread.  Start once more: the registry is then up to
   * date and nothing is loaded before the forks. */
  if (n_threads () > 1 && !g_getenv ("SVILM_TEST_RESTARTED")) {
    g_setenv ("SVILM_TEST_RESTARTED", "1", TRUE);
    execv ("/proc/self/exe", argv);
    g_printerr ("could not restart %s: %s\n", argv[0], g_strerror (errno));
  }
  if (argc < 2) {
    g_printerr ("usage: test-robustness MAKE_TEST_MODEL_PROGRAM\n");
    return 2;
  }
  tmp_dir = g_dir_make_tmp ("svilm-robust-XXXXXX", NULL);
  model_path = svh_make_test_model (argv[1], tmp_dir, "model.safetensors", "--small");
  model2_path = svh_make_test_model (argv[1], tmp_dir, "model2.safetensors", NULL); /* deeper */
  if (!model_path || !model2_path)
    return 1;
  int failed = gst_check_run_suite (robustness_suite (), "robustness", __FILE__);
  g_remove (model_path);
  g_remove (model2_path);
  g_rmdir (tmp_dir);
  g_free (model_path);
  g_free (model2_path);
  g_free (tmp_dir);
  return failed;
}
