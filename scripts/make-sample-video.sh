#!/usr/bin/env bash
# Regenerates examples/data/sample.mp4: 9 s, 320x240, 30 fps, H.264, three shots
# joined by hard cuts at 3 s and 6 s (frames 90 and 180), from GStreamer's
# videotestsrc.  Committed so the demo needs no generation step; the synthetic
# corpus of svilm-train (issue 7) will replace it with rendered scenes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for pattern in ball pinwheel gamut; do
  gst-launch-1.0 -q videotestsrc pattern=$pattern num-buffers=90 \
    ! video/x-raw,width=320,height=240,framerate=30/1,format=I420 \
    ! filesink location="$tmp/shot$i.yuv"
  i=$((i + 1))
done
cat "$tmp"/shot0.yuv "$tmp"/shot1.yuv "$tmp"/shot2.yuv > "$tmp/all.yuv"
gst-launch-1.0 -q filesrc location="$tmp/all.yuv" blocksize=115200 \
  ! rawvideoparse width=320 height=240 format=i420 framerate=30/1 \
  ! x264enc speed-preset=slow bitrate=300 key-int-max=300 \
  ! h264parse ! mp4mux ! filesink location=examples/data/sample.mp4
ls -l examples/data/sample.mp4
