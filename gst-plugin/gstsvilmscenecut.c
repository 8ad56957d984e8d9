/* svilm: svilmscenecut, scene cuts from S-ViLM's temporal features.
 *
 * SECTION:element-svilmscenecut
 * @title: svilmscenecut
 *
 * Detects scene changes (shot cuts) with S-ViLM's temporal-aware clip features.
 * The model cuts each clip into token slices of tubelet_t model frames and gives
 * one unit-length feature per slice; its temporal grouping loss trains the
 * features of consecutive slices of different scenes to separate.  Each boundary
 * between two consecutive slices is scored and mapped to the source frame where it
 * falls.  The score is the model's scene head's probability (in [0, 1]) that a scene
 * change lies between the two slices (from their features and the pixel cues of the
 * frames around them), when the model has one (svilm-train scenehead
 * trains it on the frozen features of a corpus with known transitions; the bundled
 * model has one), else 1 - cos of their features (in [0, 2]).
 *
 * Windows: frames-per-clip defaults to the model's clip length and, unlike the
 * other svilm elements, stride defaults to one token slice (stride=0 means
 * frames-per-clip / the model's temporal grid: 2 frames with the bundled model),
 * so that windows overlap and every slice boundary is seen by every window that
 * contains it, once at each position inside the window.  A boundary seen by
 * several windows gets the mean of their scores.  The mean matters: the learned
 * temporal position embeddings make slices at some positions of a window differ
 * more than at others even within one shot (with the bundled model 1 - cos is
 * about 0.25 between slices 0|1 and 2|3 and 0.01 between 1|2), and with a stride
 * of half a window a boundary is only ever seen at the same positions, so that
 * bias stays; averaged over all positions it is the same for every boundary.  On
 * the generator's test split this takes the F1 of the cuts from 0.70 (half-window
 * stride) to 0.95, for twice the work of half-window windows (see
 * tests/gst/test-accuracy.c).  With the bundled model (8-frame clips, tubelets 2
 * frames deep) on 30 fps input the boundaries fall every 2 frames: a cut is
 * reported on its exact frame when it falls on a slice boundary and one frame off
 * otherwise (tubelet_t x frames-per-clip / clip length frames between
 * boundaries; an odd stride such as 3 puts every transition on a boundary of
 * some window).
 *
 * Flashes: with `flash-filter` (default) a boundary's score is at most the smallest
 * score (head or 1 - cos) between any slice before it and any slice after it, in any
 * window that holds it (svilm_clip_get_boundaries).  A camera flash, a lightning strike
 * or anything else that comes and goes within a window leaves the slices on both sides
 * of it alike, so the boundaries into and out of it score low; a scene change keeps
 * every pair across it apart.  On the real-footage set (docs/evaluation.md) the bundled
 * model cuts none of 29 flashes with it and 21 without.
 *
 * A boundary becomes a cut when its score is at least `threshold` (by default the
 * model's: 0.25 on the head's probabilities, 0.2 on 1 - cos) and it lies at
 * least `min-scene-length` frames after the previous cut (or after the start of
 * the stream or a flush); the first boundary that passes wins (as in
 * PySceneDetect).  A dissolve or a fade scores high at every boundary inside it:
 * with merge-runs (the default) a run of consecutive boundaries at or above the
 * threshold makes one cut at most.
 *
 * Gradual transitions: in a dissolve slower than a token slice two adjacent slices
 * barely differ, and the usual score stays low.  Slices further apart still do, so with
 * the `gradual-threshold` detector (0.5 by default with a scene head, off without) a
 * boundary below the threshold is a cut when its wide score (the smallest score between a
 * slice before it and one after it, the adjacent pair left out, in any window) reaches
 * gradual-threshold and no cut lies within `gradual-gap` frames before it; one cut per
 * run of such boundaries, and a usual cut within gradual-gap frames after it is the same
 * transition and dropped.  A flash, which the wider pairs step over, still scores low.
 * On the real-footage set this finds 0.47 of the dissolves instead of 0.29 (F1 0.914
 * instead of 0.891, no flash or pan cut; docs/evaluation.md).  svilm_cut_decide is the
 * rule, shared with `svilm-train eval --task scenecut`.
 *
 * At each cut the element
 *
 * - posts an element message (when post-messages is set) and writes the same as a
 *   JSON line (when location is set):
 *
 *     svilm-scenecut, timestamp=(guint64), stream-time=(guint64),
 *       running-time=(guint64), duration=(guint64), score=(double),
 *       frame=(guint64), gradual=(boolean)
 *
 *   timestamp, stream-time and running-time are those of the first frame of the
 *   new scene and duration is that frame's; frame is its index, from its stream
 *   time and the frame rate (frames counted since the start when the rate is
 *   variable); gradual is TRUE for a cut of the gradual detector, whose score is then
 *   the wide score;
 * - pushes a downstream force-key-unit event (all-headers TRUE, count = number of
 *   the cut) with the cut frame's timestamps, so that an encoder makes a keyframe
 *   there and splitmuxsink can split there (splitmuxsink splits only when asked,
 *   e.g. by its split-at-running-time signal with the message's running-time);
 * - with `draw`, paints a red bar across the top of the first frames (a fifth of
 *   a second) of the new scene.
 *
 * Look-ahead: a boundary is only known once the windows that contain it have
 * been encoded, up to a window after the frame.  With `look-ahead` (default) the
 * element holds buffers back until every boundary before them is decided (at
 * most frames-per-clip - 1 frames, which it adds to its LATENCY answer) so that
 * the force-key-unit event goes out right before the new scene's first buffer
 * and the marker is drawn on it.  Without it buffers pass immediately and the
 * event, with the cut's own timestamps, follows up to a window later: an encoder
 * then makes its keyframe on the frame after the decision, not on the cut.
 *
 *   gst-launch-1.0 -m filesrc location=examples/data/sample.mp4 ! decodebin ! \
 *     videoconvert ! svilmscenecut location=cuts.jsonl ! \
 *     videoconvert ! x264enc ! mp4mux ! filesink location=out.mp4
 */
