#!/usr/bin/env bash
# The main job: builds svilm (build/), then runs the bundled sample video through
# svilmscenecut, svilmground and svilmencode with the bundled default model:
#   out/annotated.mp4      the video with grounding overlays and cut markers
#   out/scene-NN.ts        one file per scene (split at the cuts' key frames)
#   out/results.jsonl      cuts, groundings and clip embeddings as JSON lines
# and prints where they are.  svilmscenecut uses models/scenecut.safetensors, the others
# models/default.safetensors (models/README.md); SVILM_MODEL=path overrides both.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d build ]; then
  meson setup build >/dev/null
fi
ninja -C build >/dev/null

model=${SVILM_MODEL:-$PWD/models/default.safetensors}
cut_model=${SVILM_MODEL:-$PWD/models/scenecut.safetensors}
for m in "$model" "$cut_model"; do
  if [ ! -f "$m" ]; then
    echo "demo: no model at $m (train one: see models/README.md)" >&2
    exit 1
  fi
done
video=examples/data/sample.mp4
phrases=${PHRASES:-"ball;square"}
# svilmscenecut's default threshold (-1: the model's, 0.25 on its scene head's
# probabilities; models/default-eval.md); it finds exactly the two cuts of the sample
threshold=${THRESHOLD:--1}
mkdir -p out
rm -f out/scene-*.mp4 out/scene-*.ts out/results-*.jsonl
export GST_PLUGIN_PATH="$PWD/build/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

echo "== svilm on $video with $(basename "$model") (cuts: $(basename "$cut_model")) =="
# One pipeline: scene cuts, phrase grounding drawn on the frames and clip embeddings
# (each as JSON lines), encoded once, then
#   - out/annotated.mp4: the whole annotated video;
#   - out/scene-NN.ts: one file per scene.  svilmscenecut sends a force-key-unit event
#     at each cut; x264enc makes a keyframe there (and nowhere else), mpegtsmux passes
#     the event on and multifilesink starts a new file at it.  MPEG-TS rather than
#     splitmuxsink: GStreamer 1.22's splitmuxsink sometimes never posts EOS, so that
#     gst-launch does not exit (docs/elements/svilmscenecut.md).
gst-launch-1.0 -q filesrc location="$video" ! decodebin ! videoconvert \
  ! svilmscenecut model="$cut_model" threshold="$threshold" draw=true location=out/results-cuts.jsonl \
  ! svilmground model="$model" phrases="$phrases" location=out/results-ground.jsonl \
  ! svilmencode model="$model" location=out/results-embed.jsonl \
  ! videoconvert ! x264enc speed-preset=veryfast key-int-max=100000 option-string=scenecut=0 \
  ! tee name=t \
  t. ! queue ! h264parse ! mp4mux ! filesink location=out/annotated.mp4 \
  t. ! queue ! h264parse ! mpegtsmux ! multifilesink next-file=key-unit-event location=out/scene-%02d.ts

cat out/results-cuts.jsonl out/results-ground.jsonl out/results-embed.jsonl > out/results.jsonl
rm -f out/results-*.jsonl

cuts=$(grep -c '"svilm-scenecut"' out/results.jsonl || true)
clips=$(grep -c '"svilm-embedding"' out/results.jsonl || true)
echo "scene cuts: $cuts"
grep '"svilm-scenecut"' out/results.jsonl | sed -E 's/.*"stream-time":([0-9]+).*"score":([0-9.e-]+).*/  cut at \1 ns (score \2)/' || true
echo "clips embedded: $clips"
echo
echo "Output:"
echo "  $PWD/out/annotated.mp4"
ls "$PWD"/out/scene-*.ts | sed 's/^/  /'
echo "  $PWD/out/results.jsonl"
