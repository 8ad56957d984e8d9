/* svilm: GstSvilmFilter, base class of the analysis elements. */
#include "config.h"

#include "gstsvilmfilter.h"
#include "gstsvilmjson.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_svilm_filter_debug);
#define GST_CAT_DEFAULT gst_svilm_filter_debug

#define SVILM_FORMATS "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }"

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_FRAMES_PER_CLIP,
  PROP_STRIDE,
  PROP_INFERENCE_INTERVAL,
  PROP_POST_MESSAGES,
  PROP_LOCATION,
};

typedef struct {
  /* properties (object lock) */
  char *model_path, *device, *location;
  const char *default_model; /* when model_path is NULL (the subclass's bundled model) */
  guint frames_per_clip, stride, interval;
  gboolean post_messages;

  /* streaming state */
  SvilmModel *model;
  guint fpc, step;       /* effective window and stride in frames */
  gfloat **ring;         /* fpc prepared frames */
  GstClockTime *ring_ts; /* PTS of each */
  guint64 *ring_seq;     /* and its number among the frames since start */
  guint64 seq;           /* frames since start */
  guint n;               /* frames in the window */
  guint skip;            /* frames to skip before the next window (stride > window) */
  guint64 windows;
  GstClockTime last_end;
  guint pixel_stride, r_off, g_off, b_off;
  GstClockTime latency; /* slowest inference so far */
  FILE *json;
  gboolean draws;       /* map frames writable */
  guint stride_divisor; /* default stride = fpc / stride_divisor; 0: fpc / token slices */
  guint fresh;          /* frames added since the last finished window */

  /* windows encoded together (gst_svilm_filter_set_batch) */
  guint batch_request;    /* 0: one a core, at most SVILM_FILTER_MAX_BATCH */
  guint batch;            /* in effect (set_info) */
  GArray *pending;        /* PendingWindow waiting for the batch, in order */
  guint pending_encodes;  /* of them, windows to encode (the others skip inference) */
  gfloat *pending_frames; /* [batch][fpc] copies of their frames */
} GstSvilmFilterPrivate;

#define SVILM_FILTER_MAX_BATCH 4

typedef struct {
  GstSvilmWindow w;
  gboolean encode; /* FALSE: inference-interval skips it */
} PendingWindow;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (GstSvilmFilter, gst_svilm_filter, GST_TYPE_VIDEO_FILTER)

#define PRIV(self) ((GstSvilmFilterPrivate *) gst_svilm_filter_get_instance_private (self))

/* $SVILM_MODEL, else the installed models/FILE, else the source tree's (the build tree) */
static char *
bundled_model (const char *file)
{
  const char *env = g_getenv ("SVILM_MODEL");
  if (env && *env)
    return g_strdup (env);
  char *p = g_build_filename (SVILM_MODELS_DIR, file, NULL);
  if (!g_file_test (p, G_FILE_TEST_EXISTS)) {
    g_free (p);
    p = g_build_filename (SVILM_SOURCE_DIR, "models", file, NULL);
  }
  return p;
}

/* bundled_model (file), resolved once into *slot (a static) */
static const char *
bundled_model_once (char **slot, const char *file)
{
  if (g_once_init_enter (slot))
    g_once_init_leave (slot, bundled_model (file));
  return *slot;
}

const char *
gst_svilm_default_model (void)
{
  static char *path;
  return bundled_model_once (&path, "default.safetensors");
}

const char *
gst_svilm_scenecut_model (void)
{
  static char *path;
  return bundled_model_once (&path, "scenecut.safetensors");
}

void
gst_svilm_filter_set_default_model (GstSvilmFilter *self, const char *path)
{
  PRIV (self)->default_model = path;
}

static void
free_ring (GstSvilmFilterPrivate *p)
{
  if (p->ring)
    for (guint i = 0; i < p->fpc; i++)
      g_free (p->ring[i]);
  g_clear_pointer (&p->ring, g_free);
  g_clear_pointer (&p->ring_ts, g_free);
  g_clear_pointer (&p->ring_seq, g_free);
  g_clear_pointer (&p->pending_frames, g_free);
  if (p->pending)
    g_array_set_size (p->pending, 0);
  p->pending_encodes = 0;
  p->n = p->skip = 0;
}

