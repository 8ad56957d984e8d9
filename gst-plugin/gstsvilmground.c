/* svilm: svilmground, phrase grounding with an overlay.
 *
 * SECTION:element-svilmground
 * @title: svilmground
 *
 * Grounds text phrases in the video: for each clip window (see frames-per-clip,
 * stride and inference-interval) and each phrase of `phrases` ("dog;red ball",
 * separated by ';'), S-ViLM's group tokens give a heatmap over the token grid,
 * a box around the hottest tokens and a score (the cosine of the phrase and its
 * attention-pooled group tokens, in [-1, 1]).
 *
 * The latest result of each phrase stays current until the next window replaces
 * it (a flush, a change of `phrases` or a stop clears it).  With `follow` (the
 * default) the frames show it as the window's last token slice does: where the
 * phrase is at the end of the window, which follows a moving object (the pointing
 * game on the synthetic test split: 56.5 % slice by slice, 43.6 % averaged over
 * the window; docs/evaluation.md); off, the heatmap averaged over the window,
 * whose box the messages carry.  While it is current:
 *
 * - every frame carries a GstVideoRegionOfInterestMeta per phrase: roi_type is
 *   the phrase, the box is in pixels of the frame, and its parameter
 *   `svilm/grounding` holds label (string), score (double) and group (uint);
 * - with `draw` (default both) every frame gets an overlay: each phrase's heatmap
 *   blended over the frame in the phrase's colour (opacity heatmap-alpha times
 *   the heat) and/or its box with a label "phrase score".  The overlay is rendered
 *   once per result into an ARGB surface of the frame size and composited over
 *   each frame: by cairo in place for BGRx and BGRA (xRGB and ARGB on big-endian
 *   machines), by a byte loop for the other packed RGB formats.  BGRA/ARGB
 *   frames are assumed opaque.
 *
 * Each window posts one element message per phrase (when post-messages is set)
 * and writes the same as a JSON line (when location is set):
 *
 *   svilm-ground, timestamp=(guint64), stream-time=(guint64),
 *     running-time=(guint64), duration=(guint64), clip-index=(guint64),
 *     partial=(boolean), phrase=(string), score=(double), x=(int), y=(int),
 *     width=(int), height=(int), point-x=(double), point-y=(double),
 *     group=(uint), grid-width=(uint),
 *     grid-height=(uint), heatmap=(float)< grid-height x grid-width values in
 *     [0, 1], row-major >, grid-time=(uint), slice-heatmaps=(float)< grid-time
 *     heatmaps like heatmap, one per token slice of the window, 1 at the top of
 *     all of them >
 *
 * x, y, width and height are pixels of the negotiated frame size, and so is the
 * point, where the heatmap points (svilm_heatmap_point: the centre of mass of the
 * token cells around its maximum, the pointing game's point); the window
 * spans [timestamp, timestamp + duration).  With no phrases the element has
 * nothing to do and is passthrough.
 *
 *   gst-launch-1.0 -m filesrc location=examples/data/sample.mp4 ! decodebin ! \
 *     videoconvert ! svilmground phrases="ball;square" ! videoconvert ! \
 *     x264enc ! mp4mux ! filesink location=ground.mp4
 */
#include "config.h"

#include "gstsvilmground.h"
#include "gstsvilmcomposite.h"

#include <cairo.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_svilm_ground_debug);
#define GST_CAT_DEFAULT gst_svilm_ground_debug

#define DEFAULT_DRAW GST_SVILM_GROUND_DRAW_BOTH
#define DEFAULT_HEATMAP_ALPHA 0.5
#define DEFAULT_FOLLOW TRUE

enum {
  PROP_0,
  PROP_PHRASES,
  PROP_DRAW,
  PROP_HEATMAP_ALPHA,
  PROP_FOLLOW,
};

