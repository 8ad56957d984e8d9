/* svilm-train synth: options, worker threads and the GStreamer encoding pipeline.
 *
 * Each worker owns one pipeline (appsrc ! videoconvert ! x264enc ! mp4mux ! filesink) and
 * reuses it for all its videos: NULL state, a new file location, PLAYING.  A video is
 * planned from (seed, index), so the corpus does not depend on the number of workers.
 */
#include "sv-train-cmds.h"
#include "sv-synth.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CMD "synth"

/* ---- encoder ---------------------------------------------------------------------------- */

typedef struct {
  GstElement *pipeline, *src, *sink;
  GstBus *bus;
  guint width, height;
  int fps_n, fps_d;
} SynthEncoder;

static gboolean
check_elements (GError **error)
{
  static const char *const need[][2] = {
    { "appsrc", "gstreamer1.0-plugins-base" },  { "videoconvert", "gstreamer1.0-plugins-base" },
    { "x264enc", "gstreamer1.0-plugins-ugly" }, { "mp4mux", "gstreamer1.0-plugins-good" },
    { "filesink", "libgstreamer1.0-0" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (need); i++) {
    GstElementFactory *f = gst_element_factory_find (need[i][0]);
    if (!f) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the GStreamer element '%s' is missing; install the Debian package %s.",
                   need[i][0], need[i][1]);
      return FALSE;
    }
    gst_object_unref (f);
  }
  return TRUE;
}

static void
encoder_free (SynthEncoder *e)
{
  if (!e)
    return;
  if (e->pipeline) {
    gst_element_set_state (e->pipeline, GST_STATE_NULL);
    gst_object_unref (e->pipeline);
  }
  g_clear_pointer (&e->src, gst_object_unref);
  g_clear_pointer (&e->sink, gst_object_unref);
  g_clear_pointer (&e->bus, gst_object_unref);
  g_free (e);
}

static SynthEncoder *
encoder_new (guint width, guint height, int fps_n, int fps_d, GError **error)
{
  SynthEncoder *e = g_new0 (SynthEncoder, 1);
  e->width = width;
  e->height = height;
  e->fps_n = fps_n;
  e->fps_d = fps_d;
  /* One encoder thread per worker: the frames are tiny and the workers run in parallel.
   * Constant quality (CRF 20) keeps small files without a bitrate to tune.  No B-frames:
   * x264's B-frame decision reads memory it never wrote on frames this small, which made
   * the pictures differ from run to run; without them the output is reproducible. */
  e->pipeline = gst_parse_launch (
      "appsrc name=src format=time block=false ! videoconvert ! video/x-raw,format=I420 ! "
      "x264enc threads=1 speed-preset=veryfast pass=qual quantizer=20 bframes=0 ! mp4mux ! "
      "filesink name=sink",
      error);
  if (!e->pipeline) {
    encoder_free (e);
    return NULL;
  }
  e->src = gst_bin_get_by_name (GST_BIN (e->pipeline), "src");
  e->sink = gst_bin_get_by_name (GST_BIN (e->pipeline), "sink");
  e->bus = gst_element_get_bus (e->pipeline);
  g_autoptr (GstCaps) caps = gst_caps_new_simple (
      "video/x-raw", "format", G_TYPE_STRING, "BGRx", "width", G_TYPE_INT, (int) width, "height",
      G_TYPE_INT, (int) height, "framerate", GST_TYPE_FRACTION, fps_n, fps_d, NULL);
  g_object_set (e->src, "caps", caps, NULL);
  return e;
}

static gboolean
bus_error (SynthEncoder *e, GstClockTime timeout, GError **error)
{
  g_autoptr (GstMessage) msg = gst_bus_timed_pop_filtered (
      e->bus, timeout, timeout == 0 ? GST_MESSAGE_ERROR : GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  if (!msg) {
    if (timeout != 0)
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "the encoder did not finish.");
    return timeout != 0;
  }
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) gerr = NULL;
    gst_message_parse_error (msg, &gerr, NULL);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", gerr->message);
    return TRUE;
  }
  return FALSE;
}

