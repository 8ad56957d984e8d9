/* What the elements find with the bundled default model, end to end through GStreamer, on
 * videos of svilm-train synth's generator whose ground truth is known (test split: its
 * colour-noun pairs never appear in training):
 *
 * - svilmscenecut on single-scene videos played back to back: the hard cuts between
 *   them, located to within 2 frames (F1); with a camera flash inside each video, the
 *   flashes are not cuts (flash-filter), where without the filter they can be;
 * - svilmground on each object's noun phrase: the maximum of the phrase's heatmap falls
 *   inside the object's box (pointing game), against the centre-point baseline, for the
 *   heatmap averaged over the window (at its middle frame) and for each token slice's (at
 *   its frames); with follow (the default) the frames carry the last slice's box, which
 *   is not always the averaged one;
 * - svilmretrieve with every video's caption as a query: the right caption scores best
 *   on each clip (text->video R@1 over the set), against chance.
 *
 * The model is deterministic at inference, so the figures are too; each check asks for
 * clearly better than the baseline, not for the figures themselves, which are printed
 * (and recorded in models/default-eval.md).
 *
 * svilmscenecut runs with SCENECUT_MODEL (its bundled default, models/scenecut.safetensors),
 * the others with MODEL (models/default.safetensors).
 *
 *   test-accuracy MODEL [SCENECUT_MODEL]
 */
#include "sv-synth.h"
#include "svilm-harness.h"
#include "svilm-model.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#define SEED 20261122 /* a corpus the default model never saw */
#define FPS 8
#define TOLERANCE 2 /* frames, as TransNet V2's protocol */

static const char *model_path, *scenecut_model_path;
static const SvSynthFormat fmt = { 64, 64, 16 }; /* as the default corpus */

/* the first n single-scene test-split videos of the corpus (seed SEED) */
static GPtrArray *
single_scene_videos (guint n)
{
  GPtrArray *a = g_ptr_array_new_with_free_func ((GDestroyNotify) sv_synth_video_free);
  for (guint i = 0; a->len < n && i < 100000; i++) {
    SvSynthVideo *v = sv_synth_plan (SEED, i, SV_SPLIT_TEST, &fmt);
    if (v->n_scenes == 1)
      g_ptr_array_add (a, v);
    else
      sv_synth_video_free (v);
  }
  g_assert_cmpuint (a->len, ==, n);
  return a;
}

/* frame f of v as a BGRx buffer stamped as frame `at` of the stream (fills the truth) */
static GstBuffer *
render (SvSynthRenderer *r, SvSynthVideo *v, guint f, guint at)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, fmt.width, fmt.height);
  sv_synth_render_frame (r, v, f, s);
  cairo_surface_flush (s);
  int stride = cairo_image_surface_get_stride (s);
  gsize row = fmt.width * 4;
  GstBuffer *b = gst_buffer_new_allocate (NULL, row * fmt.height, NULL);
  GstMapInfo map;
  gst_buffer_map (b, &map, GST_MAP_WRITE);
  for (guint y = 0; y < fmt.height; y++)
    memcpy (map.data + y * row, cairo_image_surface_get_data (s) + (gsize) y * stride, row);
  gst_buffer_unmap (b, &map);
  cairo_surface_destroy (s);
  GST_BUFFER_PTS (b) = gst_util_uint64_scale (at, GST_SECOND, FPS);
  GST_BUFFER_DURATION (b) = gst_util_uint64_scale (1, GST_SECOND, FPS);
  return b;
}

static GstHarness *
harness (const char *element, const char *props, GstBus **bus)
{
  const char *m = g_str_equal (element, "svilmscenecut") ? scenecut_model_path : model_path;
  char *desc = g_strdup_printf ("%s model=\"%s\" %s", element, m, props);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  char *caps = g_strdup_printf ("video/x-raw,format=BGRx,width=%u,height=%u,framerate=%d/1",
                                fmt.width, fmt.height, FPS);
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
  *bus = svh_watch (h);
  return h;
}