typedef struct {
  char *text;
  gfloat *embedding; /* NULL until encoded with the current model */
  gsize dim;
  SvilmGrounding *result; /* the latest window's, or NULL */
  SvilmGrounding *latest; /* the same, as the window's last token slice shows it */
} Phrase;

struct _GstSvilmGround {
  GstSvilmFilter parent;

  /* properties (object lock) */
  char *phrases;
  GstSvilmGroundDraw draw;
  gdouble heatmap_alpha;
  gboolean follow;

  /* phrases, their embeddings and latest results (lock) */
  GMutex lock;
  GPtrArray *items;
  guint64 results_gen; /* bumped whenever a result or the phrases change */

  /* drawing (streaming thread, lock held): the overlay of the current results, ARGB at
   * the frame size, and what it was rendered from */
  cairo_surface_t *overlay;
  guint64 overlay_gen;
  GstSvilmGroundDraw overlay_draw;
  gdouble overlay_alpha;
  gboolean overlay_follow;
  GstSvilmComposite composite; /* how it goes on frames */
};

G_DEFINE_TYPE (GstSvilmGround, gst_svilm_ground, GST_TYPE_SVILM_FILTER)
GST_ELEMENT_REGISTER_DEFINE (svilmground, "svilmground", GST_RANK_NONE, GST_TYPE_SVILM_GROUND)

GType
gst_svilm_ground_draw_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    { GST_SVILM_GROUND_DRAW_NONE, "Draw nothing", "none" },
    { GST_SVILM_GROUND_DRAW_BOX, "Box and label with the score", "box" },
    { GST_SVILM_GROUND_DRAW_HEATMAP, "Heatmap blended over the frame", "heatmap" },
    { GST_SVILM_GROUND_DRAW_BOTH, "Heatmap, box and label", "both" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstSvilmGroundDraw", values));
  return type;
}

/* phrase colours (RGB), one per phrase in order */
static const double palette[][3] = {
  { 0.10, 0.90, 0.20 }, { 1.00, 0.25, 0.20 }, { 0.20, 0.60, 1.00 }, { 1.00, 0.85, 0.10 },
  { 0.95, 0.25, 0.95 }, { 0.10, 0.90, 0.90 }, { 1.00, 0.55, 0.10 }, { 0.60, 0.45, 1.00 },
};

static void
phrase_free (gpointer data)
{
  Phrase *p = data;
  g_free (p->text);
  g_free (p->embedding);
  svilm_grounding_free (p->result);
  svilm_grounding_free (p->latest);
  g_free (p);
}

/* "dog; red ball;;dog" -> ["dog", "red ball"] */
static GPtrArray *
parse_phrases (const char *s)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (phrase_free);
  char **parts = g_strsplit (s ? s : "", ";", -1);
  for (char **it = parts; *it; it++) {
    char *t = g_strstrip (*it);
    gboolean dup = FALSE;
    for (guint i = 0; i < items->len && !dup; i++)
      dup = g_str_equal (((Phrase *) items->pdata[i])->text, t);
    if (*t && !dup) {
      Phrase *p = g_new0 (Phrase, 1);
      p->text = g_strdup (t);
      g_ptr_array_add (items, p);
    }
  }
  g_strfreev (parts);
  return items;
}

/* A box as fractions of the frame -> pixels inside a width x height frame. */
static void
box_pixels (const SvilmGrounding *g, int width, int height, int *x, int *y, int *w, int *h)
{
  int x0 = CLAMP ((int) lround (g->x * width), 0, width);
  int y0 = CLAMP ((int) lround (g->y * height), 0, height);
  int x1 = CLAMP ((int) lround ((g->x + g->width) * width), x0, width);
  int y1 = CLAMP ((int) lround ((g->y + g->height) * height), y0, height);
  *x = x0, *y = y0, *w = x1 - x0, *h = y1 - y0;
}