static void
gst_svilm_filter_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  GstSvilmFilterPrivate *p = PRIV (GST_SVILM_FILTER (object));
  GST_OBJECT_LOCK (object);
  switch (prop_id) {
  case PROP_MODEL:
    g_free (p->model_path);
    p->model_path = g_value_dup_string (value);
    break;
  case PROP_DEVICE:
    g_free (p->device);
    p->device = g_value_dup_string (value);
    break;
  case PROP_FRAMES_PER_CLIP:
    p->frames_per_clip = g_value_get_uint (value);
    break;
  case PROP_STRIDE:
    p->stride = g_value_get_uint (value);
    break;
  case PROP_INFERENCE_INTERVAL:
    p->interval = g_value_get_uint (value);
    break;
  case PROP_POST_MESSAGES:
    p->post_messages = g_value_get_boolean (value);
    break;
  case PROP_LOCATION:
    g_free (p->location);
    p->location = g_value_dup_string (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (object);
}

static void
gst_svilm_filter_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSvilmFilterPrivate *p = PRIV (GST_SVILM_FILTER (object));
  GST_OBJECT_LOCK (object);
  switch (prop_id) {
  case PROP_MODEL:
    g_value_set_string (value, p->model_path ? p->model_path : p->default_model);
    break;
  case PROP_DEVICE:
    g_value_set_string (value, p->device);
    break;
  case PROP_FRAMES_PER_CLIP:
    g_value_set_uint (value, p->frames_per_clip);
    break;
  case PROP_STRIDE:
    g_value_set_uint (value, p->stride);
    break;
  case PROP_INFERENCE_INTERVAL:
    g_value_set_uint (value, p->interval);
    break;
  case PROP_POST_MESSAGES:
    g_value_set_boolean (value, p->post_messages);
    break;
  case PROP_LOCATION:
    g_value_set_string (value, p->location);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (object);
}

static gboolean
gst_svilm_filter_start (GstBaseTransform *trans)
{
  GstSvilmFilter *self = GST_SVILM_FILTER (trans);
  GstSvilmFilterPrivate *p = PRIV (self);
  GST_OBJECT_LOCK (self);
  char *path = g_strdup (p->model_path ? p->model_path : p->default_model);
  char *device = g_strdup (p->device);
  char *location = g_strdup (p->location);
  GST_OBJECT_UNLOCK (self);

  GError *error = NULL;
  p->model = svilm_model_load (path, device, &error);
  if (!p->model) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
                       (_ ("Could not load the svilm model \"%s\"."), path),
                       ("%s", error->message));
    g_clear_error (&error);
    g_free (path);
    g_free (device);
    g_free (location);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "model %s (id %s) on %s", path, svilm_model_get_id (p->model),
                   svilm_model_get_device_name (p->model));
  if (location && *location) {
    p->json = g_str_equal (location, "-") ? stdout : fopen (location, "w");
    if (!p->json) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
                         (_ ("Could not open \"%s\" for writing results."), location),
                         ("%s", g_strerror (errno)));
      g_clear_object (&p->model);
      g_free (path);
      g_free (device);
      g_free (location);
      return FALSE;
    }
  }
  g_free (path);
  g_free (device);
  g_free (location);
  p->windows = p->seq = 0;
  GST_OBJECT_LOCK (self);
  p->latency = 0;
  GST_OBJECT_UNLOCK (self);
  GstSvilmFilterClass *klass = GST_SVILM_FILTER_GET_CLASS (self);
  if (klass->model_changed && !klass->model_changed (self, p->model)) {
    /* stop() is not called after a failed start(): release here */
    g_clear_object (&p->model);
    if (p->json && p->json != stdout)
      fclose (p->json);
    p->json = NULL;
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_svilm_filter_stop (GstBaseTransform *trans)
{
  GstSvilmFilter *self = GST_SVILM_FILTER (trans);
  GstSvilmFilterPrivate *p = PRIV (self);
  GstSvilmFilterClass *klass = GST_SVILM_FILTER_GET_CLASS (self);
  if (klass->model_changed)
    klass->model_changed (self, NULL);
  free_ring (p);
  g_clear_object (&p->model);
  if (p->json && p->json != stdout)
    fclose (p->json);
  else if (p->json)
    fflush (p->json);
  p->json = NULL;
  return TRUE;
}

static gboolean
gst_svilm_filter_set_info (GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                           GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstSvilmFilter *self = GST_SVILM_FILTER (filter);
  GstSvilmFilterPrivate *p = PRIV (self);
  const GstVideoFormatInfo *f = in_info->finfo;
  p->pixel_stride = (guint) GST_VIDEO_FORMAT_INFO_PSTRIDE (f, GST_VIDEO_COMP_R);
  p->r_off = (guint) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_R);
  p->g_off = (guint) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_G);
  p->b_off = (guint) GST_VIDEO_FORMAT_INFO_POFFSET (f, GST_VIDEO_COMP_B);

  /* a new format or size starts a new window: frames of two sizes are not one clip */
  free_ring (p);
  GST_OBJECT_LOCK (self);
  guint clip_frames = p->model ? svilm_model_get_clip_frames (p->model) : 8;
  p->fpc = p->frames_per_clip ? p->frames_per_clip : clip_frames;
  guint divisor = p->stride_divisor;
  if (divisor == 0) { /* one token slice: the model's temporal grid */
    guint gt = 1;
    if (p->model)
      svilm_model_get_grid (p->model, &gt, NULL, NULL);
    divisor = MAX (gt, 1u);
  }
  p->step = p->stride ? p->stride : MAX (1u, p->fpc / divisor);
  GST_OBJECT_UNLOCK (self);
  gsize floats = p->model ? svilm_model_get_frame_floats (p->model) : 0;
  p->ring = g_new0 (gfloat *, p->fpc);
  p->ring_ts = g_new0 (GstClockTime, p->fpc);
  p->ring_seq = g_new0 (guint64, p->fpc);
  for (guint i = 0; i < p->fpc; i++)
    p->ring[i] = g_new0 (gfloat, MAX (floats, 1));
  p->batch = p->batch_request ? p->batch_request
                              : CLAMP (g_get_num_processors (), 1u, SVILM_FILTER_MAX_BATCH);
  if (p->batch > 1)
    p->pending_frames = g_new (gfloat, (gsize) p->batch * p->fpc * MAX (floats, 1));
  GST_INFO_OBJECT (self, "%dx%d %s, windows of %u frames every %u", in_info->width, in_info->height,
                   gst_video_format_to_string (in_info->finfo->format), p->fpc, p->step);
  return TRUE;
}

