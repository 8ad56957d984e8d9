#!/bin/sh
# Splits a video into one file per scene: svilmscenecut sends a force-key-unit
# event at each cut, the encoder makes a keyframe there (and nowhere else), and
#   - by default, multifilesink starts a new MPEG-TS file at each such event;
#   - with FORMAT=mp4, splitmuxsink starts a new MP4 file at every keyframe
#     (max-size-time=1).  GStreamer 1.22's splitmuxsink sometimes finishes every
#     file but the pipeline never posts EOS, so gst-launch does not exit (seen
#     in 4 of 20 runs without svilm at all; docs/elements/svilmscenecut.md):
#     the files are complete, stop it with Ctrl-C.
#   one-file-per-scene.sh INPUT [OUT_PREFIX]
set -eu
in=$1
out=${2:-scene}
if [ "${FORMAT:-ts}" = mp4 ]; then
  exec gst-launch-1.0 -m filesrc location="$in" ! decodebin ! videoconvert \
    ! svilmscenecut ! videoconvert \
    ! x264enc key-int-max=100000 option-string=scenecut=0 ! h264parse \
    ! splitmuxsink location="$out-%02d.mp4" max-size-time=1
fi
exec gst-launch-1.0 -m filesrc location="$in" ! decodebin ! videoconvert \
  ! svilmscenecut ! videoconvert \
  ! x264enc key-int-max=100000 option-string=scenecut=0 ! h264parse \
  ! mpegtsmux ! multifilesink next-file=key-unit-event location="$out-%02d.ts"