/* Encodes the phrases that have no embedding yet; lock held. */
static gboolean
encode_phrases (GstSvilmGround *self, SvilmModel *model, GError **error)
{
  for (guint i = 0; i < self->items->len; i++) {
    Phrase *p = self->items->pdata[i];
    if (p->embedding)
      continue;
    p->embedding = svilm_model_encode_phrase (model, p->text, &p->dim, error);
    if (!p->embedding) {
      g_prefix_error (error, "\"%s\": ", p->text);
      return FALSE;
    }
    GST_DEBUG_OBJECT (self, "encoded phrase \"%s\"", p->text);
  }
  return TRUE;
}

static GstFlowReturn
gst_svilm_ground_window_done (GstSvilmFilter *filter, GstSvilmWindow *w, GstVideoFrame *frame)
{
  GstSvilmGround *self = GST_SVILM_GROUND (filter);
  if (!w->clip)
    return GST_FLOW_OK; /* skipped by inference-interval: the last results stay current */
  SvilmModel *model = gst_svilm_filter_get_model (filter);
  const GstVideoInfo *info = &GST_VIDEO_FILTER (self)->in_info;
  GPtrArray *messages = g_ptr_array_new ();
  GError *error = NULL;

  g_mutex_lock (&self->lock);
  gboolean ok = encode_phrases (self, model, &error);
  for (guint i = 0; ok && i < self->items->len; i++) {
    Phrase *p = self->items->pdata[i];
    SvilmGrounding *g = svilm_clip_ground_embedding (w->clip, p->embedding, p->dim, &error);
    if (!(ok = g != NULL))
      break;
    svilm_grounding_free (p->result);
    svilm_grounding_free (p->latest);
    p->result = g;
    p->latest = svilm_grounding_slice (g, g->grid_time ? g->grid_time - 1 : 0);
    self->results_gen++;

    int x, y, bw, bh;
    box_pixels (g, info->width, info->height, &x, &y, &bw, &bh);
    GstStructure *s = gst_svilm_filter_new_result (filter, "svilm-ground", w->start, w->end);
    GValue heat = G_VALUE_INIT, v = G_VALUE_INIT;
    gst_value_array_init (&heat, g->n_heatmap);
    for (guint k = 0; k < g->n_heatmap; k++) {
      g_value_init (&v, G_TYPE_FLOAT);
      g_value_set_float (&v, g->heatmap[k]);
      gst_value_array_append_and_take_value (&heat, &v);
    }
    gfloat px = 0.5f, py = 0.5f;
    svilm_grounding_point (g, -1, &px, &py);
    gst_structure_set (s, "point-x", G_TYPE_DOUBLE, (double) px * info->width, "point-y",
                       G_TYPE_DOUBLE, (double) py * info->height, NULL);
    gst_structure_set (s, "clip-index", G_TYPE_UINT64, w->index, "partial", G_TYPE_BOOLEAN,
                       w->partial, "phrase", G_TYPE_STRING, p->text, "score", G_TYPE_DOUBLE,
                       (double) g->score, "x", G_TYPE_INT, x, "y", G_TYPE_INT, y, "width",
                       G_TYPE_INT, bw, "height", G_TYPE_INT, bh, "group", G_TYPE_UINT, g->group,
                       "grid-width", G_TYPE_UINT, g->grid_width, "grid-height", G_TYPE_UINT,
                       g->grid_height, NULL);
    gst_structure_take_value (s, "heatmap", &heat);
    GValue slices = G_VALUE_INIT;
    gst_value_array_init (&slices, g->n_slice_heatmaps);
    for (guint k = 0; k < g->n_slice_heatmaps; k++) {
      g_value_init (&v, G_TYPE_FLOAT);
      g_value_set_float (&v, g->slice_heatmaps[k]);
      gst_value_array_append_and_take_value (&slices, &v);
    }
    gst_structure_set (s, "grid-time", G_TYPE_UINT, g->grid_time, NULL);
    gst_structure_take_value (s, "slice-heatmaps", &slices);
    g_ptr_array_add (messages, s);
    GST_LOG_OBJECT (self, "clip %" G_GUINT64_FORMAT " \"%s\": score %.3f box %d,%d %dx%d", w->index,
                    p->text, g->score, x, y, bw, bh);
  }
  g_mutex_unlock (&self->lock);

  /* post outside the lock: a bus sync handler may set phrases */
  gboolean post = gst_svilm_filter_post_messages (filter);
  for (guint i = 0; i < messages->len; i++) {
    GstStructure *s = messages->pdata[i];
    gst_svilm_filter_write_json (filter, s);
    if (post)
      gst_svilm_filter_post (filter, s);
    else
      gst_structure_free (s);
  }
  g_ptr_array_free (messages, TRUE);
  if (!ok) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (_ ("Could not ground the phrases in a clip.")),
                       ("%s", error->message));
    g_clear_error (&error);
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* what the frames show of a phrase: its latest window's result, or with follow that
 * window's last slice (where the phrase is now rather than on average over the window) */
