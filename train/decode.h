/* svilm-train: decoding one training clip with GStreamer.
 *
 *   uridecodebin ! videoconvert ! videoscale ! video/x-raw,format=RGB,pixel-aspect-ratio=1/1
 *     ! appsink
 *
 * The clip range [start, end) (the whole video by default) is cut into T equal segments and
 * one frame is taken from each: its centre, or with `augment` a uniformly random time inside
 * it (temporal jitter).  The frame shown at that time is kept (the last one whose timestamp
 * is not after it), so a video with fewer than T frames repeats frames.  When the duration
 * is unknown every frame is collected (decimated by 2 whenever more than 8 T are held) and
 * the segments are taken over the frame count.  Only the chosen frames are copied; decoding
 * stops once the last one is reached.
 *
 * With `augment` a random resized crop (torchvision's RandomResizedCrop: area fraction in
 * [crop_min, crop_max], aspect ratio in [3/4, 4/3] times the model's) is cut from every
 * frame of the clip, and the clip is mirrored left-right with probability flip_prob.  The
 * crops are resized with area averaging and normalised (sv_frame_resize_normalize), one
 * thread per clip (the callers decode several clips in parallel).
 */
#pragma once

#include "sv-rng.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int T, H, W;
  gboolean augment;
  float crop_min, crop_max; /* area fraction of the random resized crop (0.6, 1) */
  float flip_prob;          /* 0.5 */
  double timeout_s;         /* give up on a video that stalls this long (30) */
} SvClipSpec;

/* Decodes uri into out [T, H, W, 3] (normalised).  end <= 0: to the end of the video.
 * *flipped: whether the clip was mirrored.  The random draws come from rng in a fixed
 * order, so a clip is a function of (video, rng state).  FALSE with an error message
 * fit for a warning ("cannot decode URI: reason") when the video cannot be read. */
gboolean sv_decode_clip (const char *uri, double start, double end, const SvClipSpec *spec,
                         SvRng *rng, float *out, gboolean *flipped, GError **error);

/* mirrors a clip [T, H, W, 3] left-right in place */
void sv_clip_mirror (float *clip, int T, int H, int W);

G_END_DECLS