/* pushes the buffers, then EOS; drops what comes out */
static void
run (GstHarness *h, GPtrArray *buffers)
{
  for (guint i = 0; i < buffers->len; i++) {
    g_assert_cmpint (gst_harness_push (h, gst_buffer_ref (buffers->pdata[i])), ==, GST_FLOW_OK);
    GstBuffer *out;
    while ((out = gst_harness_try_pull (h)))
      gst_buffer_unref (out);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer *out;
  while ((out = gst_harness_try_pull (h)))
    gst_buffer_unref (out);
}

static void
finish (GstHarness *h, GstBus *bus)
{
  svh_unwatch (h, bus);
  gst_harness_teardown (h);
}

/* ---- scene cuts ---- */

/* the frames (numbers) where svilmscenecut with props reports cuts on the buffers */
static GArray *
detect_cuts (GPtrArray *buffers, const char *props)
{
  GstBus *bus;
  GstHarness *h = harness ("svilmscenecut", props, &bus);
  run (h, buffers);
  GPtrArray *cuts = svh_pop_messages (bus, "svilm-scenecut");
  GArray *frames = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint c = 0; c < cuts->len; c++) {
    guint64 ts = 0;
    g_assert_true (gst_structure_get_uint64 (cuts->pdata[c], "timestamp", &ts));
    int f = (int) gst_util_uint64_scale_round (ts, FPS, GST_SECOND);
    g_array_append_val (frames, f);
  }
  g_ptr_array_unref (cuts);
  finish (h, bus);
  return frames;
}

/* true transitions (frames) matched one to one to detections within tol: F1 (recall in
 * *recall when not NULL), and the frames of the detections as text into found */
static double
match_f1 (GArray *cuts, const int *truth, guint n_truth, int tol, GString *found, double *recall)
{
  gboolean used[256] = { FALSE };
  g_assert_cmpuint (cuts->len, <, G_N_ELEMENTS (used));
  guint tp = 0;
  for (guint c = 0; c < cuts->len; c++)
    g_string_append_printf (found, " %d", g_array_index (cuts, int, c));
  for (guint i = 0; i < n_truth; i++) {
    int best = -1, best_d = tol + 1;
    for (guint c = 0; c < cuts->len; c++) {
      int d = abs (g_array_index (cuts, int, c) - truth[i]);
      if (!used[c] && d < best_d)
        best = (int) c, best_d = d;
    }
    if (best >= 0)
      used[best] = TRUE, tp++;
  }
  double p = cuts->len ? (double) tp / cuts->len : 0.0, rc = n_truth ? (double) tp / n_truth : 1;
  if (recall)
    *recall = rc;
  return p + rc > 0 ? 2 * p * rc / (p + rc) : 0.0;
}

/* the hard cuts of n videos back to back (every fmt.frames) within TOLERANCE: F1 */
static double
cut_f1 (GArray *cuts, guint n_videos, GString *found)
{
  int truth[64];
  g_assert_cmpuint (n_videos, <=, G_N_ELEMENTS (truth));
  for (guint i = 1; i < n_videos; i++)
    truth[i - 1] = (int) (i * fmt.frames);
  return match_f1 (cuts, truth, n_videos - 1, TOLERANCE, found, NULL);
}

/* the n videos played back to back as buffers; with a flash, frames FLASH_AT.. of each
 * are blown towards white, up and back down (a camera flash, as in the real-footage
 * set of scripts/real-scenecut-set.py) */
#define FLASH_AT 6
#define FLASH_LEN 3
static GPtrArray *
back_to_back (GPtrArray *videos, gboolean flash)
{
  SvSynthRenderer *r = sv_synth_renderer_new (fmt.width, fmt.height);
  GPtrArray *buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  for (guint i = 0; i < videos->len; i++)
    for (guint f = 0; f < fmt.frames; f++) {
      GstBuffer *b = render (r, videos->pdata[i], f, i * fmt.frames + f);
      int k = (int) f - FLASH_AT;
      if (flash && k >= 0 && k < FLASH_LEN) {
        double a = 0.85 * (1.0 - fabs (k - (FLASH_LEN - 1) / 2.0) / (FLASH_LEN / 2.0 + 0.5));
        GstMapInfo map;
        gst_buffer_map (b, &map, GST_MAP_READWRITE);
        for (gsize j = 0; j < map.size; j++)
          map.data[j] = (guint8) (map.data[j] + a * (255 - map.data[j]));
        gst_buffer_unmap (b, &map);
      }
      g_ptr_array_add (buffers, b);
    }
  sv_synth_renderer_free (r);
  return buffers;
}

