#!/usr/bin/env bash
# Soak test (issue 10): a live pipeline with all four svilm elements for DURATION seconds
# (default 600), its resident memory sampled every 10 s.  Prints the samples and the
# growth from the first minute's mean to the last minute's; exits 1 if the pipeline
# fails or the growth exceeds 10 %.
#   scripts/soak.sh [DURATION]        (SVILM_MODEL=path, SIZE=320x240, FPS=15)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
model=${SVILM_MODEL:-$PWD/models/default.safetensors}
size=${SIZE:-320x240}
fps=${FPS:-15}
w=${size%x*}
h=${size#*x}
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
export GST_PLUGIN_PATH="$PWD/build/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gst-launch-1.0 -e videotestsrc is-live=true pattern=ball \
  ! "video/x-raw,width=$w,height=$h,framerate=$fps/1" ! videoconvert \
  ! svilmscenecut model="$model" \
  ! svilmground model="$model" phrases="ball;square" \
  ! svilmencode model="$model" \
  ! svilmretrieve model="$model" query="a ball" index="$tmp/index.db" \
  ! fakesink sync=true >"$tmp/log" 2>&1 &
pid=$!
samples=()
for ((t = 0; t < duration; t += 10)); do
  sleep 10
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "soak: the pipeline stopped after ${t} s:" >&2
    tail -20 "$tmp/log" >&2
    exit 1
  fi
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  samples+=("$rss")
  printf 'soak: %4d s  RSS %6d kB\n' $((t + 10)) "$rss"
done
kill -INT "$pid"
wait "$pid" || true
printf '%s\n' "${samples[@]}" | awk -v n="${#samples[@]}" '
  { v[NR] = $1 }
  END {
    k = n < 12 ? int(n / 2) : 6; if (k < 1) k = 1
    for (i = 1; i <= k; i++) { a += v[i]; b += v[n - k + i] }
    a /= k; b /= k
    growth = (b - a) / a * 100
    printf "soak: %d samples; first %d mean %.0f kB, last %d mean %.0f kB: %+.1f %%\n", n, k, a, k, b, growth
    exit growth > 10 ? 1 : 0
  }'
echo "soak: clips indexed: $(sqlite3 "$tmp/index.db" 'select count(*) from clips' 2>/dev/null || echo '?')"