static const SvilmGrounding *
shown (const Phrase *p, gboolean follow)
{
  return follow && p->latest ? p->latest : p->result;
}

static void
add_roi_metas (GstSvilmGround *self, GstBuffer *buf, int width, int height, gboolean follow)
{
  for (guint i = 0; i < self->items->len; i++) {
    Phrase *p = self->items->pdata[i];
    int x, y, w, h;
    if (!p->result)
      continue;
    const SvilmGrounding *g = shown (p, follow);
    box_pixels (g, width, height, &x, &y, &w, &h);
    if (w == 0 || h == 0)
      continue;
    GstVideoRegionOfInterestMeta *m =
        gst_buffer_add_video_region_of_interest_meta (buf, p->text, x, y, w, h);
    m->id = (gint) i;
    gst_video_region_of_interest_meta_add_param (
        m,
        gst_structure_new ("svilm/grounding", "label", G_TYPE_STRING, p->text, "score",
                           G_TYPE_DOUBLE, (double) g->score, "group", G_TYPE_UINT, g->group, NULL));
  }
}

/* the heatmap in the phrase's colour, opacity alpha x heat, scaled over the frame */
static void
draw_heatmap (cairo_t *cr, const SvilmGrounding *g, const double *rgb, double alpha, int width,
              int height)
{
  if (g->grid_width == 0 || g->grid_height == 0)
    return;
  cairo_surface_t *hs =
      cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) g->grid_width, (int) g->grid_height);
  if (cairo_surface_status (hs) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy (hs);
    return;
  }
  guint8 *data = cairo_image_surface_get_data (hs);
  int stride = cairo_image_surface_get_stride (hs);
  for (guint r = 0; r < g->grid_height; r++) {
    guint32 *row = (guint32 *) (data + (gsize) r * stride);
    for (guint c = 0; c < g->grid_width; c++) {
      double a = alpha * CLAMP (g->heatmap[r * g->grid_width + c], 0.0f, 1.0f);
      /* premultiplied native-endian ARGB */
      row[c] = (guint32) lround (a * 255) << 24 | (guint32) lround (rgb[0] * a * 255) << 16 |
               (guint32) lround (rgb[1] * a * 255) << 8 | (guint32) lround (rgb[2] * a * 255);
    }
  }
  cairo_surface_mark_dirty (hs);
  cairo_save (cr);
  cairo_scale (cr, (double) width / g->grid_width, (double) height / g->grid_height);
  cairo_set_source_surface (cr, hs, 0, 0);
  cairo_pattern_t *pat = cairo_get_source (cr);
  cairo_pattern_set_filter (pat, CAIRO_FILTER_BILINEAR);
  cairo_pattern_set_extend (pat, CAIRO_EXTEND_PAD);
  cairo_rectangle (cr, 0, 0, g->grid_width, g->grid_height);
  cairo_fill (cr);
  cairo_restore (cr);
  cairo_surface_destroy (hs);
}