static void
test_scenecut (void)
{
  enum { N = 12 };
  GPtrArray *videos = single_scene_videos (N);
  GPtrArray *buffers = back_to_back (videos, FALSE);
  GArray *cuts = detect_cuts (buffers, "");
  GString *found = g_string_new (NULL);
  double f1 = cut_f1 (cuts, N, found);
  g_test_message ("svilmscenecut on %d back-to-back test videos: %u cuts found at frames%s; "
                  "true cuts every %u frames; F1 %.3f",
                  N, cuts->len, found->str, fmt.frames, f1);
  /* most cuts found, few false ones (an untrained model scores arbitrary boundaries) */
  g_assert_cmpfloat (f1, >=, 0.8);
  g_string_free (found, TRUE);
  g_array_unref (cuts);
  g_ptr_array_unref (buffers);
  g_ptr_array_unref (videos);
}

/* detections within TOLERANCE of a flash's middle frame */
static guint
cuts_on_flashes (GArray *cuts, guint n_videos)
{
  guint n = 0;
  for (guint i = 0; i < n_videos; i++) {
    int mid = (int) (i * fmt.frames) + FLASH_AT + FLASH_LEN / 2;
    for (guint c = 0; c < cuts->len; c++)
      if (abs (g_array_index (cuts, int, c) - mid) <= TOLERANCE) {
        n++;
        break;
      }
  }
  return n;
}

/* the same videos with a flash inside each: flash-filter (default) keeps the cuts and
 * drops the flashes, which the plain boundary scores take for cuts */
static void
test_scenecut_flash (void)
{
  enum { N = 12 };
  GPtrArray *videos = single_scene_videos (N);
  GPtrArray *buffers = back_to_back (videos, TRUE);
  GArray *on = detect_cuts (buffers, ""), *off = detect_cuts (buffers, "flash-filter=false");
  GString *found_on = g_string_new (NULL), *found_off = g_string_new (NULL);
  double f1_on = cut_f1 (on, N, found_on), f1_off = cut_f1 (off, N, found_off);
  guint flash_on = cuts_on_flashes (on, N), flash_off = cuts_on_flashes (off, N);
  g_test_message ("svilmscenecut on %d back-to-back test videos with a %d-frame flash at frame "
                  "%d of each: flash-filter on: cuts at%s, F1 %.3f, %u of %d flashes cut; off: "
                  "cuts at%s, F1 %.3f, %u flashes cut",
                  N, FLASH_LEN, FLASH_AT, found_on->str, f1_on, flash_on, N, found_off->str, f1_off,
                  flash_off);
  g_assert_cmpuint (flash_on, <=, flash_off);
  g_assert_cmpuint (flash_on, <=, N / 4);
  g_assert_cmpfloat (f1_on, >=, 0.8);
  g_string_free (found_on, TRUE);
  g_string_free (found_off, TRUE);
  g_array_unref (on);
  g_array_unref (off);
  g_ptr_array_unref (buffers);
  g_ptr_array_unref (videos);
}

/* the videos joined by slow dissolves: DISSOLVE_LEN frames that blend the last frame of one
 * into the first of the next, linearly; fills truth[i - 1] with the middle of the i-th */
#define DISSOLVE_LEN 12
static GPtrArray *
dissolved (GPtrArray *videos, int *truth)
{
  SvSynthRenderer *r = sv_synth_renderer_new (fmt.width, fmt.height);
  GPtrArray *buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  guint at = 0;
  for (guint i = 0; i < videos->len; i++) {
    if (i > 0) {
      GstBuffer *a = render (r, videos->pdata[i - 1], fmt.frames - 1, 0);
      GstBuffer *b = render (r, videos->pdata[i], 0, 0);
      GstMapInfo ma, mb, mo;
      gst_buffer_map (a, &ma, GST_MAP_READ);
      gst_buffer_map (b, &mb, GST_MAP_READ);
      truth[i - 1] = (int) (at + (DISSOLVE_LEN + 1) / 2);
      for (guint k = 0; k < DISSOLVE_LEN; k++) {
        double t = (k + 1.0) / (DISSOLVE_LEN + 1.0);
        GstBuffer *o = gst_buffer_new_allocate (NULL, ma.size, NULL);
        gst_buffer_map (o, &mo, GST_MAP_WRITE);
        for (gsize j = 0; j < ma.size; j++)
          mo.data[j] = (guint8) lround ((1.0 - t) * ma.data[j] + t * mb.data[j]);
        gst_buffer_unmap (o, &mo);
        GST_BUFFER_PTS (o) = gst_util_uint64_scale (at++, GST_SECOND, FPS);
        GST_BUFFER_DURATION (o) = gst_util_uint64_scale (1, GST_SECOND, FPS);
        g_ptr_array_add (buffers, o);
      }
      gst_buffer_unmap (a, &ma);
      gst_buffer_unmap (b, &mb);
      gst_buffer_unref (a);
      gst_buffer_unref (b);
    }
    for (guint f = 0; f < fmt.frames; f++, at++)
      g_ptr_array_add (buffers, render (r, videos->pdata[i], f, at));
  }
  sv_synth_renderer_free (r);
  return buffers;
}