static gboolean
encoder_begin (SynthEncoder *e, const char *path, GError **error)
{
  gst_element_set_state (e->pipeline, GST_STATE_NULL);
  gst_bus_set_flushing (e->bus, TRUE);
  gst_bus_set_flushing (e->bus, FALSE);
  g_object_set (e->sink, "location", path, NULL);
  if (gst_element_set_state (e->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (!bus_error (e, 0, error))
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the pipeline did not start.");
    return FALSE;
  }
  return TRUE;
}

static gboolean
encoder_push (SynthEncoder *e, cairo_surface_t *frame, guint f, GError **error)
{
  cairo_surface_flush (frame);
  const guint8 *data = cairo_image_surface_get_data (frame);
  int stride = cairo_image_surface_get_stride (frame);
  size_t row = (size_t) e->width * 4;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, row * e->height, NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (guint y = 0; y < e->height; y++)
    memcpy (map.data + y * row, data + (size_t) y * stride, row);
  gst_buffer_unmap (buf, &map);
  GstClockTime t0 = gst_util_uint64_scale (f, GST_SECOND * e->fps_d, e->fps_n);
  GstClockTime t1 = gst_util_uint64_scale (f + 1, GST_SECOND * e->fps_d, e->fps_n);
  GST_BUFFER_PTS (buf) = t0;
  GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = t1 - t0;
  if (gst_app_src_push_buffer (GST_APP_SRC (e->src), buf) != GST_FLOW_OK) {
    if (!bus_error (e, 0, error))
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the encoder refused a frame.");
    return FALSE;
  }
  return !bus_error (e, 0, error);
}

static gboolean
encoder_finish (SynthEncoder *e, GError **error)
{
  gst_app_src_end_of_stream (GST_APP_SRC (e->src));
  gboolean failed = bus_error (e, 120 * GST_SECOND, error);
  gst_element_set_state (e->pipeline, GST_STATE_NULL);
  return !failed;
}

/* mp4mux stamps the movie, track and media headers with the wall-clock time; setting those
 * to zero (1904-01-01, "unknown") makes the files depend on the seed alone. */
static guint64
read_be (const guint8 *p, int n)
{
  guint64 v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

static void
clear_times (guint8 *data, gsize size)
{
  gsize off = 0;
  while (off + 8 <= size) {
    guint64 len = read_be (data + off, 4);
    guint32 type = GST_MAKE_FOURCC (data[off + 4], data[off + 5], data[off + 6], data[off + 7]);
    gsize head = 8;
    if (len == 1 && off + 16 <= size) {
      len = read_be (data + off + 8, 8);
      head = 16;
    } else if (len == 0) {
      len = size - off;
    }
    if (len < head || len > size - off)
      return;
    guint8 *body = data + off + head;
    gsize body_len = len - head;
    if (type == GST_MAKE_FOURCC ('m', 'o', 'o', 'v') ||
        type == GST_MAKE_FOURCC ('t', 'r', 'a', 'k') ||
        type == GST_MAKE_FOURCC ('m', 'd', 'i', 'a')) {
      clear_times (body, body_len);
    } else if (type == GST_MAKE_FOURCC ('m', 'v', 'h', 'd') ||
               type == GST_MAKE_FOURCC ('t', 'k', 'h', 'd') ||
               type == GST_MAKE_FOURCC ('m', 'd', 'h', 'd')) {
      gsize n = body_len > 0 && body[0] == 1 ? 16 : 8; /* version 1: 64-bit times */
      if (body_len >= 4 + n)
        memset (body + 4, 0, n);
    }
    off += len;
  }
}

static gboolean
normalise_mp4 (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize size = 0;
  if (!g_file_get_contents (path, &data, &size, error))
    return FALSE;
  clear_times ((guint8 *) data, size);
  return g_file_set_contents_full (path, data, size, G_FILE_SET_CONTENTS_NONE, 0644, error);
}

/* ---- workers ---------------------------------------------------------------------------- */

typedef struct {
  const char *out;
  uint64_t seed;
  guint count;
  SvSynthFormat fmt;
  int fps_n, fps_d;
  const guint8 *splits;
  char **lines; /* manifest line of each video */
  gint next, done;
  gint failed;
  GMutex lock;
  GError *error; /* the first failure */
  gboolean progress;
} SynthJob;

static void
job_fail (SynthJob *job, GError *error)
{
  g_mutex_lock (&job->lock);
  if (!job->error)
    job->error = error;
  else
    g_error_free (error);
  g_atomic_int_set (&job->failed, 1);
  g_mutex_unlock (&job->lock);
}

static gboolean
make_video (SynthJob *job, SynthEncoder *enc, SvSynthRenderer *r, cairo_surface_t *frame,
            guint index, GError **error)
{
  g_autoptr (SvSynthVideo) v = sv_synth_plan (job->seed, index, job->splits[index], &job->fmt);
  g_autofree char *rel = g_strdup_printf ("videos/%s.mp4", v->id);
  g_autofree char *path = g_build_filename (job->out, rel, NULL);
  if (!encoder_begin (enc, path, error))
    return FALSE;
  for (guint f = 0; f < job->fmt.frames; f++) {
    sv_synth_render_frame (r, v, f, frame);
    if (!encoder_push (enc, frame, f, error))
      return FALSE;
  }
  if (!encoder_finish (enc, error) || !normalise_mp4 (path, error))
    return FALSE;

  g_autofree char *truth = sv_synth_truth_json (v, rel, (double) job->fps_n / job->fps_d);
  g_autofree char *truth_path = g_strdup_printf ("%s/truth/%s.json", job->out, v->id);
  g_autofree char *text = g_strconcat (truth, "\n", NULL);
  if (!g_file_set_contents_full (truth_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    return FALSE;
  job->lines[index] = sv_synth_manifest_json (v, rel);
  return TRUE;
}

static gpointer
worker (gpointer data)
{
  SynthJob *job = data;
  GError *error = NULL;
  SynthEncoder *enc = encoder_new (job->fmt.width, job->fmt.height, job->fps_n, job->fps_d, &error);
  if (!enc) {
    job_fail (job, error);
    return NULL;
  }
  SvSynthRenderer *r = sv_synth_renderer_new (job->fmt.width, job->fmt.height);
  cairo_surface_t *frame =
      cairo_image_surface_create (CAIRO_FORMAT_RGB24, job->fmt.width, job->fmt.height);
  while (!g_atomic_int_get (&job->failed)) {
    guint index = (guint) g_atomic_int_add (&job->next, 1);
    if (index >= job->count)
      break;
    if (!make_video (job, enc, r, frame, index, &error)) {
      g_prefix_error (&error, "video %06u: ", index);
      job_fail (job, error);
      break;
    }
    guint done = (guint) g_atomic_int_add (&job->done, 1) + 1;
    if (job->progress && (done % 16 == 0 || done == job->count)) {
      g_mutex_lock (&job->lock);
      fprintf (stderr, "\rsynth: %u/%u videos", done, job->count);
      g_mutex_unlock (&job->lock);
    }
  }
  cairo_surface_destroy (frame);
  sv_synth_renderer_free (r);
  encoder_free (enc);
  return NULL;
}

/* ---- options ---------------------------------------------------------------------------- */

static gboolean
parse_size (const char *s, guint *w, guint *h)
{
  g_auto (GStrv) parts = g_strsplit (s, "x", -1);
  guint64 v[2];
  if (g_strv_length (parts) != 2)
    return FALSE;
  for (int i = 0; i < 2; i++)
    if (!g_ascii_string_to_unsigned (parts[i], 10, 32, 4096, &v[i], NULL) || v[i] % 2)
      return FALSE;
  *w = v[0];
  *h = v[1];
  return TRUE;
}

static gboolean
parse_fps (const char *s, int *n, int *d)
{
  char *end;
  double num = g_ascii_strtod (s, &end), den = 1;
  if (end == s)
    return FALSE;
  if (*end == '/') {
    const char *p = end + 1;
    den = g_ascii_strtod (p, &end);
    if (end == p)
      return FALSE;
  }
  if (*end || !(num > 0) || !(den > 0) || num / den > 1000 || num / den < 0.01)
    return FALSE;
  gst_util_double_to_fraction (num / den, n, d);
  return *n > 0 && *d > 0;
}

static gboolean
parse_ratios (const char *s, double r[3])
{
  g_auto (GStrv) parts = g_regex_split_simple ("[,:/]", s, 0, 0);
  if (g_strv_length (parts) != 3)
    return FALSE;
  for (int i = 0; i < 3; i++) {
    char *end;
    r[i] = g_ascii_strtod (parts[i], &end);
    if (end == parts[i] || *end || !(r[i] >= 0))
      return FALSE;
  }
  return r[0] + r[1] + r[2] > 0;
}

static int
write_outputs (SynthJob *job, const double ratios[3], double fps)
{
  g_autoptr (GString) manifest = g_string_new (NULL);
  for (guint i = 0; i < job->count; i++)
    g_string_append_printf (manifest, "%s\n", job->lines[i]);
  g_autofree char *corpus =
      sv_synth_corpus_json (job->seed, job->count, &job->fmt, fps, ratios, job->splits);
  g_autofree char *corpus_text = g_strconcat (corpus, "\n", NULL);
  g_autofree char *mpath = g_build_filename (job->out, "manifest.jsonl", NULL);
  g_autofree char *cpath = g_build_filename (job->out, "corpus.json", NULL);
  g_autofree char *swaps = sv_synth_swaps_json ();
  g_autofree char *swaps_text = g_strconcat (swaps, "\n", NULL);
  g_autofree char *spath = g_build_filename (job->out, "swaps.json", NULL);
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents (mpath, manifest->str, manifest->len, &error) ||
      !g_file_set_contents (cpath, corpus_text, -1, &error) ||
      !g_file_set_contents (spath, swaps_text, -1, &error))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  return 0;
}

int
sv_train_cmd_synth (int argc, char **argv)
{
  g_autofree char *out = NULL, *size = NULL, *fps_s = NULL, *ratios_s = NULL, *seed_s = NULL;
  gint64 count = 1000;
  int frames = 16, jobs = 0;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the corpus into DIR (required)", "DIR" },
    { "count", 'n', 0, G_OPTION_ARG_INT64, &count, "Number of videos (default 1000)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_STRING, &seed_s, "Random seed (default 0)", "S" },
    { "frames", 'f', 0, G_OPTION_ARG_INT, &frames, "Frames per video (default 16)", "F" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Frame size, even numbers (default 64x64)", "WxH" },
    { "fps", 0, 0, G_OPTION_ARG_STRING, &fps_s, "Frame rate, e.g. 8 or 30000/1001 (default 8)",
      "R" },
    { "split-ratios", 0, 0, G_OPTION_ARG_STRING, &ratios_s,
      "Train, val and test shares (default 80,10,10)", "T,V,E" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Worker threads (default: two per CPU)", "J" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("--out DIR");
  g_option_context_set_summary (
      ctx, "Renders N short videos of coloured shapes and sprites that move, with captions,\n"
           "noun phrases and per-frame ground truth (docs/synth.md).  Writes DIR/videos/*.mp4,\n"
           "DIR/manifest.jsonl, DIR/truth/*.json, DIR/corpus.json and DIR/swaps.json (the\n"
           "swap vocabulary of pretrain --text-negatives); the same seed gives the\n"
           "same corpus.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  if (rc)
    return rc;

  SynthJob job = { 0 };
  guint64 seed = 0;
  double ratios[3] = { 80, 10, 10 };
  job.fmt = (SvSynthFormat){ 64, 64, 0 };
  job.fps_n = 8;
  job.fps_d = 1;
  if (argc > 1)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "unexpected argument '%s'.", argv[1]);
  if (!out || !*out)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--out DIR is required.");
  if (count <= 0 || count > 10000000)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--count must be from 1 to 10000000 (got %" G_GINT64_FORMAT ").", count);
  if (seed_s && !g_ascii_string_to_unsigned (seed_s, 10, 0, G_MAXUINT64, &seed, NULL))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--seed must be a non-negative integer (got '%s').", seed_s);
  if (frames < 1 || frames > 100000)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--frames must be from 1 to 100000 (got %d).",
                          frames);
  if (size && !parse_size (size, &job.fmt.width, &job.fmt.height))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--size must be WIDTHxHEIGHT with even numbers from 32 to 4096, "
                          "e.g. 64x64 (got '%s').",
                          size);
  if (fps_s && !parse_fps (fps_s, &job.fps_n, &job.fps_d))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--fps must be a rate from 0.01 to 1000, e.g. 8 or 30000/1001 "
                          "(got '%s').",
                          fps_s);
  if (ratios_s && !parse_ratios (ratios_s, ratios))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--split-ratios must be three non-negative numbers with a positive "
                          "sum, e.g. 80,10,10 (got '%s').",
                          ratios_s);
  if (jobs < 0 || jobs > 1024)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--jobs must be from 1 to 1024 (got %d).",
                          jobs);
  job.fmt.frames = frames;
  job.count = count;
  job.seed = seed;
  job.out = out;

  g_autoptr (GError) error = NULL;
  if (!gst_init_check (NULL, NULL, &error))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "GStreamer did not start: %s",
                          error->message);
  if (!check_elements (&error))
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  for (int i = 0; i < 2; i++) {
    g_autofree char *dir = g_build_filename (out, i ? "truth" : "videos", NULL);
    if (g_mkdir_with_parents (dir, 0755) != 0 || g_access (dir, W_OK) != 0) {
      int e = errno;
      return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot write into '%s': %s.", dir,
                            g_strerror (e));
    }
  }

  if (jobs == 0)
    jobs = (int) MIN (2 * g_get_num_processors (), 64); /* workers wait on their pipelines */
  jobs = MIN ((guint) jobs, job.count);
  g_autofree guint8 *splits = sv_synth_assign_splits (seed, job.count, ratios);
  job.splits = splits;
  job.lines = g_new0 (char *, job.count);
  job.progress = !quiet && isatty (STDERR_FILENO);
  g_mutex_init (&job.lock);

  gint64 t0 = g_get_monotonic_time ();
  GThread **threads = g_new (GThread *, jobs);
  for (int i = 0; i < jobs; i++)
    threads[i] = g_thread_new ("synth", worker, &job);
  for (int i = 0; i < jobs; i++)
    g_thread_join (threads[i]);
  g_free (threads);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  if (job.progress)
    fprintf (stderr, "\n");

  if (job.error)
    rc = sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "%s", job.error->message);
  else
    rc = write_outputs (&job, ratios, (double) job.fps_n / job.fps_d);
  if (rc == 0 && !quiet) {
    guint n[SV_N_SPLITS] = { 0 };
    for (guint i = 0; i < job.count; i++)
      n[splits[i]]++;
    printf ("wrote %u videos (train %u, val %u, test %u) of %u frames at %ux%u to %s "
            "in %.1f s, %.1f videos/s with %d workers\n",
            job.count, n[0], n[1], n[2], job.fmt.frames, job.fmt.width, job.fmt.height, out, secs,
            job.count / MAX (secs, 1e-9), jobs);
  }
  g_clear_error (&job.error);
  for (guint i = 0; i < job.count; i++)
    g_free (job.lines[i]);
  g_free (job.lines);
  g_mutex_clear (&job.lock);
  gst_deinit ();
  return rc;
}