typedef struct {
  double x, y, w, h;
} Rect;

static void
draw_box (cairo_t *cr, const char *text, const SvilmGrounding *g, const double *rgb, int width,
          int height, Rect *labels, guint *n_labels)
{
  int x, y, w, h;
  box_pixels (g, width, height, &x, &y, &w, &h);
  if (w == 0 || h == 0)
    return;
  double lw = MAX (2.0, MIN (width, height) / 120.0);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_set_line_width (cr, lw);
  cairo_rectangle (cr, x + lw / 2, y + lw / 2, MAX (w - lw, 1), MAX (h - lw, 1));
  cairo_stroke (cr);

  char *label = g_strdup_printf ("%s %.2f", text, g->score);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, CLAMP (height / 22.0, 9.0, 36.0));
  cairo_font_extents_t fe;
  cairo_text_extents_t te;
  cairo_font_extents (cr, &fe);
  cairo_text_extents (cr, label, &te);
  double pad = fe.height / 6, lh = fe.ascent + fe.descent + 2 * pad, lwid = te.x_advance + 2 * pad;
  /* above the box when there is room, else inside its top edge */
  double lx = MIN (x, MAX (width - lwid, 0)), ly = y - lh >= 0 ? y - lh : y;
  /* below the labels already drawn there (boxes of several phrases often coincide) */
  for (gboolean moved = TRUE; moved;) {
    moved = FALSE;
    for (guint i = 0; i < *n_labels; i++) {
      const Rect *r = &labels[i];
      if (lx < r->x + r->w && r->x < lx + lwid && ly < r->y + r->h && r->y < ly + lh) {
        ly = r->y + r->h;
        moved = TRUE;
      }
    }
  }
  labels[(*n_labels)++] = (Rect){ lx, ly, lwid, lh };
  cairo_rectangle (cr, lx, ly, lwid, lh);
  cairo_fill (cr);
  double luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
  double ink = luma > 0.5 ? 0.0 : 1.0;
  cairo_set_source_rgb (cr, ink, ink, ink);
  cairo_move_to (cr, lx + pad, ly + pad + fe.ascent);
  cairo_show_text (cr, label);
  g_free (label);
}

/* Lock held.  Renders the current results into the overlay unless it already shows
 * them.  They change once a window (8 frames with the bundled model) while the overlay
 * goes on every frame: rendering it once and compositing it per frame leaves out of the
 * per-frame cost the heatmaps' bilinear scaling to the frame size, the labels' text and
 * clearing a surface (docs/benchmarks.md).  OVER is associative, so the pixels are those
 * of drawing each heatmap and box on the frame in turn, within rounding. */