#include "config.h"

#include "gstsvilmscenecut.h"
#include "gstsvilmmarker.h"

GST_DEBUG_CATEGORY_STATIC (gst_svilm_scene_cut_debug);
#define GST_CAT_DEFAULT gst_svilm_scene_cut_debug

#define DEFAULT_THRESHOLD -1.0 /* the model's: svilm_model_get_scene_threshold */
#define DEFAULT_MIN_SCENE_LENGTH 15
#define DEFAULT_MERGE_RUNS TRUE
#define DEFAULT_LOOK_AHEAD TRUE
#define DEFAULT_DRAW FALSE
#define DEFAULT_FLASH_FILTER TRUE
#define DEFAULT_GRADUAL_THRESHOLD -1.0 /* the model's: svilm_model_get_gradual_threshold */
#define DEFAULT_GRADUAL_GAP SVILM_GRADUAL_GAP
#define DEFAULT_BATCH 0 /* one window a core */
#define MARKER_FRAMES_NO_RATE 6

enum {
  PROP_0,
  PROP_THRESHOLD,
  PROP_MIN_SCENE_LENGTH,
  PROP_MERGE_RUNS,
  PROP_LOOK_AHEAD,
  PROP_DRAW,
  PROP_FLASH_FILTER,
  PROP_GRADUAL_THRESHOLD,
  PROP_GRADUAL_GAP,
  PROP_BATCH,
};

typedef struct {
  GstClockTime pts, duration;
} FrameInfo;

/* a slice boundary: the frame where a new scene would start */
typedef struct {
  guint64 seq;
  GstClockTime pts, duration;
  gdouble sum;   /* of the windows' 1 - cos across it */
  guint count;   /* windows that scored it */
  gdouble cross; /* the smallest 1 - cos of slices on both sides, in any window */
  gdouble wide;  /* the same without the adjacent pair (SvilmBoundary's wide) */
} Boundary;

/* a buffer held back (look-ahead), or a serialized event queued behind them */
typedef struct {
  GstBuffer *buffer;
  GstEvent *event;
  guint64 seq;
  GstEvent *key_unit; /* goes out right before the buffer */
  gboolean mark;      /* draw the marker on it */
} Held;

struct _GstSvilmSceneCut {
  GstSvilmFilter parent;

  /* properties (object lock) */
  gdouble threshold;
  guint min_scene_length;
  gboolean merge_runs;
  gboolean look_ahead, draw, flash_filter;
  gdouble gradual_threshold;
  guint gradual_gap;
  guint batch;

  /* streaming state */
  gboolean holding; /* look-ahead in effect (fixed at start) */
  guint fpc, step, clip_frames;
  gint fps_n, fps_d;
  guint marker_frames;
  GstClockTime hold_latency;
  GArray *hist; /* FrameInfo of the frames from hist_first on (undecided) */
  guint64 hist_first;
  guint64 seq;             /* frames seen since start (the base class's count) */
  guint64 final_end;       /* boundaries and frames before this seq are decided */
  SvilmCutState cut_state; /* the decisions so far, in seqs (svilm_cut_decide) */
  guint64 mark_until;      /* draw the marker on frames before this seq */
  guint64 cuts;
  GstBuffer *ingested; /* the frame window_done already counted */
  GArray *pending;     /* Boundary, ascending seq, all >= final_end */
  GQueue held;         /* Held, in stream order */
};