/* slow dissolves: adjacent token slices barely differ inside them; the gradual detector
 * (wide pairs of slices, on by default with the bundled model's scene head) finds more
 * of them than the usual score alone (gradual-threshold=0) */
static void
test_scenecut_dissolve (void)
{
  enum { N = 12 };
  int truth[N - 1];
  GPtrArray *videos = single_scene_videos (N);
  GPtrArray *buffers = dissolved (videos, truth);
  GArray *on = detect_cuts (buffers, ""), *off = detect_cuts (buffers, "gradual-threshold=0");
  GString *found_on = g_string_new (NULL), *found_off = g_string_new (NULL);
  double r_on, r_off, tol = MAX (TOLERANCE, (DISSOLVE_LEN + 1) / 2);
  double f1_on = match_f1 (on, truth, N - 1, (int) tol, found_on, &r_on);
  double f1_off = match_f1 (off, truth, N - 1, (int) tol, found_off, &r_off);
  GString *want = g_string_new (NULL);
  for (guint i = 0; i < N - 1; i++)
    g_string_append_printf (want, " %d", truth[i]);
  g_test_message ("svilmscenecut on %d test videos joined by %d-frame dissolves (middles at%s): "
                  "gradual detector on: cuts at%s, recall %.3f, F1 %.3f; off: cuts at%s, recall "
                  "%.3f, F1 %.3f",
                  N, DISSOLVE_LEN, want->str, found_on->str, r_on, f1_on, found_off->str, r_off,
                  f1_off);
  g_assert_cmpfloat (r_on, >, r_off);
  g_assert_cmpfloat (f1_on, >, f1_off);
  g_string_free (want, TRUE);
  g_string_free (found_on, TRUE);
  g_string_free (found_off, TRUE);
  g_array_unref (on);
  g_array_unref (off);
  g_ptr_array_unref (buffers);
  g_ptr_array_unref (videos);
}

/* ---- grounding ---- */

static gboolean
inside (const SvBox *b, double x, double y)
{
  return b->w > 0 && x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h;
}

/* n floats of a GstValueArray of floats, from the first */
static float *
heatmap_floats (const GValue *array, guint first, guint n)
{
  float *out = g_new (float, n);
  for (guint c = 0; c < n; c++)
    out[c] = g_value_get_float (gst_value_array_get_value (array, first + c));
  return out;
}

