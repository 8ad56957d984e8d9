#!/bin/sh
# Alerts on a stream when a clip matches a text query (svilm-match messages,
# printed by gst-launch -m), and an index of every clip for later search:
#   retrieval-alerts.sh INPUT "a dog runs;a red car" [INDEX]
#   svilm-search --index INDEX "a dog"
set -eu
in=$1
query=$2
index=${3:-clips.sqlite}
gst-launch-1.0 -m filesrc location="$in" ! decodebin ! videoconvert \
  ! svilmretrieve query="$query" threshold=0.3 index="$index" ! fakesink \
  | grep --line-buffered svilm-match
