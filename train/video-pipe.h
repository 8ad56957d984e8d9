/* svilm-train: the decoding pipeline that training clips and evaluation videos share.
 *
 *   uridecodebin ! videoconvert [! videoscale] ! video/x-raw,format=RGB[,pixel-aspect-ratio=1/1]
 *     ! appsink
 *
 * uridecodebin's first video stream is linked; audio, subtitles and further video streams
 * are drained into fakesinks.  The caller runs the pipeline and pulls samples from `sink`;
 * `no_more_pads` set with `video_linked` unset means the file has no video.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  GstElement *pipe, *convert, *sink;
  gint video_linked, no_more_pads; /* atomics: set from the streaming thread */
} SvVideoPipe;

/* square_pixels: scale non-square pixels to square ones (videoscale), as the model sees
 * them; max_buffers: the appsink queue.  FALSE (SV_ERROR_UNSUPPORTED) when an element is
 * missing; p is then cleared. */
gboolean sv_video_pipe_build (SvVideoPipe *p, const char *uri, gboolean square_pixels,
                              guint max_buffers, GError **error);
/* to NULL and unreffed; safe on a cleared pipe */
void sv_video_pipe_clear (SvVideoPipe *p);

G_END_DECLS
