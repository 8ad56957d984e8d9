/* svilm-train: decoding one training clip with GStreamer. */
#include "decode.h"

#include "sv-error.h"
#include "sv-frames.h"
#include "video-pipe.h"

#include <gst/gst.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

typedef struct {
  guint8 *rgb; /* width * 3 bytes per row */
  GstClockTime time;
} Frame;

/* an ERROR on the bus as a GError; TRUE if there was one */
static gboolean
bus_error (GstBus *bus, GstClockTime timeout, GstMessageType also, GstMessage **other,
           GError **error)
{
  GstMessage *m = gst_bus_timed_pop_filtered (bus, timeout, GST_MESSAGE_ERROR | also);
  if (!m)
    return FALSE;
  if (GST_MESSAGE_TYPE (m) != GST_MESSAGE_ERROR) {
    if (other)
      *other = m;
    else
      gst_message_unref (m);
    return FALSE;
  }
  GError *gerr = NULL;
  gst_message_parse_error (m, &gerr, NULL);
  g_set_error (error, SV_ERROR, SV_ERROR_IO, "%s", gerr ? gerr->message : "unknown error");
  g_clear_error (&gerr);
  gst_message_unref (m);
  return TRUE;
}

/* PAUSED and prerolled */
static gboolean
pipe_preroll (SvVideoPipe *p, const SvClipSpec *spec, GError **error)
{
  GstBus *bus = gst_element_get_bus (p->pipe);
  gboolean ok = FALSE;
  gint64 t0 = g_get_monotonic_time ();
  GstStateChangeReturn r = gst_element_set_state (p->pipe, GST_STATE_PAUSED);
  if (r == GST_STATE_CHANGE_FAILURE) {
    if (!bus_error (bus, 0, 0, NULL, error))
      g_set_error (error, SV_ERROR, SV_ERROR_IO, "the pipeline does not start");
    goto out;
  }
  for (;;) {
    GstMessage *m = NULL;
    if (bus_error (bus, 50 * GST_MSECOND, GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_EOS, &m, error))
      goto out;
    if (m) {
      gboolean eos = GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
      gst_message_unref (m);
      if (eos) {
        g_set_error (error, SV_ERROR, SV_ERROR_IO, "no video frames");
        goto out;
      }
      break;
    }
    if (g_atomic_int_get (&p->no_more_pads) && !g_atomic_int_get (&p->video_linked)) {
      g_set_error (error, SV_ERROR, SV_ERROR_IO, "no video stream");
      goto out;
    }
    if (g_get_monotonic_time () - t0 > (gint64) (spec->timeout_s * G_USEC_PER_SEC)) {
      g_set_error (error, SV_ERROR, SV_ERROR_IO, "timed out after %.0f s", spec->timeout_s);
      goto out;
    }
  }
  ok = TRUE;
out:
  gst_object_unref (bus);
  return ok;
}

/* copies the sample's frame; FALSE when it is not RGB of the expected size */
static gboolean
frame_copy (GstSample *s, int *width, int *height, Frame *f)
{
  GstVideoInfo info;
  GstCaps *caps = gst_sample_get_caps (s);
  GstBuffer *buf = gst_sample_get_buffer (s);
  if (!caps || !buf || !gst_video_info_from_caps (&info, caps))
    return FALSE;
  int w = GST_VIDEO_INFO_WIDTH (&info), h = GST_VIDEO_INFO_HEIGHT (&info);
  if (*width == 0) {
    *width = w;
    *height = h;
  } else if (w != *width || h != *height) {
    return FALSE; /* a mid-stream resolution change: keep the first size */
  }
  GstVideoFrame vf;
  if (!gst_video_frame_map (&vf, &info, buf, GST_MAP_READ))
    return FALSE;
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 0);
  const guint8 *src = GST_VIDEO_FRAME_PLANE_DATA (&vf, 0);
  f->rgb = g_malloc ((size_t) w * h * 3);
  for (int y = 0; y < h; y++)
    memcpy (f->rgb + (size_t) y * w * 3, src + (size_t) y * stride, (size_t) w * 3);
  gst_video_frame_unmap (&vf);
  return TRUE;
}

static GstClockTime
sample_time (GstSample *s)
{
  GstBuffer *buf = gst_sample_get_buffer (s);
  GstSegment *seg = gst_sample_get_segment (s);
  GstClockTime pts = buf ? GST_BUFFER_PTS (buf) : GST_CLOCK_TIME_NONE;
  if (!GST_CLOCK_TIME_IS_VALID (pts) || !seg || seg->format != GST_FORMAT_TIME)
    return pts;
  guint64 st = gst_segment_to_stream_time (seg, GST_FORMAT_TIME, pts);
  return st != (guint64) -1 ? st : pts;
}

/* Pulls frames until EOS or all targets are met.  targets: T sorted stream times, or NULL to
 * collect every frame (decimated).  Fills frames (a GPtrArray of Frame*) and idx[T]. */