G_DEFINE_TYPE (GstSvilmSceneCut, gst_svilm_scene_cut, GST_TYPE_SVILM_FILTER)
GST_ELEMENT_REGISTER_DEFINE (svilmscenecut, "svilmscenecut", GST_RANK_NONE,
                             GST_TYPE_SVILM_SCENE_CUT)

static void
held_free (Held *h)
{
  gst_clear_buffer (&h->buffer);
  gst_clear_event (&h->event);
  gst_clear_event (&h->key_unit);
  g_free (h);
}

/* forget everything in flight: at start, stop and flushes */
static void
reset_stream (GstSvilmSceneCut *self)
{
  g_queue_clear_full (&self->held, (GDestroyNotify) held_free);
  if (self->pending)
    g_array_set_size (self->pending, 0);
  if (self->hist)
    g_array_set_size (self->hist, 0);
  self->ingested = NULL;
  self->final_end = self->seq + 1; /* a window never starts with a boundary */
  svilm_cut_state_init (&self->cut_state, (gint64) self->seq);
  self->mark_until = 0;
}

static guint64
frame_number (GstSvilmSceneCut *self, GstClockTime pts, guint64 seq)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  if (self->fps_n > 0 && self->fps_d > 0 && seg->format == GST_FORMAT_TIME &&
      GST_CLOCK_TIME_IS_VALID (pts)) {
    GstClockTime st = gst_segment_to_stream_time (seg, GST_FORMAT_TIME, pts);
    if (GST_CLOCK_TIME_IS_VALID (st))
      return gst_util_uint64_scale_round (st, (guint64) self->fps_n,
                                          (guint64) self->fps_d * GST_SECOND);
  }
  return seq;
}

static GstBuffer *
draw_on_buffer (GstSvilmSceneCut *self, GstBuffer *buf)
{
  GstVideoFrame frame;
  buf = gst_buffer_make_writable (buf);
  if (gst_video_frame_map (&frame, &GST_VIDEO_FILTER (self)->in_info, buf,
                           GST_MAP_READWRITE | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)) {
    gst_svilm_draw_cut_marker (&frame);
    gst_video_frame_unmap (&frame);
  } else {
    GST_WARNING_OBJECT (self, "could not map a held frame to draw the marker");
  }
  return buf;
}

/* Counts a frame: its timestamps for the window, the mirrored window state and,
 * with look-ahead, a ref to hold it back. */
static void
ingest (GstSvilmSceneCut *self, GstBuffer *buf)
{
  guint64 s = self->seq++;
  FrameInfo fi = { GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf) };
  if (self->hist->len == 0)
    self->hist_first = s;
  g_array_append_val (self->hist, fi);
  if (self->holding) {
    Held *h = g_new0 (Held, 1);
    h->buffer = gst_buffer_ref (buf);
    h->seq = s;
    h->mark = s < self->mark_until;
    g_queue_push_tail (&self->held, h);
  }
}

static void
add_boundary (GstSvilmSceneCut *self, guint64 seq, const SvilmBoundary *sb)
{
  guint i = 0;
  while (i < self->pending->len && g_array_index (self->pending, Boundary, i).seq < seq)
    i++;
  if (i < self->pending->len && g_array_index (self->pending, Boundary, i).seq == seq) {
    Boundary *b = &g_array_index (self->pending, Boundary, i);
    b->sum += sb->change;
    b->count++;
    b->cross = MIN (b->cross, sb->cross);
    b->wide = MIN (b->wide, sb->wide);
    return;
  }
  FrameInfo *fi = &g_array_index (self->hist, FrameInfo, seq - self->hist_first);
  Boundary b = { seq, fi->pts, fi->duration, sb->change, 1, sb->cross, sb->wide };
  g_array_insert_val (self->pending, i, b);
}

/* Scores the boundaries between consecutive token slices of a window whose first
 * frame is `first` and which holds n frames. */