static void
test_ground (void)
{
  enum { N = 20 };
  GPtrArray *videos = single_scene_videos (N);
  SvSynthRenderer *r = sv_synth_renderer_new (fmt.width, fmt.height);
  guint hits = 0, centre = 0, total = 0, follow_checked = 0, follow_moved = 0;
  double slice_hits = 0.0;
  for (guint i = 0; i < N; i++) {
    SvSynthVideo *v = videos->pdata[i];
    GPtrArray *buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
    for (guint f = 0; f < fmt.frames; f++)
      g_ptr_array_add (buffers, render (r, v, f, f)); /* fills the truth boxes */
    for (guint o = 0; o < v->scenes[0].n_objects; o++) {
      const SvSynthObject *obj = &v->scenes[0].obj[o];
      char *props = g_strdup_printf ("phrases=\"%s\" draw=none", obj->phrase);
      GstBus *bus;
      GstHarness *h = harness ("svilmground", props, &bus);
      g_free (props);
      /* the region meta of every frame that comes out, by frame (-1: none) */
      int roi[16][4];
      for (guint f = 0; f < fmt.frames; f++) {
        g_assert_cmpint (gst_harness_push (h, gst_buffer_ref (buffers->pdata[f])), ==, GST_FLOW_OK);
        GstBuffer *out = gst_harness_pull (h);
        GstVideoRegionOfInterestMeta *m = gst_buffer_get_video_region_of_interest_meta_id (out, 0);
        int *b = roi[MIN (f, 15u)];
        b[0] = m ? (int) m->x : -1, b[1] = m ? (int) m->y : -1;
        b[2] = m ? (int) m->w : -1, b[3] = m ? (int) m->h : -1;
        gst_buffer_unref (out);
      }
      g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
      GPtrArray *g = svh_pop_messages (bus, "svilm-ground");
      for (guint k = 0; k < g->len; k++) {
        const GstStructure *s = g->pdata[k];
        guint gw = 0, gh = 0;
        guint64 ts = 0, dur = 0;
        gst_structure_get_uint (s, "grid-width", &gw);
        gst_structure_get_uint (s, "grid-height", &gh);
        gst_structure_get_uint64 (s, "timestamp", &ts);
        gst_structure_get_uint64 (s, "duration", &dur);
        const GValue *heat = gst_structure_get_value (s, "heatmap");
        g_assert_cmpuint (gst_value_array_get_size (heat), ==, gw * gh);
        /* the window's middle frame, and where the heatmap points: the message's point,
         * which is svilm_heatmap_point of its heatmap */
        float *hm = heatmap_floats (heat, 0, gw * gh), hx, hy;
        g_assert_true (svilm_heatmap_point (hm, gw, gh, &hx, &hy));
        g_free (hm);
        double px = 0, py = 0;
        g_assert_true (gst_structure_get_double (s, "point-x", &px));
        g_assert_true (gst_structure_get_double (s, "point-y", &py));
        g_assert_cmpfloat (fabs (px - hx * fmt.width), <, 1e-3);
        g_assert_cmpfloat (fabs (py - hy * fmt.height), <, 1e-3);
        guint mid = (guint) gst_util_uint64_scale (ts + dur / 2, FPS, GST_SECOND);
        mid = MIN (mid, fmt.frames - 1);
        hits += inside (&obj->boxes[mid], px, py);
        centre += inside (&obj->boxes[mid], fmt.width / 2.0, fmt.height / 2.0);
        total++;

        /* each slice's maximum on the window's frames it covers */
        guint gt = 0, first = (guint) gst_util_uint64_scale (ts, FPS, GST_SECOND);
        guint last = MIN ((guint) gst_util_uint64_scale (ts + dur, FPS, GST_SECOND), fmt.frames);
        gst_structure_get_uint (s, "grid-time", &gt);
        const GValue *slices = gst_structure_get_value (s, "slice-heatmaps");
        g_assert_cmpuint (gst_value_array_get_size (slices), ==, gt * gw * gh);
        guint n_frames = last - first, in = 0;
        for (guint f = first; f < last; f++) {
          guint sl = (f - first) * gt / n_frames;
          float *sh = heatmap_floats (slices, sl * gw * gh, gw * gh), sx, sy;
          g_assert_true (svilm_heatmap_point (sh, gw, gh, &sx, &sy));
          g_free (sh);
          in += inside (&obj->boxes[f], sx * fmt.width, sy * fmt.height);
        }
        slice_hits += (double) in / MAX (n_frames, 1u);

        /* the frame that completed the window carries the last slice's box */
        if (last >= 1 && last - 1 < fmt.frames) {
          int x, y, w, ht, ax, ay, aw, ah;
          g_assert_true (svh_last_slice_box (s, fmt.width, fmt.height, &x, &y, &w, &ht));
          gst_structure_get (s, "x", G_TYPE_INT, &ax, "y", G_TYPE_INT, &ay, "width", G_TYPE_INT,
                             &aw, "height", G_TYPE_INT, &ah, NULL);
          const int *b = roi[last - 1];
          if (w > 0 && ht > 0) {
            g_assert_true (b[0] == x && b[1] == y && b[2] == w && b[3] == ht);
            follow_checked++;
            follow_moved += ax != x || ay != y || aw != w || ah != ht;
          }
        }
      }
      g_ptr_array_unref (g);
      finish (h, bus);
    }
    g_ptr_array_unref (buffers);
  }
  sv_synth_renderer_free (r);
  double acc = (double) hits / total, base = (double) centre / total;
  double by_slice = slice_hits / total;
  g_test_message ("svilmground pointing game on %u (phrase, window) pairs of %d test videos: "
                  "%.1f %% averaged over the window, %.1f %% slice by slice (centre point "
                  "%.1f %%); the frames' boxes followed the last slice in %u of %u windows "
                  "(%u not the averaged box)",
                  total, N, 100 * acc, 100 * by_slice, 100 * base, follow_checked, total,
                  follow_moved);
  g_assert_cmpuint (total, >=, N);
  g_assert_cmpfloat (acc, >=, base + 0.1);
  g_assert_cmpfloat (by_slice, >=, base + 0.1);
  g_assert_cmpuint (follow_checked, >=, total / 2);
  g_assert_cmpuint (follow_moved, >, 0);
  g_ptr_array_unref (videos);
}