static gboolean
update_overlay (GstSvilmGround *self, int width, int height, GstSvilmGroundDraw draw, double alpha,
                gboolean follow)
{
  gboolean same_size = self->overlay && cairo_image_surface_get_width (self->overlay) == width &&
                       cairo_image_surface_get_height (self->overlay) == height;
  if (same_size && self->overlay_gen == self->results_gen && self->overlay_draw == draw &&
      self->overlay_alpha == alpha && self->overlay_follow == follow)
    return TRUE;
  if (!same_size) {
    g_clear_pointer (&self->overlay, cairo_surface_destroy);
    self->overlay = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
    if (cairo_surface_status (self->overlay) != CAIRO_STATUS_SUCCESS) {
      GST_WARNING_OBJECT (self, "no %dx%d overlay surface: not drawing", width, height);
      g_clear_pointer (&self->overlay, cairo_surface_destroy);
      return FALSE;
    }
  }

  cairo_t *cr = cairo_create (self->overlay);
  cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
  cairo_paint (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_OVER);
  if (draw == GST_SVILM_GROUND_DRAW_HEATMAP || draw == GST_SVILM_GROUND_DRAW_BOTH)
    for (guint i = 0; i < self->items->len; i++) {
      Phrase *p = self->items->pdata[i];
      if (p->result)
        draw_heatmap (cr, shown (p, follow), palette[i % G_N_ELEMENTS (palette)], alpha, width,
                      height);
    }
  if (draw == GST_SVILM_GROUND_DRAW_BOX || draw == GST_SVILM_GROUND_DRAW_BOTH) {
    Rect *labels = g_new (Rect, self->items->len);
    guint n_labels = 0;
    for (guint i = 0; i < self->items->len; i++) {
      Phrase *p = self->items->pdata[i];
      if (p->result)
        draw_box (cr, p->text, shown (p, follow), palette[i % G_N_ELEMENTS (palette)], width,
                  height, labels, &n_labels);
    }
    g_free (labels);
  }
  cairo_destroy (cr);
  cairo_surface_flush (self->overlay);
  self->overlay_gen = self->results_gen;
  gst_svilm_composite_invalidate (&self->composite);
  self->overlay_draw = draw;
  self->overlay_alpha = alpha;
  self->overlay_follow = follow;
  return TRUE;
}

/* lock held */
static void
draw_overlay (GstSvilmGround *self, GstVideoFrame *frame, GstSvilmGroundDraw draw, double alpha,
              gboolean follow)
{
  int width = GST_VIDEO_FRAME_WIDTH (frame), height = GST_VIDEO_FRAME_HEIGHT (frame);
  if (!update_overlay (self, width, height, draw, alpha, follow))
    return;

  if (!gst_svilm_composite_frame (&self->composite, self->overlay, frame))
    GST_WARNING_OBJECT (self, "no memory to lay a %dx%d overlay out: not drawing", width, height);
}

static GstFlowReturn
gst_svilm_ground_frame_done (GstSvilmFilter *filter, GstVideoFrame *frame)
{
  GstSvilmGround *self = GST_SVILM_GROUND (filter);
  GST_OBJECT_LOCK (self);
  GstSvilmGroundDraw draw = self->draw;
  double alpha = self->heatmap_alpha;
  gboolean follow = self->follow;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  gboolean current = FALSE;
  for (guint i = 0; i < self->items->len && !current; i++)
    current = ((Phrase *) self->items->pdata[i])->result != NULL;
  /* not writable: passthrough was entered while this buffer was on its way */
  if (current && gst_buffer_is_writable (frame->buffer)) {
    add_roi_metas (self, frame->buffer, GST_VIDEO_FRAME_WIDTH (frame),
                   GST_VIDEO_FRAME_HEIGHT (frame), follow);
    /* draw was switched on after this frame was mapped read-only: the next one */
    if (draw != GST_SVILM_GROUND_DRAW_NONE && (frame->map[0].flags & GST_MAP_WRITE))
      draw_overlay (self, frame, draw, alpha, follow);
  }
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static void
clear_results (GstSvilmGround *self, gboolean embeddings)
{
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->items->len; i++) {
    Phrase *p = self->items->pdata[i];
    g_clear_pointer (&p->result, svilm_grounding_free);
    g_clear_pointer (&p->latest, svilm_grounding_free);
    if (embeddings)
      g_clear_pointer (&p->embedding, g_free);
  }
  self->results_gen++;
  g_mutex_unlock (&self->lock);
}