static void
score_window (GstSvilmSceneCut *self, SvilmClip *clip, guint64 first, guint n)
{
  g_autoptr (GArray) boundaries = svilm_clip_get_boundaries (clip, n);
  for (guint i = 0; i < boundaries->len; i++) {
    const SvilmBoundary *b = &g_array_index (boundaries, SvilmBoundary, i);
    guint64 seq = first + b->frame;
    if (seq < self->final_end)
      continue;
    GST_LOG_OBJECT (self, "boundary at frame %" G_GUINT64_FORMAT ": %.4f (across %.4f, wide %.4f)",
                    seq, b->change, b->cross, b->wide);
    add_boundary (self, seq, b);
  }
}

static void
emit_cut (GstSvilmSceneCut *self, const Boundary *b, gdouble score, gboolean gradual)
{
  GstSvilmFilter *filter = GST_SVILM_FILTER (self);
  GstClockTime end = GST_CLOCK_TIME_IS_VALID (b->pts) && GST_CLOCK_TIME_IS_VALID (b->duration)
                         ? b->pts + b->duration
                         : GST_CLOCK_TIME_NONE;
  GstStructure *s = gst_svilm_filter_new_result (filter, "svilm-scenecut", b->pts, end);
  guint64 frame = frame_number (self, b->pts, b->seq);
  guint64 stream = GST_CLOCK_TIME_NONE, running = GST_CLOCK_TIME_NONE;
  gst_structure_get_uint64 (s, "stream-time", &stream);
  gst_structure_get_uint64 (s, "running-time", &running);
  gst_structure_set (s, "score", G_TYPE_DOUBLE, score, "frame", G_TYPE_UINT64, frame, "gradual",
                     G_TYPE_BOOLEAN, gradual, NULL);
  GST_INFO_OBJECT (self, "%s at frame %" G_GUINT64_FORMAT " (%" GST_TIME_FORMAT "), score %.4f",
                   gradual ? "gradual transition" : "cut", frame, GST_TIME_ARGS (b->pts), score);
  gst_svilm_filter_write_json (filter, s);
  if (gst_svilm_filter_post_messages (filter))
    gst_svilm_filter_post (filter, s);
  else
    gst_structure_free (s);

  GstEvent *ev = gst_video_event_new_downstream_force_key_unit (b->pts, stream, running, TRUE,
                                                                (guint) ++self->cuts);
  Held *target = NULL;
  for (GList *l = self->held.head; l; l = l->next) {
    Held *h = l->data;
    if (h->buffer && h->seq >= b->seq && h->seq < b->seq + self->marker_frames)
      h->mark = TRUE;
    if (h->buffer && h->seq == b->seq)
      target = h;
  }
  if (target) {
    gst_event_replace (&target->key_unit, ev);
    gst_event_unref (ev);
    self->mark_until = MAX (self->mark_until, b->seq + self->marker_frames);
  } else {
    /* the frame is gone already (no look-ahead): the encoder keys the next one */
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), ev);
    self->mark_until = MAX (self->mark_until, self->seq - 1 + self->marker_frames);
  }
}

/* Decides the boundaries before seq `end`, in order. */
static void
decide (GstSvilmSceneCut *self, guint64 end)
{
  GST_OBJECT_LOCK (self);
  SvilmCutRule rule = { self->threshold, self->min_scene_length, self->merge_runs,
                        self->gradual_threshold, self->gradual_gap };
  gboolean flash_filter = self->flash_filter;
  if (rule.threshold < 0.0 || rule.gradual_threshold < 0.0) {
    SvilmModel *model = gst_svilm_filter_get_model (GST_SVILM_FILTER (self));
    if (rule.threshold < 0.0)
      rule.threshold =
          model ? svilm_model_get_scene_threshold (model) : SVILM_SCENE_THRESHOLD_COSINE;
    if (rule.gradual_threshold < 0.0)
      rule.gradual_threshold = model ? svilm_model_get_gradual_threshold (model) : 0.0;
  }
  GST_OBJECT_UNLOCK (self);
  guint done = 0;
  while (done < self->pending->len && g_array_index (self->pending, Boundary, done).seq < end) {
    Boundary *b = &g_array_index (self->pending, Boundary, done++);
    gdouble score = b->sum / b->count;
    if (flash_filter)
      score = MIN (score, b->cross);
    gboolean gradual = FALSE;
    if (svilm_cut_decide (&rule, &self->cut_state, (gint64) b->seq, score, b->wide, &gradual))
      emit_cut (self, b, gradual ? b->wide : score, gradual);
  }
  g_array_remove_range (self->pending, 0, done);
  self->final_end = MAX (self->final_end, end);
  /* boundaries to come lie at final_end or later: the frames before need no times */
  guint old =
      (guint) MIN (self->hist->len, self->final_end - MIN (self->final_end, self->hist_first));
  g_array_remove_range (self->hist, 0, old);
  self->hist_first += old;
}

