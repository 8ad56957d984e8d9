#!/bin/sh
# Splits a video into one file per scene: svilmscenecut sends a force-key-unit
# event at each cut, the encoder makes a keyframe there (and nowhere else), and
# splitmuxsink starts a new file at every keyframe.
#   one-file-per-scene.sh INPUT [OUT_PREFIX]
set -eu
in=$1
out=${2:-scene}
gst-launch-1.0 -m filesrc location="$in" ! decodebin ! videoconvert \
  ! svilmscenecut ! videoconvert \
  ! x264enc key-int-max=100000 option-string=scenecut=0 ! h264parse \
  ! splitmuxsink location="$out-%02d.mp4" max-size-time=1
