/* svilmscenecut with GstHarness: cut messages and their fields, force-key-unit
 * events (before the new scene's first buffer with look-ahead, later without),
 * threshold and min-scene-length, the marker, JSON lines, latency,
 * renegotiation, EOS with a partial window, flushing, state cycles and a bad
 * model file.
 *
 * The test model is untrained: its scores are arbitrary, so these tests check
 * the mechanics with threshold 0 and merge-runs off (every allowed boundary is
 * a cut), or above 2 (none).  With the test model's 8-frame clips of 4 token slices and the
 * default stride of 4, slice boundaries fall on every even frame.
 *
 *   test-svilmscenecut MAKE_TEST_MODEL_PROGRAM
 */
#include "svilm-harness.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

static char *model_path, *tmp_dir;

#define FRAME_DUR (gst_util_uint64_scale (1, GST_SECOND, 30))

/* what left the element, in order */
typedef struct {
  char kind; /* B buffer, K force-key-unit, T tag, E eos */
  GstClockTime pts, running;
  guint count;
  gboolean all_headers;
  guint8 first_pixel[3];
} Rec;

static GArray *recs;

static GstPadProbeReturn
record (GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
  Rec r = { 0 };
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
    r.kind = 'B';
    r.pts = GST_BUFFER_PTS (b);
    gst_buffer_extract (b, 0, r.first_pixel, 3);
  } else {
    GstEvent *e = GST_PAD_PROBE_INFO_EVENT (info);
    if (gst_video_event_is_force_key_unit (e)) {
      GstClockTime stream;
      r.kind = 'K';
      gst_video_event_parse_downstream_force_key_unit (e, &r.pts, &stream, &r.running,
                                                       &r.all_headers, &r.count);
      fail_unless_equals_uint64 (stream, r.pts);
    } else if (GST_EVENT_TYPE (e) == GST_EVENT_TAG) {
      r.kind = 'T';
    } else if (GST_EVENT_TYPE (e) == GST_EVENT_EOS) {
      r.kind = 'E';
    } else {
      return GST_PAD_PROBE_OK;
    }
  }
  g_array_append_val (recs, r);
  return GST_PAD_PROBE_OK;
}

/* props: "name=value name=value"; records what leaves the element in recs */
static GstHarness *
make_harness (const char *props)
{
  GstHarness *h = svh_harness_take (svh_element_new ("svilmscenecut", model_path, props));
  GstPad *src = gst_element_get_static_pad (h->element, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, record,
                     NULL, NULL);
  gst_object_unref (src);
  if (recs)
    g_array_unref (recs);
  recs = g_array_new (FALSE, TRUE, sizeof (Rec));
  return h;
}

/* pushes frames start..start+n-1: a pattern that changes with i (and jumps every 10
 * frames), or black */
static void
push_frames (GstHarness *h, int w, int ht, guint start, guint n, gboolean black)
{
  for (guint i = start; i < start + n; i++)
    fail_unless_equals_int (gst_harness_push (h, svh_frame_full ("RGB", w, ht, i, 10, black)),
                            GST_FLOW_OK);
}

static guint
count_kind (char kind)
{
  guint n = 0;
  for (guint i = 0; i < recs->len; i++)
    n += g_array_index (recs, Rec, i).kind == kind;
  return n;
}

static guint n_gradual; /* cuts of the gradual detector among those pop_cuts popped */