static gboolean
gst_svilm_ground_model_changed (GstSvilmFilter *filter, SvilmModel *model)
{
  GstSvilmGround *self = GST_SVILM_GROUND (filter);
  clear_results (self, TRUE);
  if (!model) {
    g_mutex_lock (&self->lock);
    g_clear_pointer (&self->overlay, cairo_surface_destroy);
    gst_svilm_composite_clear (&self->composite);
    g_mutex_unlock (&self->lock);
    return TRUE;
  }
  if (!svilm_model_has_tokenizer (model)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
                       (_ ("The svilm model \"%s\" has no tokenizer, so it cannot ground phrases."),
                        svilm_model_get_path (model)),
                       (NULL));
    return FALSE;
  }
  /* encode now so that a failure shows at start rather than on the first clip */
  GError *error = NULL;
  g_mutex_lock (&self->lock);
  gboolean ok = encode_phrases (self, model, &error);
  g_mutex_unlock (&self->lock);
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, (_ ("Could not encode the phrases to ground.")),
                       ("%s", error->message));
    g_clear_error (&error);
  }
  return ok;
}

static gboolean
gst_svilm_ground_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    clear_results (GST_SVILM_GROUND (trans), FALSE);
  return GST_BASE_TRANSFORM_CLASS (gst_svilm_ground_parent_class)->sink_event (trans, event);
}

/* Nothing to ground: passthrough (no windows gathered, frames untouched).  Leaving
 * passthrough happens on the streaming thread, before a buffer: GstBaseTransform
 * reads the flag twice per buffer, and a change between the two would hand the
 * in-place path a buffer that is not writable. */
static void
update_passthrough (GstSvilmGround *self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  g_mutex_lock (&self->lock);
  gboolean empty = self->items->len == 0;
  g_mutex_unlock (&self->lock);
  if (gst_base_transform_is_passthrough (trans) != empty) {
    GST_INFO_OBJECT (self, "%s passthrough", empty ? "entering" : "leaving");
    gst_base_transform_set_passthrough (trans, empty);
    gst_base_transform_reconfigure_src (trans);
  }
}

static void
gst_svilm_ground_before_transform (GstBaseTransform *trans, GstBuffer *buf)
{
  update_passthrough (GST_SVILM_GROUND (trans));
}

static void
set_phrases (GstSvilmGround *self, const char *phrases)
{
  GPtrArray *items = parse_phrases (phrases);
  GST_DEBUG_OBJECT (self, "%u phrases", items->len);
  g_mutex_lock (&self->lock);
  /* embeddings are made by the streaming thread at the next window (or at start) */
  GPtrArray *old = self->items;
  self->items = items;
  self->results_gen++;
  gboolean empty = items->len == 0;
  g_mutex_unlock (&self->lock);
  g_ptr_array_unref (old);
  /* entering passthrough is safe at any time; leaving it too while nothing streams */
  GST_OBJECT_LOCK (self);
  gboolean idle =
      GST_STATE (self) <= GST_STATE_READY && GST_STATE_PENDING (self) <= GST_STATE_READY;
  GST_OBJECT_UNLOCK (self);
  if (empty || idle)
    update_passthrough (self);
}

static void
gst_svilm_ground_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  GstSvilmGround *self = GST_SVILM_GROUND (object);
  switch (prop_id) {
  case PROP_PHRASES:
    GST_OBJECT_LOCK (self);
    g_free (self->phrases);
    self->phrases = g_value_dup_string (value);
    GST_OBJECT_UNLOCK (self);
    set_phrases (self, g_value_get_string (value));
    break;
  case PROP_DRAW:
    GST_OBJECT_LOCK (self);
    self->draw = g_value_get_enum (value);
    GST_OBJECT_UNLOCK (self);
    gst_svilm_filter_set_draws (GST_SVILM_FILTER (self),
                                g_value_get_enum (value) != GST_SVILM_GROUND_DRAW_NONE);
    break;
  case PROP_HEATMAP_ALPHA:
    GST_OBJECT_LOCK (self);
    self->heatmap_alpha = g_value_get_double (value);
    GST_OBJECT_UNLOCK (self);
    break;
  case PROP_FOLLOW:
    GST_OBJECT_LOCK (self);
    self->follow = g_value_get_boolean (value);
    GST_OBJECT_UNLOCK (self);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
}

