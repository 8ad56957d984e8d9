#!/bin/sh
# A live grounding overlay: the phrases' heatmaps and boxes drawn on a live
# source (a V4L2 camera if there is one, else a live test pattern).
#   live-grounding.sh ["dog;red ball"]
set -eu
phrases=${1:-"ball"}
if [ -e /dev/video0 ]; then src="v4l2src"; else src="videotestsrc is-live=true pattern=ball"; fi
gst-launch-1.0 $src ! videoconvert ! video/x-raw,format=BGRx \
  ! svilmground phrases="$phrases" inference-interval=2 ! videoconvert ! autovideosink