static gboolean
pull_frames (SvVideoPipe *p, const SvClipSpec *spec, const GstClockTime *targets, GPtrArray *frames,
             int *idx, int *width, int *height, GError **error)
{
  GstBus *bus = gst_element_get_bus (p->pipe);
  gboolean ok = FALSE;
  int T = spec->T, k = 0, keep_every = 1, seen = 0;
  guint cap = (guint) MAX (64, 8 * T);
  GstSample *prev = NULL;
  int prev_idx = -1; /* frames index of prev's copy, once copied */
  gint64 last = g_get_monotonic_time ();
  if (gst_element_set_state (p->pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (!bus_error (bus, 0, 0, NULL, error))
      g_set_error (error, SV_ERROR, SV_ERROR_IO, "the pipeline does not play");
    goto out;
  }
  while (!targets || k < T) {
    GstSample *s = NULL;
    g_signal_emit_by_name (p->sink, "try-pull-sample", (guint64) (50 * GST_MSECOND), &s);
    if (!s) {
      gboolean eos = FALSE;
      g_object_get (p->sink, "eos", &eos, NULL);
      if (bus_error (bus, 0, 0, NULL, error))
        goto out;
      if (eos)
        break;
      if (g_get_monotonic_time () - last > (gint64) (spec->timeout_s * G_USEC_PER_SEC)) {
        g_set_error (error, SV_ERROR, SV_ERROR_IO, "decoding stalled for %.0f s", spec->timeout_s);
        goto out;
      }
      continue;
    }
    last = g_get_monotonic_time ();
    int cur_idx = -1; /* frames index of s's copy, once copied */
    if (!targets) {
      if (seen++ % keep_every == 0) {
        Frame *f = g_new0 (Frame, 1);
        if (frame_copy (s, width, height, f))
          g_ptr_array_add (frames, f);
        else
          g_free (f);
        if (frames->len >= cap) { /* keep every other frame */
          guint j = 0;
          for (guint i = 0; i < frames->len; i++) {
            Frame *fi = g_ptr_array_index (frames, i);
            if (i % 2 == 0) {
              frames->pdata[j++] = fi;
            } else {
              g_free (fi->rgb);
              g_free (fi);
            }
          }
          g_ptr_array_set_size (frames, j);
          keep_every *= 2;
        }
      }
      gst_sample_unref (s);
      continue;
    }
    GstClockTime t = sample_time (s);
    if (GST_CLOCK_TIME_IS_VALID (t)) {
      while (k < T && targets[k] < t) {
        /* the frame shown at targets[k] is the previous one (or this, the first) */
        GstSample *use = prev ? prev : s;
        int *use_idx = prev ? &prev_idx : &cur_idx;
        if (*use_idx < 0) {
          Frame *f = g_new0 (Frame, 1);
          if (frame_copy (use, width, height, f)) {
            g_ptr_array_add (frames, f);
            *use_idx = (int) frames->len - 1;
          } else {
            g_free (f);
          }
        }
        idx[k++] = *use_idx;
      }
    }
    if (prev)
      gst_sample_unref (prev);
    prev = s;
    prev_idx = cur_idx;
  }
  /* targets past the last frame get the last frame */
  if (targets && k < T && prev && prev_idx >= 0) {
    while (k < T)
      idx[k++] = prev_idx;
  } else if (targets && k < T && prev) {
    Frame *f = g_new0 (Frame, 1);
    int fi = -1;
    if (frame_copy (prev, width, height, f)) {
      g_ptr_array_add (frames, f);
      fi = (int) frames->len - 1;
    } else {
      g_free (f);
    }
    while (k < T)
      idx[k++] = fi;
  }
  ok = TRUE;
out:
  if (prev)
    gst_sample_unref (prev);
  gst_object_unref (bus);
  return ok;
}

/* torchvision RandomResizedCrop.get_params, aspect ratios relative to aspect */
static void
random_crop (SvRng *rng, int w0, int h0, const SvClipSpec *spec, double aspect, int *x, int *y,
             int *w, int *h)
{
  double area = (double) w0 * h0;
  double lr0 = log (0.75 * aspect), lr1 = log (4.0 / 3.0 * aspect);
  for (int attempt = 0; attempt < 10; attempt++) {
    double target =
        area * (spec->crop_min + (spec->crop_max - spec->crop_min) * (double) sv_rng_uniform (rng));
    double ar = exp (lr0 + (lr1 - lr0) * (double) sv_rng_uniform (rng));
    int cw = (int) lround (sqrt (target * ar)), ch = (int) lround (sqrt (target / ar));
    if (cw > 0 && cw <= w0 && ch > 0 && ch <= h0) {
      *y = (int) sv_rng_below (rng, (uint32_t) (h0 - ch + 1));
      *x = (int) sv_rng_below (rng, (uint32_t) (w0 - cw + 1));
      *w = cw;
      *h = ch;
      return;
    }
  }
  /* fallback: the largest centred crop within the ratio range */
  double in_ratio = (double) w0 / h0;
  int cw = w0, ch = h0;
  if (in_ratio < exp (lr0))
    ch = MAX (1, MIN (h0, (int) lround (w0 / exp (lr0))));
  else if (in_ratio > exp (lr1))
    cw = MAX (1, MIN (w0, (int) lround (h0 * exp (lr1))));
  *x = (w0 - cw) / 2;
  *y = (h0 - ch) / 2;
  *w = cw;
  *h = ch;
}

void
sv_clip_mirror (float *clip, int T, int H, int W)
{
  for (size_t r = 0; r < (size_t) T * H; r++) {
    float *row = clip + r * W * 3;
    for (int a = 0, b = W - 1; a < b; a++, b--)
      for (int c = 0; c < 3; c++) {
        float tmp = row[a * 3 + c];
        row[a * 3 + c] = row[b * 3 + c];
        row[b * 3 + c] = tmp;
      }
  }
}

static void
frame_free (gpointer f)
{
  g_free (((Frame *) f)->rgb);
  g_free (f);
}

gboolean
sv_decode_clip (const char *uri, double start, double end, const SvClipSpec *spec, SvRng *rng,
                float *out, gboolean *flipped, GError **error)
{
  int T = spec->T;
  /* draws that do not depend on the video first: jitter and flip */
  double *u = g_new (double, T);
  for (int k = 0; k < T; k++)
    u[k] = spec->augment ? (double) sv_rng_uniform (rng) : 0.5;
  gboolean flip = spec->augment && sv_rng_uniform (rng) < spec->flip_prob;

  SvVideoPipe p = { 0 };
  GPtrArray *frames = g_ptr_array_new_with_free_func (frame_free);
  int *idx = g_new (int, T);
  for (int k = 0; k < T; k++)
    idx[k] = -1;
  GstClockTime *targets = NULL;
  int w0 = 0, h0 = 0;
  gboolean ok = FALSE;
  GError *err = NULL;
  if (!sv_video_pipe_build (&p, uri, TRUE, 4, &err) || !pipe_preroll (&p, spec, &err))
    goto out;

  gint64 dur = -1;
  if (!gst_element_query_duration (p.pipe, GST_FORMAT_TIME, &dur))
    dur = -1;
  double a = MAX (start, 0.0), b = end > 0 ? end : -1.0;
  if (dur > 0) {
    double d = (double) dur / GST_SECOND;
    if (b < 0 || b > d)
      b = d;
    if (a >= b) /* a range past the end: the whole video */
      a = 0.0, b = d;
  }
  if (a > 0 || (b > 0 && dur > 0 && b < (double) dur / GST_SECOND - 1e-6)) {
    if (!gst_element_seek (p.pipe, 1.0, GST_FORMAT_TIME,
                           GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, GST_SEEK_TYPE_SET,
                           (gint64) (a * GST_SECOND),
                           b > 0 ? GST_SEEK_TYPE_SET : GST_SEEK_TYPE_NONE,
                           b > 0 ? (gint64) (b * GST_SECOND) : -1)) {
      g_set_error (&err, SV_ERROR, SV_ERROR_IO, "cannot seek to %.3f s", a);
      goto out;
    }
  }
  if (b > a) {
    targets = g_new (GstClockTime, T);
    for (int k = 0; k < T; k++)
      targets[k] = (GstClockTime) ((a + (b - a) * (k + u[k]) / T) * GST_SECOND);
  }
  if (!pull_frames (&p, spec, targets, frames, idx, &w0, &h0, &err))
    goto out;
  if (frames->len == 0) {
    g_set_error (&err, SV_ERROR, SV_ERROR_IO, "no video frames decoded");
    goto out;
  }
  if (!targets) {
    int n = (int) frames->len;
    for (int k = 0; k < T; k++)
      idx[k] = CLAMP ((int) floor ((k + u[k]) * n / T), 0, n - 1);
  }
  for (int k = 0; k < T; k++) /* a frame that could not be copied: its neighbour */
    if (idx[k] < 0)
      idx[k] = k > 0 ? idx[k - 1] : 0;
  for (int k = T - 1; k >= 0; k--)
    if (idx[k] < 0)
      idx[k] = k + 1 < T ? idx[k + 1] : 0;

  int cx = 0, cy = 0, cw = w0, ch = h0;
  if (spec->augment)
    random_crop (rng, w0, h0, spec, (double) spec->W / spec->H, &cx, &cy, &cw, &ch);
  for (int k = 0; k < T; k++) {
    const Frame *f = g_ptr_array_index (frames, idx[k]);
    sv_frame_resize_normalize (f->rgb + ((size_t) cy * w0 + cx) * 3, cw, ch, w0 * 3, spec->H,
                               spec->W, out + (size_t) k * spec->H * spec->W * 3);
  }
  if (flip)
    sv_clip_mirror (out, T, spec->H, spec->W);
  if (flipped)
    *flipped = flip;
  ok = TRUE;
out:
  if (!ok)
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot decode %s: %s", uri,
                 err ? err->message : "unknown error");
  g_clear_error (&err);
  sv_video_pipe_clear (&p);
  g_ptr_array_unref (frames);
  g_free (idx);
  g_free (targets);
  g_free (u);
  return ok;
}