static void
update_latency (GstSvilmFilter *self, GstClockTime took)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  /* the buffer completing a window waits for the encoder: that is our latency; tell the
   * pipeline when it grows by more than a quarter */
  GST_OBJECT_LOCK (self); /* read by LATENCY queries from other threads */
  gboolean grew = took > p->latency + p->latency / 4;
  if (grew)
    p->latency = took;
  GST_OBJECT_UNLOCK (self);
  if (grew) {
    GST_INFO_OBJECT (self, "latency now %" GST_TIME_FORMAT, GST_TIME_ARGS (took));
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
  }
}

static void
window_error (GstSvilmFilter *self, GError *error)
{
  GST_ELEMENT_ERROR (self, STREAM, FAILED, (_ ("The svilm model failed on a clip.")),
                     ("%s", error->message));
  g_error_free (error);
}

/* Encodes the pending windows together and hands them to the subclass in order;
 * `frame`, the frame that completed the last of them, goes with the last. */
static GstFlowReturn
run_pending (GstSvilmFilter *self, GstVideoFrame *frame)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  GstSvilmFilterClass *klass = GST_SVILM_FILTER_GET_CLASS (self);
  guint n = p->pending ? p->pending->len : 0, n_enc = p->pending_encodes;
  if (n == 0)
    return GST_FLOW_OK;
  gsize floats = svilm_model_get_frame_floats (p->model);
  const gfloat **frames = g_new (const gfloat *, MAX (n_enc * p->fpc, 1));
  for (guint i = 0; i < n_enc * p->fpc; i++)
    frames[i] = p->pending_frames + i * floats;
  SvilmClip **clips = g_newa (SvilmClip *, MAX (n_enc, 1));
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  gboolean ok = svilm_model_encode_prepared_batch (p->model, frames, p->fpc, n_enc, clips, &error);
  g_free (frames);
  GST_LOG_OBJECT (self, "%u windows, %u encoded in %" G_GINT64_FORMAT " us", n, n_enc,
                  g_get_monotonic_time () - t0);
  GArray *windows = g_steal_pointer (&p->pending);
  p->pending = g_array_sized_new (FALSE, FALSE, sizeof (PendingWindow), p->batch);
  p->pending_encodes = 0;
  if (!ok) {
    g_array_unref (windows);
    window_error (self, error);
    return GST_FLOW_ERROR;
  }
  if (n_enc > 0)
    update_latency (self, (GstClockTime) (g_get_monotonic_time () - t0) * GST_USECOND);
  GstFlowReturn ret = GST_FLOW_OK;
  for (guint i = 0, e = 0; i < n; i++) {
    PendingWindow *pw = &g_array_index (windows, PendingWindow, i);
    if (pw->encode)
      pw->w.clip = clips[e++];
    if (ret == GST_FLOW_OK && klass->window_done)
      ret = klass->window_done (self, &pw->w, i == n - 1 ? frame : NULL);
    g_clear_object (&pw->w.clip);
  }
  g_array_unref (windows);
  return ret;
}