static void
gst_svilm_ground_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSvilmGround *self = GST_SVILM_GROUND (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_PHRASES:
    g_value_set_string (value, self->phrases);
    break;
  case PROP_DRAW:
    g_value_set_enum (value, self->draw);
    break;
  case PROP_HEATMAP_ALPHA:
    g_value_set_double (value, self->heatmap_alpha);
    break;
  case PROP_FOLLOW:
    g_value_set_boolean (value, self->follow);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_svilm_ground_finalize (GObject *object)
{
  GstSvilmGround *self = GST_SVILM_GROUND (object);
  g_free (self->phrases);
  g_ptr_array_unref (self->items);
  g_clear_pointer (&self->overlay, cairo_surface_destroy);
  gst_svilm_composite_clear (&self->composite);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (gst_svilm_ground_parent_class)->finalize (object);
}

static void
gst_svilm_ground_class_init (GstSvilmGroundClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstSvilmFilterClass *filter_class = GST_SVILM_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_svilm_ground_debug, "svilmground", 0, "svilm phrase grounding");

  gobject_class->set_property = gst_svilm_ground_set_property;
  gobject_class->get_property = gst_svilm_ground_get_property;
  gobject_class->finalize = gst_svilm_ground_finalize;

  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;
  g_object_class_install_property (
      gobject_class, PROP_PHRASES,
      g_param_spec_string ("phrases", "Phrases",
                           "Text phrases to ground, separated by ';' (e.g. \"dog;red ball\"); "
                           "none: passthrough",
                           NULL, rw));
  g_object_class_install_property (
      gobject_class, PROP_DRAW,
      g_param_spec_enum ("draw", "Draw", "What to draw on the frames with the latest results",
                         GST_TYPE_SVILM_GROUND_DRAW, DEFAULT_DRAW, rw));
  g_object_class_install_property (
      gobject_class, PROP_HEATMAP_ALPHA,
      g_param_spec_double ("heatmap-alpha", "Heatmap alpha",
                           "Opacity of the heatmap where the heat is highest", 0.0, 1.0,
                           DEFAULT_HEATMAP_ALPHA, rw));
  g_object_class_install_property (
      gobject_class, PROP_FOLLOW,
      g_param_spec_boolean ("follow", "Follow",
                            "Draw each phrase, and box it in the region-of-interest meta, where "
                            "the last token slice of the latest window shows it (following a "
                            "moving object); off: its heatmap averaged over the window",
                            DEFAULT_FOLLOW, rw));

  gst_element_class_set_static_metadata (
      element_class, "svilm phrase grounding", "Filter/Analyzer/Video",
      "Finds where text phrases are in each clip window of a video with S-ViLM: a heatmap, a box "
      "and a score per phrase; draws them over the frames, attaches "
      "GstVideoRegionOfInterestMeta and posts svilm-ground messages",
      "svilm developers");

  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_svilm_ground_sink_event);
  trans_class->before_transform = GST_DEBUG_FUNCPTR (gst_svilm_ground_before_transform);
  filter_class->window_done = GST_DEBUG_FUNCPTR (gst_svilm_ground_window_done);
  filter_class->frame_done = GST_DEBUG_FUNCPTR (gst_svilm_ground_frame_done);
  filter_class->model_changed = GST_DEBUG_FUNCPTR (gst_svilm_ground_model_changed);
  gst_type_mark_as_plugin_api (GST_TYPE_SVILM_GROUND_DRAW, 0);
}

static void
gst_svilm_ground_init (GstSvilmGround *self)
{
  g_mutex_init (&self->lock);
  self->items = g_ptr_array_new_with_free_func (phrase_free);
  self->draw = DEFAULT_DRAW;
  self->heatmap_alpha = DEFAULT_HEATMAP_ALPHA;
  self->follow = DEFAULT_FOLLOW;
  gst_svilm_filter_set_draws (GST_SVILM_FILTER (self), TRUE);
  /* no phrases yet: nothing to do */
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