/* ---- retrieval ---- */

static void
test_retrieve (void)
{
  enum { N = 16 };
  GPtrArray *videos = single_scene_videos (N);
  SvSynthRenderer *r = sv_synth_renderer_new (fmt.width, fmt.height);
  GString *query = g_string_new (NULL);
  for (guint i = 0; i < N; i++) {
    SvSynthVideo *v = videos->pdata[i];
    g_assert_null (strchr (v->caption, ';'));
    g_string_append_printf (query, "%s%s", i ? ";" : "", v->caption);
  }
  /* score[i][j]: mean over video i's windows of the score of caption j */
  double score[N][N] = { { 0 } };
  for (guint i = 0; i < N; i++) {
    GPtrArray *buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
    for (guint f = 0; f < fmt.frames; f++)
      g_ptr_array_add (buffers, render (r, videos->pdata[i], f, f));
    char *props = g_strdup_printf ("query=\"%s\" post-scores=true threshold=2", query->str);
    GstBus *bus;
    GstHarness *h = harness ("svilmretrieve", props, &bus);
    g_free (props);
    run (h, buffers);
    GPtrArray *m = svh_pop_messages (bus, "svilm-scores");
    g_assert_cmpuint (m->len, >, 0);
    for (guint k = 0; k < m->len; k++) {
      const GValue *sc = gst_structure_get_value (m->pdata[k], "scores");
      g_assert_cmpuint (gst_value_array_get_size (sc), ==, N);
      for (guint j = 0; j < N; j++)
        score[i][j] += g_value_get_double (gst_value_array_get_value (sc, j)) / m->len;
    }
    g_ptr_array_unref (m);
    finish (h, bus);
    g_ptr_array_unref (buffers);
  }
  sv_synth_renderer_free (r);
  /* text->video: caption j ranks its own video first among the N */
  guint r1 = 0;
  double rank_sum = 0;
  for (guint j = 0; j < N; j++) {
    guint rank = 1;
    for (guint i = 0; i < N; i++)
      rank += i != j && score[i][j] > score[j][j];
    r1 += rank == 1;
    rank_sum += rank;
  }
  g_test_message ("svilmretrieve, %d test videos x their %d captions: text->video R@1 %.1f %%, "
                  "mean rank %.2f (chance: R@1 %.1f %%, mean rank %.1f)",
                  N, N, 100.0 * r1 / N, rank_sum / N, 100.0 / N, (N + 1) / 2.0);
  g_assert_cmpfloat (rank_sum / N, <, (N + 1) / 2.0 * 0.6);
  g_string_free (query, TRUE);
  g_ptr_array_unref (videos);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  if (argc < 2) {
    g_printerr ("usage: test-accuracy MODEL [SCENECUT_MODEL]\n");
    return 2;
  }
  model_path = argv[1];
  scenecut_model_path = argc > 2 ? argv[2] : argv[1];
  g_test_add_func ("/accuracy/scenecut", test_scenecut);
  g_test_add_func ("/accuracy/scenecut-flash", test_scenecut_flash);
  g_test_add_func ("/accuracy/scenecut-dissolve", test_scenecut_dissolve);
  g_test_add_func ("/accuracy/ground", test_ground);
  g_test_add_func ("/accuracy/retrieve", test_retrieve);
  return g_test_run ();
}