GstFlowReturn
gst_svilm_filter_finish_windows (GstSvilmFilter *self)
{
  return run_pending (self, NULL);
}

static GstFlowReturn
finish_window (GstSvilmFilter *self, GstVideoFrame *frame, gboolean partial)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  GstSvilmFilterClass *klass = GST_SVILM_FILTER_GET_CLASS (self);
  GstSvilmWindow w = {
    NULL, p->windows++, p->ring_ts[0], p->last_end, partial, p->ring_seq[0], p->n
  };
  GST_OBJECT_LOCK (self);
  guint interval = MAX (p->interval, 1);
  GST_OBJECT_UNLOCK (self);
  gboolean encode = w.index % interval == 0;
  guint queued = p->pending ? p->pending->len : 0;

  if (p->batch > 1 && !partial && (encode || queued > 0)) {
    /* wait for the batch: copy the frames, the ring moves on */
    if (encode) {
      gsize floats = svilm_model_get_frame_floats (p->model);
      gfloat *dst = p->pending_frames + (gsize) p->pending_encodes * p->fpc * floats;
      for (guint i = 0; i < p->fpc; i++)
        memcpy (dst + i * floats, p->ring[i], floats * sizeof (gfloat));
      p->pending_encodes++;
    }
    if (!p->pending)
      p->pending = g_array_sized_new (FALSE, FALSE, sizeof (PendingWindow), p->batch);
    PendingWindow pw = { w, encode };
    g_array_append_val (p->pending, pw);
    return p->pending_encodes == p->batch ? run_pending (self, frame) : GST_FLOW_OK;
  }

  /* one window at once (after the windows waiting for a batch, at the end) */
  GstFlowReturn ret = run_pending (self, NULL);
  if (ret != GST_FLOW_OK)
    return ret;
  if (encode) {
    GError *error = NULL;
    gint64 t0 = g_get_monotonic_time ();
    w.clip = svilm_model_encode_prepared (p->model, (const gfloat *const *) p->ring, p->n, &error);
    if (!w.clip) {
      window_error (self, error);
      return GST_FLOW_ERROR;
    }
    update_latency (self, (GstClockTime) (g_get_monotonic_time () - t0) * GST_USECOND);
  }
  ret = klass->window_done ? klass->window_done (self, &w, frame) : GST_FLOW_OK;
  g_clear_object (&w.clip);
  return ret;
}

