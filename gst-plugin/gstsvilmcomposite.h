/* svilm: an ARGB overlay composited OVER packed RGB video frames.
 *
 * svilmground renders its overlay (heatmaps, boxes, labels) once a window into a cairo
 * ARGB32 surface the size of the frame and composites it on every frame.  Frames cairo can
 * draw on (BGRx/BGRA in memory order on little-endian machines) get a cairo paint; the
 * other packed RGB formats get the overlay laid out once in their byte order and a
 * byte loop (the layout is kept until the overlay or the format changes). */
#pragma once

#include <cairo.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

typedef struct {
  /* the overlay laid out for a format cairo cannot draw on */
  guint8 *packed_add; /* frame-size values to add, then as many factors */
  gsize packed_row;
  gboolean packed_current; /* laid out from the overlay as it is now */
  GstVideoFormat packed_format;
} GstSvilmComposite;

/* the overlay's pixels changed: lay it out again before the next byte-loop composite */
void gst_svilm_composite_invalidate (GstSvilmComposite *c);

/* composites overlay (ARGB32, the frame's size) over the frame's first plane; FALSE when
 * it could not (no memory for the layout) */
gboolean gst_svilm_composite_frame (GstSvilmComposite *c, cairo_surface_t *overlay,
                                    GstVideoFrame *frame);

/* frees the layout (the struct itself is the caller's) */
void gst_svilm_composite_clear (GstSvilmComposite *c);

G_END_DECLS