/* Pushes the held buffers (and the events queued between them) whose boundaries
 * are all decided. */
static GstFlowReturn
release (GstSvilmSceneCut *self)
{
  GstPad *src = GST_BASE_TRANSFORM_SRC_PAD (self);
  GstFlowReturn ret = GST_FLOW_OK;
  Held *h;
  while (ret == GST_FLOW_OK && (h = g_queue_peek_head (&self->held))) {
    if (h->buffer && h->seq >= self->final_end)
      break;
    g_queue_pop_head (&self->held);
    if (h->event) {
      gst_pad_push_event (src, g_steal_pointer (&h->event));
    } else {
      if (h->key_unit)
        gst_pad_push_event (src, g_steal_pointer (&h->key_unit));
      GstBuffer *buf = g_steal_pointer (&h->buffer);
      GST_OBJECT_LOCK (self);
      gboolean draw = self->draw;
      GST_OBJECT_UNLOCK (self);
      if (h->mark && draw)
        buf = draw_on_buffer (self, buf);
      ret = gst_pad_push (src, buf);
    }
    held_free (h);
  }
  if (ret != GST_FLOW_OK)
    GST_DEBUG_OBJECT (self, "pushing held buffers: %s", gst_flow_get_name (ret));
  return ret;
}

/* Decides everything pending and lets all held buffers go (end of stream, new
 * caps or segment). */
static GstFlowReturn
drain (GstSvilmSceneCut *self)
{
  guint64 end = MAX (self->final_end, self->seq);
  decide (self, G_MAXUINT64);
  GstFlowReturn ret = release (self);
  self->final_end = end;
  return ret;
}

static GstFlowReturn
gst_svilm_scene_cut_window_done (GstSvilmFilter *filter, GstSvilmWindow *w, GstVideoFrame *frame)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (filter);
  if (frame) {
    /* the frame completing the window: frame_done comes right after */
    ingest (self, frame->buffer);
    self->ingested = frame->buffer;
  }
  /* the base class numbers frames as we do (both count every frame since start) */
  guint64 first = w->first;
  guint n = w->n_frames;
  if (first + n > self->seq) {
    GST_WARNING_OBJECT (
        self, "window of frames %" G_GUINT64_FORMAT "+%u out of step (seen %" G_GUINT64_FORMAT ")",
        first, n, self->seq);
    n = 0;
  }
  if (w->clip && n > 0)
    score_window (self, w->clip, first, n);
  if (w->partial) {
    GstFlowReturn ret = drain (self);
    return ret == GST_FLOW_OK || ret == GST_FLOW_EOS ? GST_FLOW_OK : ret;
  }
  /* later windows start after first + step: every boundary up to there is final */
  decide (self, first + self->step + 1);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_svilm_scene_cut_frame_done (GstSvilmFilter *filter, GstVideoFrame *frame)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (filter);
  if (self->ingested == frame->buffer)
    self->ingested = NULL;
  else
    ingest (self, frame->buffer);
  if (!self->holding) {
    GST_OBJECT_LOCK (self);
    gboolean draw = self->draw;
    GST_OBJECT_UNLOCK (self);
    if (draw && self->seq - 1 < self->mark_until && (frame->map[0].flags & GST_MAP_WRITE))
      gst_svilm_draw_cut_marker (frame);
    return GST_FLOW_OK;
  }
  /* held: the base class drops its ref, release() pushes ours when decided */
  GstFlowReturn ret = release (self);
  return ret == GST_FLOW_OK ? GST_BASE_TRANSFORM_FLOW_DROPPED : ret;
}

static gboolean
gst_svilm_scene_cut_model_changed (GstSvilmFilter *filter, SvilmModel *model)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (filter);
  if (!model) {
    reset_stream (self);
    return TRUE;
  }
  GST_OBJECT_LOCK (self);
  self->holding = self->look_ahead;
  gboolean draw_in_place = self->draw && !self->look_ahead;
  GST_OBJECT_UNLOCK (self);
  gst_svilm_filter_set_draws (filter, draw_in_place);
  self->seq = 0;
  self->cuts = 0;
  reset_stream (self);
  return TRUE;
}