/* Pops the svilm-scenecut messages, checks their fields; returns their frames. */
static GArray *
pop_cuts (GstBus *bus)
{
  n_gradual = 0;
  GArray *frames = g_array_new (FALSE, FALSE, sizeof (guint64));
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, "svilm-scenecut")) {
      guint64 ts, st, rt, dur, f;
      gdouble score;
      fail_unless (gst_structure_get_uint64 (s, "timestamp", &ts));
      fail_unless (gst_structure_get_uint64 (s, "stream-time", &st));
      fail_unless (gst_structure_get_uint64 (s, "running-time", &rt));
      fail_unless (gst_structure_get_uint64 (s, "duration", &dur));
      fail_unless (gst_structure_get_double (s, "score", &score));
      fail_unless (gst_structure_get_uint64 (s, "frame", &f));
      gboolean gradual = TRUE;
      fail_unless (gst_structure_get_boolean (s, "gradual", &gradual));
      n_gradual += gradual;
      /* frames from pts 0 at 30 fps in a segment from 0 */
      fail_unless_equals_uint64 (ts, gst_util_uint64_scale (f, GST_SECOND, 30));
      fail_unless_equals_uint64 (st, ts);
      fail_unless_equals_uint64 (rt, ts);
      fail_unless_equals_uint64 (dur, FRAME_DUR);
      fail_unless (score >= 0.0 && score <= 2.0);
      g_array_append_val (frames, f);
    }
    gst_message_unref (m);
  }
  return frames;
}

static void
assert_frames (GArray *got, const guint64 *want, guint n)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < got->len; i++)
    g_string_append_printf (s, " %" G_GUINT64_FORMAT, g_array_index (got, guint64, i));
  GST_INFO ("cuts:%s", s->str);
  fail_unless_equals_int (got->len, n);
  for (guint i = 0; i < n; i++)
    fail_unless_equals_uint64 (g_array_index (got, guint64, i), want[i]);
  g_string_free (s, TRUE);
}

/* Each force-key-unit event carries a cut's timestamps; with look-ahead it comes
 * right before that buffer, without it after.  Returns how many there were. */
static guint
check_key_units (gboolean look_ahead, GArray *cut_frames)
{
  guint k = 0;
  for (guint i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);
    if (r->kind != 'K')
      continue;
    fail_unless (r->all_headers);
    fail_unless_equals_uint64 (r->running, r->pts);
    fail_unless_equals_int (r->count, ++k);
    if (cut_frames && k <= cut_frames->len) {
      guint64 f = g_array_index (cut_frames, guint64, k - 1);
      fail_unless_equals_uint64 (r->pts, gst_util_uint64_scale (f, GST_SECOND, 30));
    }
    guint j;
    for (j = 0; j < recs->len; j++)
      if (g_array_index (recs, Rec, j).kind == 'B' && g_array_index (recs, Rec, j).pts == r->pts)
        break;
    fail_unless (j < recs->len, "no buffer for a key unit event");
    if (look_ahead) {
      fail_unless_equals_int (j, i + 1);
    } else {
      fail_unless (j < i);
    }
  }
  if (cut_frames)
    fail_unless_equals_int (k, cut_frames->len);
  return k;
}

/* buffers left in order, EOS last */
static void
check_order (guint n_buffers)
{
  GstClockTime last = 0;
  guint b = 0;
  for (guint i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);
    if (r->kind == 'B') {
      fail_unless (b == 0 || r->pts > last);
      last = r->pts;
      b++;
    }
    if (r->kind == 'E')
      fail_unless_equals_int (i, recs->len - 1);
  }
  fail_unless_equals_int (b, n_buffers);
}

/* the cuts svilmscenecut with props reports on n changing frames of 64x48 and EOS, each
 * with its force-key-unit event right before the new scene's first buffer */
static GArray *
cuts_on_frames (const char *props, guint n)
{
  GstHarness *h = make_harness (props);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, n, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GArray *cuts = pop_cuts (bus);
  check_key_units (TRUE, cuts);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
  return cuts;
}

