/* svilm: GstSvilmFilter, the base class of the svilm analysis elements.
 *
 * An in-place GstVideoFilter that
 * - loads the model (`model`, `device`) when going READY->PAUSED, sharing it
 *   with every element of the process that uses the same file, and reports a
 *   missing, corrupt or incompatible file as a GST_ELEMENT_ERROR;
 * - prepares each incoming frame straight into the model's input resolution and
 *   groups frames into clip windows (`frames-per-clip`, `stride`), running the
 *   encoder on every `inference-interval`-th window and handing the clip to the
 *   subclass together with the buffer that completed the window;
 * - answers the LATENCY query with the window it adds, posts LATENCY when that
 *   changes, and takes part in QoS (late buffers are dropped by the base class,
 *   which posts QOS messages);
 * - offers the three result channels: element messages with the standard fields,
 *   JSON lines (`location`), and metas (subclasses).
 */
#pragma once

#include "svilm-model.h"

#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define GST_TYPE_SVILM_FILTER (gst_svilm_filter_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstSvilmFilter, gst_svilm_filter, GST, SVILM_FILTER, GstVideoFilter)

/* A finished clip window. */
typedef struct {
  SvilmClip *clip;    /* NULL when the window was skipped by inference-interval */
  guint64 index;      /* windows since the element started (flushes do not reset it) */
  GstClockTime start; /* PTS of the first frame of the window */
  GstClockTime end;   /* PTS + duration of the last frame */
  gboolean partial;   /* flushed at EOS with fewer frames than a window */
  guint64 first;      /* the number of its first frame among the frames since start */
  guint n_frames;     /* frames in the window */
} GstSvilmWindow;

struct _GstSvilmFilterClass {
  GstVideoFilterClass parent_class;
  /* A window is complete.  `frame` is the frame that completed it, writable only if the
   * subclass is not in passthrough; NULL at EOS for a partial window and, with batches
   * (gst_svilm_filter_set_batch), for every window of a batch but the last: their
   * frames went through frame_done before. */
  GstFlowReturn (*window_done) (GstSvilmFilter *self, GstSvilmWindow *window, GstVideoFrame *frame);
  /* Every frame after it was added to the window (for per-frame drawing); optional. */
  GstFlowReturn (*frame_done) (GstSvilmFilter *self, GstVideoFrame *frame);
  /* Model loaded (start) or released (stop, model == NULL); optional. */
  gboolean (*model_changed) (GstSvilmFilter *self, SvilmModel *model);
};

/* The window stride when the `stride` property is 0: frames-per-clip / divisor
 * (1, side by side, by default; 2 overlaps windows by half; 0 steps by one token
 * slice, frames-per-clip / the model's temporal grid).  Call in instance init. */
void gst_svilm_filter_set_default_stride_divisor (GstSvilmFilter *self, guint divisor);
/* The effective window and stride in frames (valid once caps are set). */
void gst_svilm_filter_get_window (GstSvilmFilter *self, guint *frames_per_clip, guint *stride);

/* Windows to encode together, one a core (0: one a core of the machine, at most 4; 1:
 * each window at once, the default).  The clips of a batch run side by side, which
 * keeps the cores busier than one small clip split over them, and each window's
 * window_done waits for the batch: up to (batch - 1) * stride frames.  Only for
 * subclasses that need no frame in window_done.  Takes effect with the next caps. */
void gst_svilm_filter_set_batch (GstSvilmFilter *self, guint batch);
/* The batch in effect (1 before caps). */
guint gst_svilm_filter_get_batch (GstSvilmFilter *self);
/* Encodes the windows waiting for a batch now and hands them to window_done (the base
 * class does it before every serialized event; a subclass that acts on an event
 * before chaining up calls it first). */
GstFlowReturn gst_svilm_filter_finish_windows (GstSvilmFilter *self);
/* Whether EOS will hand window_done a partial window (new frames since the last). */
gboolean gst_svilm_filter_has_partial_window (GstSvilmFilter *self);
/* Subclasses that draw on frames: map them writable (default read-only). */
void gst_svilm_filter_set_draws (GstSvilmFilter *self, gboolean draws);

/* The model in use (NULL before start); (transfer none). */
SvilmModel *gst_svilm_filter_get_model (GstSvilmFilter *self);

/* A GstStructure for an element message about [start, end): name plus
 * timestamp, stream-time, running-time and duration; add fields, then post. */
GstStructure *gst_svilm_filter_new_result (GstSvilmFilter *self, const char *name,
                                           GstClockTime start, GstClockTime end);
void gst_svilm_filter_post (GstSvilmFilter *self, GstStructure *s);
gboolean gst_svilm_filter_post_messages (GstSvilmFilter *self);

/* Writes the structure as one JSON object line when `location` is set. */
void gst_svilm_filter_write_json (GstSvilmFilter *self, const GstStructure *s);

/* The bundled models' paths (SVILM_MODEL in the environment overrides both): the
 * default one, and svilmscenecut's, whose scene head holds issue 7's cut targets
 * (models/README.md). */
const char *gst_svilm_default_model (void);
const char *gst_svilm_scenecut_model (void);
/* the model loaded when the `model` property is not set (a subclass's init; the path
 * must outlive the element) */
void gst_svilm_filter_set_default_model (GstSvilmFilter *self, const char *path);

G_END_DECLS