static gboolean
gst_svilm_scene_cut_set_info (GstVideoFilter *vf, GstCaps *incaps, GstVideoInfo *in_info,
                              GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (vf);
  if (!GST_VIDEO_FILTER_CLASS (gst_svilm_scene_cut_parent_class)
           ->set_info (vf, incaps, in_info, outcaps, out_info))
    return FALSE;
  /* the base class's window */
  SvilmModel *model = gst_svilm_filter_get_model (GST_SVILM_FILTER (vf));
  self->clip_frames = model ? svilm_model_get_clip_frames (model) : 8;
  gst_svilm_filter_get_window (GST_SVILM_FILTER (vf), &self->fpc, &self->step);
  guint batch = gst_svilm_filter_get_batch (GST_SVILM_FILTER (vf));
  /* a window's frames until its batch is encoded */
  self->fps_n = in_info->fps_n;
  self->fps_d = in_info->fps_d;
  GstClockTime frame_dur = 0;
  if (self->fps_n > 0 && self->fps_d > 0) {
    frame_dur = gst_util_uint64_scale (GST_SECOND, (guint64) self->fps_d, (guint64) self->fps_n);
    self->marker_frames = MAX (1u, (guint) (0.2 * self->fps_n / self->fps_d + 0.5));
  } else {
    self->marker_frames = MARKER_FRAMES_NO_RATE;
  }
  /* the base class restarts its windows: so do we (held frames went out before the caps) */
  g_array_set_size (self->pending, 0);
  g_array_set_size (self->hist, 0);
  self->ingested = NULL;
  self->final_end = self->seq + 1;
  svilm_cut_state_break (&self->cut_state);
  /* a window's frames wait for their batch: (batch - 1) strides more */
  GstClockTime latency = self->holding ? (self->fpc - 1 + (batch - 1) * self->step) * frame_dur : 0;
  GST_OBJECT_LOCK (self); /* read by LATENCY queries from other threads */
  gboolean changed = latency != self->hold_latency;
  self->hold_latency = latency;
  GST_OBJECT_UNLOCK (self);
  if (changed) {
    GST_INFO_OBJECT (self, "look-ahead latency %" GST_TIME_FORMAT, GST_TIME_ARGS (latency));
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
  }
  GST_INFO_OBJECT (self,
                   "windows of %u frames every %u (clips of %u model frames) in batches of %u, "
                   "marker %u frames",
                   self->fpc, self->step, self->clip_frames, batch, self->marker_frames);
  return TRUE;
}

static gboolean
gst_svilm_scene_cut_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (trans);
  GstBaseTransformClass *parent = GST_BASE_TRANSFORM_CLASS (gst_svilm_scene_cut_parent_class);
  /* the windows waiting for a batch come first: what follows acts on their results */
  if (GST_EVENT_IS_SERIALIZED (event) && GST_EVENT_TYPE (event) != GST_EVENT_FLUSH_STOP)
    gst_svilm_filter_finish_windows (GST_SVILM_FILTER (self));
  switch (GST_EVENT_TYPE (event)) {
  case GST_EVENT_FLUSH_STOP:
    reset_stream (self);
    break;
  case GST_EVENT_EOS:
    /* with new frames in the base class's window, it encodes them as a partial
     * window first and window_done drains; otherwise (nothing new since the last
     * window) it encodes nothing, so drain now */
    if (!gst_svilm_filter_has_partial_window (GST_SVILM_FILTER (self)))
      drain (self);
    break;
  case GST_EVENT_CAPS:
  case GST_EVENT_SEGMENT:
  case GST_EVENT_GAP:
  case GST_EVENT_STREAM_START:
  case GST_EVENT_SEGMENT_DONE:
    drain (self);
    break;
  default:
    if (GST_EVENT_IS_SERIALIZED (event) && !g_queue_is_empty (&self->held)) {
      GstEventType t = GST_EVENT_TYPE (event);
      if (t == GST_EVENT_TAG || t == GST_EVENT_CUSTOM_DOWNSTREAM ||
          t == GST_EVENT_CUSTOM_DOWNSTREAM_STICKY) {
        /* keep its place among the held buffers */
        Held *h = g_new0 (Held, 1);
        h->event = event;
        g_queue_push_tail (&self->held, h);
        return TRUE;
      }
      drain (self);
    }
    break;
  }
  return parent->sink_event (trans, event);
}

static gboolean
gst_svilm_scene_cut_query (GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (trans);
  gboolean ret =
      GST_BASE_TRANSFORM_CLASS (gst_svilm_scene_cut_parent_class)->query (trans, direction, query);
  GST_OBJECT_LOCK (self);
  GstClockTime hold = self->hold_latency;
  GST_OBJECT_UNLOCK (self);
  if (ret && direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY && hold > 0) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency (query, &live, &min, &max);
    min += hold;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += hold;
    gst_query_set_latency (query, live, min, max);
  }
  return ret;
}