GST_START_TEST (test_cut_at_every_allowed_boundary)
{
  /* one window at a time: test_batches has the holding bound of batches */
  GstHarness *h = make_harness ("threshold=0 merge-runs=false min-scene-length=4 batch=1");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  guint stride = 1;
  g_object_get (h->element, "stride", &stride, NULL);
  fail_unless_equals_int (stride, 0); /* the default: half a window (4 frames here) */
  for (guint i = 0; i < 40; i++) {
    push_frames (h, 64, 48, i, 1, FALSE);
    /* look-ahead holds at most frames-per-clip - 1 frames */
    fail_unless (count_kind ('B') + 7 >= i + 1);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GArray *cuts = pop_cuts (bus);
  const guint64 want[] = { 4, 8, 12, 16, 20, 24, 28, 32, 36 };
  assert_frames (cuts, want, G_N_ELEMENTS (want));
  check_key_units (TRUE, cuts);
  check_order (40);
  fail_unless_equals_int (count_kind ('E'), 1);
  g_array_unref (cuts);

  /* min-scene-length 0: every boundary, every second frame */
  gst_harness_teardown (h);
  svh_drop_bus (bus);
  cuts = cuts_on_frames ("threshold=0 merge-runs=false min-scene-length=0", 16);
  const guint64 every[] = { 2, 4, 6, 8, 10, 12, 14 };
  assert_frames (cuts, every, G_N_ELEMENTS (every));
  g_array_unref (cuts);

  /* merge-runs (the default): every boundary reaches threshold 0, so all are one run
   * and make one cut, the first that min-scene-length allows */
  h = make_harness ("");
  gboolean merge = FALSE;
  g_object_get (h->element, "merge-runs", &merge, NULL);
  fail_unless (merge);
  gst_harness_teardown (h);
  cuts = cuts_on_frames ("threshold=0 min-scene-length=3", 16);
  const guint64 one[] = { 4 };
  assert_frames (cuts, one, G_N_ELEMENTS (one));
  g_array_unref (cuts);
}
GST_END_TEST;

/* The gradual detector: no usual cut (threshold above 2), every wide score of the untrained
 * model above a tiny gradual-threshold, so all boundaries are one run of wide scores and
 * make one cut, flagged gradual, at the first that min-scene-length allows.  The test model
 * has no scene head, so the detector is off by default. */
GST_START_TEST (test_gradual_detector)
{
  GstHarness *h = make_harness ("");
  gdouble gt = 0.0;
  guint gap = 0;
  g_object_get (h->element, "gradual-threshold", &gt, "gradual-gap", &gap, NULL);
  fail_unless_equals_float (gt, -1.0);
  fail_unless_equals_int (gap, 16);
  gst_harness_teardown (h);

  GArray *cuts = cuts_on_frames ("threshold=2.5 min-scene-length=3", 24);
  fail_unless_equals_int (cuts->len, 0);
  g_array_unref (cuts);

  cuts = cuts_on_frames ("threshold=2.5 min-scene-length=3 gradual-threshold=0.000001", 24);
  const guint64 one[] = { 4 };
  assert_frames (cuts, one, G_N_ELEMENTS (one));
  fail_unless_equals_int (n_gradual, 1);
  g_array_unref (cuts);

  /* usual cuts (threshold 0) win over the gradual detector: none of them is gradual */
  cuts = cuts_on_frames ("threshold=0 min-scene-length=3 gradual-threshold=0.000001", 24);
  assert_frames (cuts, one, G_N_ELEMENTS (one));
  fail_unless_equals_int (n_gradual, 0);
  g_array_unref (cuts);
}
GST_END_TEST;

GST_START_TEST (test_threshold_above_two_and_mutable)
{
  GstHarness *h = make_harness ("threshold=2.5 merge-runs=false min-scene-length=4 stride=4");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 20, FALSE);
  GArray *cuts = pop_cuts (bus);
  fail_unless_equals_int (cuts->len, 0);
  g_array_unref (cuts);
  /* threshold is mutable in PLAYING: boundaries decided from now on cut */
  g_object_set (h->element, "threshold", 0.0, NULL);
  push_frames (h, 64, 48, 20, 20, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  cuts = pop_cuts (bus);
  fail_unless (cuts->len > 0);
  fail_unless (g_array_index (cuts, guint64, 0) > 16); /* decided up to 16 before */
  check_key_units (TRUE, cuts);
  check_order (40);
  g_array_unref (cuts);
  gst_harness_teardown (h);
  svh_drop_bus (bus);

  h = make_harness ("threshold=2.01 min-scene-length=0");
  bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 40, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  cuts = pop_cuts (bus);
  fail_unless_equals_int (cuts->len, 0);
  fail_unless_equals_int (count_kind ('K'), 0);
  check_order (40);
  g_array_unref (cuts);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_no_look_ahead)
{
  GstHarness *h = make_harness ("threshold=0 merge-runs=false min-scene-length=4 look-ahead=false");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  for (guint i = 0; i < 40; i++) {
    push_frames (h, 64, 48, i, 1, FALSE);
    fail_unless_equals_int (count_kind ('B'), i + 1); /* nothing held */
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GArray *cuts = pop_cuts (bus);
  const guint64 want[] = { 4, 8, 12, 16, 20, 24, 28, 32, 36 };
  assert_frames (cuts, want, G_N_ELEMENTS (want));
  /* same cuts and timestamps, but the events follow their frames */
  check_key_units (FALSE, cuts);
  check_order (40);
  g_array_unref (cuts);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

static void
check_marked (const char *props, const guint *marked, guint n_marked)
{
  GstHarness *h = make_harness (props);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 40, TRUE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  guint b = 0;
  for (guint i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);
    if (r->kind != 'B')
      continue;
    gboolean want = FALSE;
    for (guint j = 0; j < n_marked; j++)
      want |= marked[j] == b;
    if (want) {
      fail_unless (r->first_pixel[0] == 255 && r->first_pixel[1] == 32, "frame %u unmarked", b);
    } else {
      fail_unless (r->first_pixel[0] == 0, "frame %u marked", b);
    }
    b++;
  }
  fail_unless_equals_int (b, 40);
  gst_harness_teardown (h);
}

GST_START_TEST (test_draw)
{
  /* cuts at 10, 20, 30; the marker covers a fifth of a second (6 frames) */
  const guint exact[] = { 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25, 30, 31, 32, 33, 34, 35 };
  check_marked ("threshold=0 merge-runs=false min-scene-length=10 draw=true stride=4", exact,
                G_N_ELEMENTS (exact));
  /* without look-ahead the marker starts where each cut was decided: the ends of
   * the windows 8-15, 16-23 and 28-35 */
  const guint late[] = { 15, 16, 17, 18, 19, 20, 23, 24, 25, 26, 27, 28, 35, 36, 37, 38, 39 };
  check_marked (
      "threshold=0 merge-runs=false min-scene-length=10 draw=true look-ahead=false stride=4 "
      "batch=1",
      late, G_N_ELEMENTS (late));
  check_marked ("threshold=0 merge-runs=false min-scene-length=10", NULL, 0);
}
GST_END_TEST;

GST_START_TEST (test_renegotiate)
{
  GstHarness *h = make_harness ("threshold=0 merge-runs=false min-scene-length=4");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 20, FALSE);
  /* a new size: held frames go out first, windows restart at frame 20 */
  svh_set_caps (h, "RGB", 96, 64);
  fail_unless_equals_int (count_kind ('B'), 20);
  push_frames (h, 96, 64, 20, 20, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GArray *cuts = pop_cuts (bus);
  const guint64 want[] = { 4, 8, 12, 16, 22, 26, 30, 34, 38 };
  assert_frames (cuts, want, G_N_ELEMENTS (want));
  check_key_units (TRUE, cuts);
  check_order (40);
  g_array_unref (cuts);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_partial_window_at_eos)
{
  GstHarness *h = make_harness ("threshold=0 merge-runs=false min-scene-length=1 stride=4");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 10, FALSE);
  fail_unless (count_kind ('B') < 10);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* window 0-7 gives 2, 4, 6; the partial window 4-9 (6 frames sampled to 8)
   * adds a boundary at 7 */
  GArray *cuts = pop_cuts (bus);
  const guint64 want[] = { 2, 4, 6, 7 };
  assert_frames (cuts, want, G_N_ELEMENTS (want));
  check_key_units (TRUE, cuts);
  check_order (10);
  g_array_unref (cuts);

  /* shorter than one window */
  gst_harness_teardown (h);
  svh_drop_bus (bus);
  h = make_harness ("threshold=0 merge-runs=false min-scene-length=0");
  bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 5, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* 5 frames sampled to 8: slices show frames 0-0, 1-2, 2-3, 4-4; the boundary
   * between the second and third falls inside frame 2 and is skipped */
  cuts = pop_cuts (bus);
  const guint64 tail[] = { 1, 4 };
  assert_frames (cuts, tail, G_N_ELEMENTS (tail));
  check_key_units (TRUE, cuts);
  check_order (5);
  g_array_unref (cuts);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* The default stride is one token slice (2 frames with the test model), so that every
 * boundary is seen at every position of a window (docs/elements/svilmscenecut.md,
 * Position bias); the tests above that follow window arithmetic set stride=4. */
GST_START_TEST (test_default_stride_one_slice)
{
  GstHarness *h = make_harness ("threshold=0 merge-runs=false min-scene-length=0 batch=1");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 12, FALSE);
  /* windows 0-7, 2-9, 4-11 encoded; the next starts at 6, so boundaries 2, 4, 6 are
   * decided and frames 0-6 go out (7 waits: a partial window at EOS may still put a
   * boundary on it; with stride=4, 9 go out, see test_flush) */
  GArray *cuts = pop_cuts (bus);
  const guint64 decided[] = { 2, 4, 6 };
  assert_frames (cuts, decided, G_N_ELEMENTS (decided));
  fail_unless_equals_int (count_kind ('B'), 7);
  g_array_unref (cuts);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  cuts = pop_cuts (bus);
  const guint64 rest[] = { 8, 10 };
  assert_frames (cuts, rest, G_N_ELEMENTS (rest));
  check_order (12);
  g_array_unref (cuts);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

static void
assert_same_cuts (GArray *got, GArray *want)
{
  assert_frames (got, (const guint64 *) (gpointer) want->data, want->len);
  g_array_unref (got);
}

/* Windows encoded in batches (side by side on the cores) give the cuts of one window
 * at a time, only later: each window waits for its batch. */
GST_START_TEST (test_batches)
{
  const char *rules[] = { "threshold=0 merge-runs=false min-scene-length=4", "min-scene-length=3",
                          "threshold=0 merge-runs=false min-scene-length=0 inference-interval=3" };
  for (guint r = 0; r < G_N_ELEMENTS (rules); r++) {
    char *props = g_strdup_printf ("%s batch=1", rules[r]);
    GArray *want = cuts_on_frames (props, 37);
    g_free (props);
    fail_unless (want->len > 0 || r == 1);
    for (guint batch = 2; batch <= 4; batch++) {
      props = g_strdup_printf ("%s batch=%u", rules[r], batch);
      assert_same_cuts (cuts_on_frames (props, 37), want);
      g_free (props);
    }
    g_array_unref (want);
  }
  /* look-ahead holds up to frames-per-clip - 1 frames and (batch - 1) strides of 2 */
  for (guint batch = 2; batch <= 4; batch++) {
    char *props = g_strdup_printf ("threshold=0 merge-runs=false batch=%u", batch);
    GstHarness *h = make_harness (props);
    g_free (props);
    svh_set_caps (h, "RGB", 64, 48);
    guint most = 0;
    for (guint i = 0; i < 30; i++) {
      push_frames (h, 64, 48, i, 1, FALSE);
      most = MAX (most, i + 1 - count_kind ('B'));
    }
    /* within the latency it reports, and a stride more each window of the batch */
    fail_unless (most <= 7 + (batch - 1) * 2, "held %u frames with batch %u", most, batch);
    fail_unless (most >= 6 + (batch - 1) * 2, "held %u frames with batch %u", most, batch);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

GST_START_TEST (test_flush)
{
  GstHarness *h = make_harness ("threshold=0 merge-runs=false min-scene-length=4 stride=4");
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 12, FALSE);
  fail_unless_equals_int (count_kind ('B'), 9); /* 9-11 held */
  GArray *cuts = pop_cuts (bus);
  const guint64 before[] = { 4, 8 };
  assert_frames (cuts, before, G_N_ELEMENTS (before));
  g_array_unref (cuts);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  g_array_set_size (recs, 0);
  /* a new start: the held frames are dropped, cuts count from here */
  push_frames (h, 64, 48, 0, 20, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  cuts = pop_cuts (bus);
  const guint64 after[] = { 4, 8, 12, 16 };
  assert_frames (cuts, after, G_N_ELEMENTS (after));
  check_order (20);
  fail_unless_equals_uint64 (g_array_index (recs, Rec, 0).pts, 0);
  g_array_unref (cuts);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_event_order)
{
  GstHarness *h = make_harness ("threshold=2.5");
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 3, FALSE);
  /* a tag arriving while frames are held keeps its place behind them */
  GstTagList *tags = gst_tag_list_new (GST_TAG_TITLE, "test", NULL);
  fail_unless (gst_harness_push_event (h, gst_event_new_tag (tags)));
  push_frames (h, 64, 48, 3, 13, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  check_order (16);
  guint b = 0;
  for (guint i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);
    if (r->kind == 'T')
      fail_unless_equals_int (b, 3);
    b += r->kind == 'B';
  }
  fail_unless_equals_int (count_kind ('T'), 1);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_latency)
{
  GstHarness *h = make_harness ("batch=1");
  svh_set_caps (h, "RGB", 64, 48);
  /* before any inference: the look-ahead alone, 7 frames */
  fail_unless_equals_uint64 (gst_harness_query_latency (h), 7 * FRAME_DUR);
  gst_harness_teardown (h);
  /* a batch of 3 windows 2 frames apart: the first waits 4 frames more */
  h = make_harness ("batch=3");
  svh_set_caps (h, "RGB", 64, 48);
  fail_unless_equals_uint64 (gst_harness_query_latency (h), 11 * FRAME_DUR);
  gst_harness_teardown (h);
  h = make_harness ("look-ahead=false");
  svh_set_caps (h, "RGB", 64, 48);
  fail_unless_equals_uint64 (gst_harness_query_latency (h), 0);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_json_lines)
{
  char *path = g_build_filename (tmp_dir, "cuts.jsonl", NULL);
  char *props = g_strdup_printf (
      "location=%s post-messages=false threshold=0 merge-runs=false min-scene-length=8", path);
  GstHarness *h = make_harness (props);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 40, 30);
  push_frames (h, 40, 30, 0, 24, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GArray *cuts = pop_cuts (bus);
  fail_unless_equals_int (cuts->len, 0);
  g_array_unref (cuts);
  gst_element_set_state (h->element, GST_STATE_NULL); /* closes the file */
  char *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  char **lines = g_strsplit (g_strstrip (text), "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 2); /* 8 and 16 */
  for (guint i = 0; i < 2; i++) {
    JsonParser *p = json_parser_new ();
    fail_unless (json_parser_load_from_data (p, lines[i], -1, NULL));
    JsonObject *o = json_node_get_object (json_parser_get_root (p));
    fail_unless_equals_string (json_object_get_string_member (o, "type"), "svilm-scenecut");
    fail_unless_equals_int (json_object_get_int_member (o, "frame"), 8 * (i + 1));
    fail_unless_equals_int (json_object_get_int_member (o, "timestamp"),
                            gst_util_uint64_scale (8 * (i + 1), GST_SECOND, 30));
    double score = json_object_get_double_member (o, "score");
    fail_unless (score >= 0.0 && score <= 2.0);
    g_object_unref (p);
  }
  g_strfreev (lines);
  g_free (text);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
  g_remove (path);
  g_free (path);
  g_free (props);
}
GST_END_TEST;

GST_START_TEST (test_state_cycles)
{
  GstElement *e = gst_element_factory_make ("svilmscenecut", NULL);
  g_object_set (e, "model", model_path, "device", "cpu", NULL);
  for (int i = 0; i < 50; i++) {
    fail_unless (gst_element_set_state (e, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    guint stride = 1;
    g_object_get (e, "stride", &stride, NULL);
    fail_unless_equals_int (stride, 0); /* the property is not rewritten while running */
    fail_unless (gst_element_set_state (e, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (e);
  /* and with frames in flight */
  for (int i = 0; i < 5; i++) {
    GstHarness *h = make_harness ("threshold=0 merge-runs=false");
    svh_set_caps (h, "RGB", 32, 32);
    push_frames (h, 32, 32, 0, 13, FALSE);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

GST_START_TEST (test_bad_model)
{
  char *bad = g_build_filename (tmp_dir, "corrupt.safetensors", NULL);
  g_file_set_contents (bad, "\x10\x00\x00\x00\x00\x00\x00\x00{\"x\": 1", 15, NULL);
  const char *paths[] = { "/nonexistent/model.safetensors", bad };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    GstElement *e = gst_element_factory_make ("svilmscenecut", NULL);
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

/* Without a model property, svilmscenecut loads the bundled scene-cut model and the other
 * elements the bundled default (models/README.md); $SVILM_MODEL overrides both. */
GST_START_TEST (test_default_models)
{
  const char *elements[] = { "svilmscenecut", "svilmencode" };
  const char *files[] = { "scenecut.safetensors", "default.safetensors" };
  const char *env = g_getenv ("SVILM_MODEL");
  for (guint i = 0; i < G_N_ELEMENTS (elements); i++) {
    GstElement *e = gst_element_factory_make (elements[i], NULL);
    fail_unless (e != NULL);
    char *path = NULL;
    g_object_get (e, "model", &path, NULL);
    fail_unless (path != NULL);
    if (env && *env) {
      fail_unless_equals_string (path, env);
    } else {
      fail_unless (g_str_has_suffix (path, files[i]), "%s's default model: %s", elements[i], path);
    }
    g_free (path);
    gst_object_unref (e);
  }
}
GST_END_TEST;

static Suite *
svilmscenecut_suite (void)
{
  Suite *s = suite_create ("svilmscenecut");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_cut_at_every_allowed_boundary);
  tcase_add_test (tc, test_gradual_detector);
  tcase_add_test (tc, test_threshold_above_two_and_mutable);
  tcase_add_test (tc, test_no_look_ahead);
  tcase_add_test (tc, test_draw);
  tcase_add_test (tc, test_renegotiate);
  tcase_add_test (tc, test_partial_window_at_eos);
  tcase_add_test (tc, test_default_stride_one_slice);
  tcase_add_test (tc, test_batches);
  tcase_add_test (tc, test_flush);
  tcase_add_test (tc, test_event_order);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_json_lines);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_bad_model);
  tcase_add_test (tc, test_default_models);
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
  tmp_dir = g_dir_make_tmp ("svilm-scenecut-XXXXXX", NULL);
  model_path = svh_make_test_model (argv[1], tmp_dir, "model.safetensors", "--small");
  if (!model_path)
    return 1;
  int failed = gst_check_run_suite (svilmscenecut_suite (), "svilmscenecut", __FILE__);
  if (recs)
    g_array_unref (recs);
  g_remove (model_path);
  g_rmdir (tmp_dir);
  g_free (model_path);
  g_free (tmp_dir);
  return failed;
}
