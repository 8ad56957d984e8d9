#!/bin/sh
# Splits a video into one file per scene: svilmscenecut sends a force-key-unit
# event at each cut, the encoder makes a keyframe there (and nowhere else), and
# multifilesink starts a new MPEG-TS file at each such event.
#   one-file-per-scene.sh INPUT [OUT_PREFIX]
# (splitmuxsink can split there too, with max-size-time=1, but GStreamer 1.22's
# splitmuxsink sometimes never posts EOS and gst-launch then never exits; see
# docs/elements/svilmscenecut.md.)
set -eu
in=$1
out=${2:-scene}
gst-launch-1.0 -m filesrc location="$in" ! decodebin ! videoconvert \
  ! svilmscenecut ! videoconvert \
  ! x264enc key-int-max=100000 option-string=scenecut=0 ! h264parse \
  ! mpegtsmux ! multifilesink next-file=key-unit-event location="$out-%02d.ts"