static GstFlowReturn
process_frame (GstSvilmFilter *self, GstVideoFrame *frame)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  GstSvilmFilterClass *klass = GST_SVILM_FILTER_GET_CLASS (self);
  GstFlowReturn ret = GST_FLOW_OK;
  GstBuffer *buf = frame->buffer;

  if (p->skip > 0) {
    p->skip--;
  } else {
    guint i = p->n++;
    svilm_model_prepare_frame (
        p->model, GST_VIDEO_FRAME_PLANE_DATA (frame, 0), (guint) GST_VIDEO_FRAME_WIDTH (frame),
        (guint) GST_VIDEO_FRAME_HEIGHT (frame), (guint) GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0),
        p->pixel_stride, p->r_off, p->g_off, p->b_off, p->ring[i]);
    p->ring_ts[i] = GST_BUFFER_PTS (buf);
    p->ring_seq[i] = p->seq;
    p->fresh++;
    p->last_end = GST_BUFFER_PTS (buf);
    if (GST_CLOCK_TIME_IS_VALID (p->last_end) && GST_BUFFER_DURATION_IS_VALID (buf))
      p->last_end += GST_BUFFER_DURATION (buf);
    if (p->n == p->fpc) {
      p->fresh = 0;
      ret = finish_window (self, frame, FALSE);
      if (p->step < p->fpc) {
        /* overlapping windows: keep the last fpc - step frames, rotating the buffers */
        gfloat *tmp[p->step];
        memcpy (tmp, p->ring, p->step * sizeof (gfloat *));
        memmove (p->ring, p->ring + p->step, (p->fpc - p->step) * sizeof (gfloat *));
        memcpy (p->ring + (p->fpc - p->step), tmp, p->step * sizeof (gfloat *));
        memmove (p->ring_ts, p->ring_ts + p->step, (p->fpc - p->step) * sizeof (GstClockTime));
        memmove (p->ring_seq, p->ring_seq + p->step, (p->fpc - p->step) * sizeof (guint64));
        p->n = p->fpc - p->step;
      } else {
        p->n = 0;
        p->skip = p->step - p->fpc;
      }
    }
  }
  p->seq++;
  if (ret == GST_FLOW_OK && klass->frame_done)
    ret = klass->frame_done (self, frame);
  return ret;
}

/* Our own in-place entry point instead of GstVideoFilter's: the buffer is writable
 * (metas), but the pixels are mapped read-only unless the subclass draws, so
 * analysis never forces a copy of shared video memory. */
static GstFlowReturn
gst_svilm_filter_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstSvilmFilter *self = GST_SVILM_FILTER (trans);
  GstSvilmFilterPrivate *p = PRIV (self);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  if (!filter->negotiated || !p->ring) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("no format negotiated before a buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (gst_base_transform_is_passthrough (trans)) {
    /* frames before and after a passthrough stretch are not one clip */
    p->n = p->skip = p->fresh = 0;
    return GST_FLOW_OK;
  }
  GstVideoFrame frame;
  /* NO_REF: a mapped frame must not hold a second ref, or the buffer stops being writable */
  GstMapFlags flags =
      (p->draws ? GST_MAP_READWRITE : GST_MAP_READ) | GST_VIDEO_FRAME_MAP_FLAG_NO_REF;
  if (!gst_video_frame_map (&frame, &filter->in_info, buf, flags)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (_ ("Could not read a video frame.")),
                       ("buffer of %" G_GSIZE_FORMAT " bytes does not fit %dx%d",
                        gst_buffer_get_size (buf), filter->in_info.width, filter->in_info.height));
    return GST_FLOW_ERROR;
  }
  GstFlowReturn ret = process_frame (self, &frame);
  gst_video_frame_unmap (&frame);
  return ret;
}

