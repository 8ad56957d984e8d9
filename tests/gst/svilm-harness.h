/* Helpers shared by the GstHarness element tests (gst/test-*.c): the test model, the
 * harnesses, caps, generated frames, a bus on the element and its element messages.
 * The same code was once repeated in each test; what one test alone needs stays there.
 */
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* Runs PROGRAM (make-test-model) to write DIR/NAME, with FLAG (e.g. "--small") when not
 * NULL, so that each test makes its own untrained model.  Returns the path (g_free), or
 * NULL after printing why. */
char *svh_make_test_model (const char *program, const char *dir, const char *name,
                           const char *flag);

/* A harness around "ELEMENT model=MODEL device=cpu EXTRA" as gst-launch reads it, so that
 * ELEMENT may carry more properties (a name) and EXTRA any of the element's. */
GstHarness *svh_harness_new_parse (const char *element, const char *model, const char *extra);

/* A new FACTORY element (owned, not floating) with model=MODEL device=cpu and then PROPS,
 * "name=value name=value" (values without spaces) set as from gst-launch, for tests that
 * need the element before its harness or without one.  Fails the test if FACTORY is
 * missing. */
GstElement *svh_element_new (const char *factory, const char *model, const char *props);

/* A harness around ELEMENT's "sink" and "src" pads; takes the caller's reference. */
GstHarness *svh_harness_take (GstElement *element);

/* Sets the harness's source caps: raw video in FORMAT at WIDTH x HEIGHT, 30 fps, as the
 * frames of svh_frame() are stamped. */
void svh_set_caps (GstHarness *h, const char *format, int width, int height);

/* Frame I of a test stream: FORMAT at WIDTH x HEIGHT (sized as GstVideoInfo lays it out)
 * filled with a deterministic pattern that changes with I, stamped as frame I at 30 fps.
 * Deterministic so that a test can rebuild a frame to compare the pixels that came out. */
GstBuffer *svh_frame (const char *format, int width, int height, guint i);

/* svh_frame() whose pattern also jumps every SCENE frames when SCENE > 0 (distinct
 * scenes for the models), or all black when BLACK (to see what an element drew). */
GstBuffer *svh_frame_full (const char *format, int width, int height, guint i, guint scene,
                           gboolean black);

/* A new bus set on the harness's element, to read the messages it posts (a harness has
 * none).  Give it back with svh_unwatch() or svh_drop_bus(). */
GstBus *svh_watch (GstHarness *h);

/* Detaches BUS from the harness's element and drops it (svh_drop_bus()), before the
 * harness goes. */
void svh_unwatch (GstHarness *h, GstBus *bus);

/* Drops BUS after flushing it.  Queued messages hold refs on the elements that posted
 * them, which hold the bus: unreffing a bus with messages queued leaks that cycle (and
 * the element), so the bus is set flushing first, which drops its messages. */
void svh_drop_bus (GstBus *bus);

/* Pops every element message on BUS; returns copies of the structures of those named NAME,
 * in order (g_ptr_array_unref frees them).  The others are dropped. */
GPtrArray *svh_pop_messages (GstBus *bus, const char *name);

/* The box, in pixels of a WIDTH x HEIGHT frame, that the last token slice of an
 * svilm-ground message's slice-heatmaps gives: around its cells at or above half its
 * maximum (what svilmground's follow draws); 0 x 0 when no cell is hot.  FALSE when S has
 * no well-formed slice heatmaps. */
gboolean svh_last_slice_box (const GstStructure *s, int width, int height, int *x, int *y, int *w,
                             int *h);

/* Pops every element message on BUS; returns how many were named NAME. */
guint svh_count_messages (GstBus *bus, const char *name);

G_END_DECLS