static void
gst_svilm_scene_cut_set_property (GObject *object, guint prop_id, const GValue *value,
                                  GParamSpec *pspec)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_THRESHOLD:
    self->threshold = g_value_get_double (value);
    break;
  case PROP_MIN_SCENE_LENGTH:
    self->min_scene_length = g_value_get_uint (value);
    break;
  case PROP_MERGE_RUNS:
    self->merge_runs = g_value_get_boolean (value);
    break;
  case PROP_LOOK_AHEAD:
    self->look_ahead = g_value_get_boolean (value);
    break;
  case PROP_FLASH_FILTER:
    self->flash_filter = g_value_get_boolean (value);
    break;
  case PROP_GRADUAL_THRESHOLD:
    self->gradual_threshold = g_value_get_double (value);
    break;
  case PROP_GRADUAL_GAP:
    self->gradual_gap = g_value_get_uint (value);
    break;
  case PROP_BATCH:
    self->batch = g_value_get_uint (value);
    gst_svilm_filter_set_batch (GST_SVILM_FILTER (self), self->batch);
    break;
  case PROP_DRAW: {
    self->draw = g_value_get_boolean (value);
    gboolean in_place = self->draw && !self->holding;
    GST_OBJECT_UNLOCK (self);
    /* without look-ahead the marker is drawn in place: frames mapped writable
     * from the next frame on */
    gst_svilm_filter_set_draws (GST_SVILM_FILTER (self), in_place);
    return;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_svilm_scene_cut_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_THRESHOLD:
    g_value_set_double (value, self->threshold);
    break;
  case PROP_MIN_SCENE_LENGTH:
    g_value_set_uint (value, self->min_scene_length);
    break;
  case PROP_MERGE_RUNS:
    g_value_set_boolean (value, self->merge_runs);
    break;
  case PROP_LOOK_AHEAD:
    g_value_set_boolean (value, self->look_ahead);
    break;
  case PROP_FLASH_FILTER:
    g_value_set_boolean (value, self->flash_filter);
    break;
  case PROP_GRADUAL_THRESHOLD:
    g_value_set_double (value, self->gradual_threshold);
    break;
  case PROP_GRADUAL_GAP:
    g_value_set_uint (value, self->gradual_gap);
    break;
  case PROP_BATCH:
    g_value_set_uint (value, self->batch);
    break;
  case PROP_DRAW:
    g_value_set_boolean (value, self->draw);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_svilm_scene_cut_finalize (GObject *object)
{
  GstSvilmSceneCut *self = GST_SVILM_SCENE_CUT (object);
  g_queue_clear_full (&self->held, (GDestroyNotify) held_free);
  g_array_unref (self->pending);
  g_array_unref (self->hist);
  G_OBJECT_CLASS (gst_svilm_scene_cut_parent_class)->finalize (object);
}

static void
gst_svilm_scene_cut_class_init (GstSvilmSceneCutClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *vfilter_class = GST_VIDEO_FILTER_CLASS (klass);
  GstSvilmFilterClass *filter_class = GST_SVILM_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_svilm_scene_cut_debug, "svilmscenecut", 0,
                           "svilm scene cut detection");

  gobject_class->set_property = gst_svilm_scene_cut_set_property;
  gobject_class->get_property = gst_svilm_scene_cut_get_property;
  gobject_class->finalize = gst_svilm_scene_cut_finalize;

  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  g_object_class_install_property (
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
                           "Cut where the score of a boundary between two token slices reaches "
                           "this: the model's scene head's probability of a change (0 to 1) or, "
                           "for a model without one, 1 - cosine of their features (0 to 2); "
                           "above 2 never cuts; -1: the model's default (0.25 with a scene "
                           "head, 0.2 without)",
                           -1.0, 3.0, DEFAULT_THRESHOLD, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_MIN_SCENE_LENGTH,
      g_param_spec_uint ("min-scene-length", "Minimum scene length",
                         "Frames from the previous cut (or the start of the stream) before "
                         "another cut can be reported",
                         0, G_MAXUINT, DEFAULT_MIN_SCENE_LENGTH, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_MERGE_RUNS,
      g_param_spec_boolean ("merge-runs", "Merge runs",
                            "Boundaries in a row that all reach the threshold (a dissolve or a "
                            "fade scores high all along) make one cut, at the first that may "
                            "cut; off, each is a cut of its own when min-scene-length allows",
                            DEFAULT_MERGE_RUNS, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_LOOK_AHEAD,
      g_param_spec_boolean ("look-ahead", "Look-ahead",
                            "Hold buffers back until the cuts before them are decided (up to "
                            "frames-per-clip - 1 + (batch - 1) * stride frames of latency) so that "
                            "the force-key-unit "
                            "event and the marker land on the first frame of a new scene; "
                            "without it they follow up to a window late",
                            DEFAULT_LOOK_AHEAD, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (
      gobject_class, PROP_DRAW,
      g_param_spec_boolean ("draw", "Draw",
                            "Paint a red bar across the top of the first frames of each new "
                            "scene (a fifth of a second)",
                            DEFAULT_DRAW, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_FLASH_FILTER,
      g_param_spec_boolean ("flash-filter", "Flash filter",
                            "Score a boundary no higher than the closest pair of token slices "
                            "on both sides of it, so that a flash or anything else that comes "
                            "and goes within a window is not a cut",
                            DEFAULT_FLASH_FILTER, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_GRADUAL_THRESHOLD,
      g_param_spec_double ("gradual-threshold", "Gradual transition threshold",
                           "Also cut where token slices further apart than the adjacent ones "
                           "all differ this much (a dissolve too slow for adjacent slices to "
                           "tell), unless a cut lies within gradual-gap frames before; 0: "
                           "off; -1: the model's default (0.5 with a scene head, off without)",
                           -1.0, 3.0, DEFAULT_GRADUAL_THRESHOLD, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_GRADUAL_GAP,
      g_param_spec_uint ("gradual-gap", "Gradual transition gap",
                         "Frames before a gradual-transition cut without another cut, and after "
                         "it in which a usual cut is the same transition and dropped",
                         0, G_MAXUINT, DEFAULT_GRADUAL_GAP, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_BATCH,
      g_param_spec_uint ("batch", "Batch",
                         "Windows encoded together, side by side on the cores (more windows a "
                         "second than one window split over them; each waits for its batch, "
                         "up to (batch - 1) * stride frames more latency); 0: one a core, at "
                         "most 4; 1: each window at once",
                         0, 4, DEFAULT_BATCH, rw | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata (
      element_class, "svilm scene cut detector", "Filter/Analyzer/Video",
      "Detects scene cuts with S-ViLM's temporal-aware clip features; posts svilm-scenecut "
      "messages, writes JSON lines, asks the encoder downstream for a keyframe at each cut "
      "(force-key-unit event) and can mark cuts on the frames",
      "svilm developers");

  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_svilm_scene_cut_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_svilm_scene_cut_query);
  vfilter_class->set_info = GST_DEBUG_FUNCPTR (gst_svilm_scene_cut_set_info);
  filter_class->window_done = GST_DEBUG_FUNCPTR (gst_svilm_scene_cut_window_done);
  filter_class->frame_done = GST_DEBUG_FUNCPTR (gst_svilm_scene_cut_frame_done);
  filter_class->model_changed = GST_DEBUG_FUNCPTR (gst_svilm_scene_cut_model_changed);
}

static void
gst_svilm_scene_cut_init (GstSvilmSceneCut *self)
{
  /* overlapping windows: every slice boundary is seen by two windows */
  gst_svilm_filter_set_default_stride_divisor (GST_SVILM_FILTER (self), 0);
  /* the bundled model whose scene head was chosen for cuts (models/README.md) */
  gst_svilm_filter_set_default_model (GST_SVILM_FILTER (self), gst_svilm_scenecut_model ());
  self->threshold = DEFAULT_THRESHOLD;
  self->min_scene_length = DEFAULT_MIN_SCENE_LENGTH;
  self->merge_runs = DEFAULT_MERGE_RUNS;
  self->look_ahead = DEFAULT_LOOK_AHEAD;
  self->draw = DEFAULT_DRAW;
  self->flash_filter = DEFAULT_FLASH_FILTER;
  self->gradual_threshold = DEFAULT_GRADUAL_THRESHOLD;
  self->gradual_gap = DEFAULT_GRADUAL_GAP;
  self->batch = DEFAULT_BATCH;
  gst_svilm_filter_set_batch (GST_SVILM_FILTER (self), DEFAULT_BATCH);
  self->pending = g_array_new (FALSE, FALSE, sizeof (Boundary));
  self->hist = g_array_new (FALSE, FALSE, sizeof (FrameInfo));
  self->marker_frames = MARKER_FRAMES_NO_RATE;
  g_queue_init (&self->held);
}