void
gst_svilm_filter_set_default_stride_divisor (GstSvilmFilter *self, guint divisor)
{
  PRIV (self)->stride_divisor = divisor;
}

void
gst_svilm_filter_get_window (GstSvilmFilter *self, guint *frames_per_clip, guint *stride)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  if (frames_per_clip)
    *frames_per_clip = p->fpc;
  if (stride)
    *stride = p->step;
}

void
gst_svilm_filter_set_batch (GstSvilmFilter *self, guint batch)
{
  PRIV (self)->batch_request = MIN (batch, SVILM_FILTER_MAX_BATCH);
}

guint
gst_svilm_filter_get_batch (GstSvilmFilter *self)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  return p->ring ? p->batch : 1;
}

gboolean
gst_svilm_filter_has_partial_window (GstSvilmFilter *self)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  return p->model && p->ring && p->n > 0 && p->fresh > 0;
}

void
gst_svilm_filter_set_draws (GstSvilmFilter *self, gboolean draws)
{
  PRIV (self)->draws = draws;
}

static gboolean
gst_svilm_filter_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSvilmFilter *self = GST_SVILM_FILTER (trans);
  GstSvilmFilterPrivate *p = PRIV (self);
  switch (GST_EVENT_TYPE (event)) {
  case GST_EVENT_EOS:
    /* a partial window at the end of the stream still gets its results, unless it
     * only holds frames an overlapping window already covered */
    if (gst_svilm_filter_has_partial_window (self))
      finish_window (self, NULL, TRUE);
    else
      run_pending (self, NULL);
    p->n = p->fresh = 0;
    if (p->json)
      fflush (p->json);
    break;
  case GST_EVENT_FLUSH_STOP:
    p->n = p->skip = p->fresh = 0;
    if (p->pending) /* the frames are gone */
      g_array_set_size (p->pending, 0);
    p->pending_encodes = 0;
    break;
  default:
    /* windows waiting for a batch go before what follows their frames (new caps
     * free the ring, a segment or gap ends what they belong to) */
    if (GST_EVENT_IS_SERIALIZED (event) && p->model)
      run_pending (self, NULL);
    break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_svilm_filter_parent_class)->sink_event (trans, event);
}

static gboolean
gst_svilm_filter_query (GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  gboolean ret =
      GST_BASE_TRANSFORM_CLASS (gst_svilm_filter_parent_class)->query (trans, direction, query);
  if (ret && direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GST_OBJECT_LOCK (trans);
    GstClockTime min, max, ours = PRIV (GST_SVILM_FILTER (trans))->latency;
    GST_OBJECT_UNLOCK (trans);
    gst_query_parse_latency (query, &live, &min, &max);
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += ours;
    gst_query_set_latency (query, live, min, max);
    GST_DEBUG_OBJECT (trans, "latency: ours %" GST_TIME_FORMAT ", total min %" GST_TIME_FORMAT,
                      GST_TIME_ARGS (ours), GST_TIME_ARGS (min));
  }
  return ret;
}

SvilmModel *
gst_svilm_filter_get_model (GstSvilmFilter *self)
{
  return PRIV (self)->model;
}

gboolean
gst_svilm_filter_post_messages (GstSvilmFilter *self)
{
  GST_OBJECT_LOCK (self);
  gboolean post = PRIV (self)->post_messages;
  GST_OBJECT_UNLOCK (self);
  return post;
}

GstStructure *
gst_svilm_filter_new_result (GstSvilmFilter *self, const char *name, GstClockTime start,
                             GstClockTime end)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime stream = GST_CLOCK_TIME_NONE, running = GST_CLOCK_TIME_NONE;
  if (seg->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID (start)) {
    stream = gst_segment_to_stream_time (seg, GST_FORMAT_TIME, start);
    running = gst_segment_to_running_time (seg, GST_FORMAT_TIME, start);
  }
  GstClockTime duration =
      GST_CLOCK_TIME_IS_VALID (start) && GST_CLOCK_TIME_IS_VALID (end) && end >= start
          ? end - start
          : GST_CLOCK_TIME_NONE;
  return gst_structure_new (name, "timestamp", G_TYPE_UINT64, (guint64) start, "stream-time",
                            G_TYPE_UINT64, (guint64) stream, "running-time", G_TYPE_UINT64,
                            (guint64) running, "duration", G_TYPE_UINT64, (guint64) duration, NULL);
}

void
gst_svilm_filter_post (GstSvilmFilter *self, GstStructure *s)
{
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

void
gst_svilm_filter_write_json (GstSvilmFilter *self, const GstStructure *s)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  if (!p->json)
    return;
  char *line = gst_svilm_structure_to_json (s, GST_OBJECT_NAME (self));
  if (fprintf (p->json, "%s\n", line) < 0)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE, (_ ("Could not write results.")),
                         ("%s", g_strerror (errno)));
  g_free (line);
}

static void
gst_svilm_filter_finalize (GObject *object)
{
  GstSvilmFilterPrivate *p = PRIV (GST_SVILM_FILTER (object));
  free_ring (p);
  g_clear_pointer (&p->pending, g_array_unref);
  g_free (p->model_path);
  g_free (p->device);
  g_free (p->location);
  G_OBJECT_CLASS (gst_svilm_filter_parent_class)->finalize (object);
}

static void
gst_svilm_filter_class_init (GstSvilmFilterClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_svilm_filter_debug, "svilmfilter", 0, "svilm base class");

  gobject_class->set_property = gst_svilm_filter_set_property;
  gobject_class->get_property = gst_svilm_filter_get_property;
  gobject_class->finalize = gst_svilm_filter_finalize;

  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  g_object_class_install_property (
      gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
                           "Path of the svilm model (safetensors checkpoint); default: the "
                           "bundled model, or $SVILM_MODEL",
                           NULL, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (
      gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
                           "Where to run: auto (a GPU through Vulkan if there is one, else the "
                           "CPU), cpu, vulkan, vulkan:N; $SVILM_DEVICE overrides",
                           "auto", rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (
      gobject_class, PROP_FRAMES_PER_CLIP,
      g_param_spec_uint ("frames-per-clip", "Frames per clip",
                         "Frames in a clip window (0 = the model's clip length); the model "
                         "samples its clip length uniformly from the window",
                         0, 4096, 0, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (
      gobject_class, PROP_STRIDE,
      g_param_spec_uint ("stride", "Stride",
                         "Frames from one window's start to the next (0 = the element's default: "
                         "frames-per-clip, windows side by side, for most elements; smaller "
                         "overlaps them)",
                         0, 4096, 0, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
                                   g_param_spec_uint ("inference-interval", "Inference interval",
                                                      "Run the model on every Nth clip window only",
                                                      1, G_MAXUINT, 1,
                                                      rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
                            "Post results as element messages on the bus", TRUE,
                            rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
                           "Write results as JSON lines to this file (\"-\" for stdout)", NULL,
                           rw | GST_PARAM_MUTABLE_READY));

  GstCaps *caps = gst_caps_from_string (GST_VIDEO_CAPS_MAKE (SVILM_FORMATS));
  gst_element_class_add_pad_template (
      element_class, gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template (
      element_class, gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_svilm_filter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_svilm_filter_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_svilm_filter_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_svilm_filter_query);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_svilm_filter_set_info);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_svilm_filter_transform_ip);
  gst_type_mark_as_plugin_api (GST_TYPE_SVILM_FILTER, 0);
}

static void
gst_svilm_filter_init (GstSvilmFilter *self)
{
  GstSvilmFilterPrivate *p = PRIV (self);
  p->device = g_strdup ("auto");
  p->default_model = gst_svilm_default_model ();
  p->interval = 1;
  p->stride_divisor = 1;
  p->batch_request = 1;
  p->post_messages = TRUE;
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
  /* not passthrough: the base class makes each buffer writable (a cheap copy of the
   * buffer, not of its memory) so that results can be attached as metas */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
