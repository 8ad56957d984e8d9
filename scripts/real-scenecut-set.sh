#!/usr/bin/env bash
# The real-footage scene-cut set (issue 7): small videos shipped in Debian packages
# (python3-mecavideo: physics demos; python-kivy-examples: cityCC0.mpg, CC0;
# python3-imageio: cockatoo.mp4, realshort.mp4), fetched with apt-get download and
# unpacked with dpkg-deb (nothing installed), cut into shots and joined with cuts,
# dissolves and fades, with flash and fast-pan traps inside shots
# (scripts/real-scenecut-set.py).  Then:
#   svilm-train eval --model M --data OUT/manifest.jsonl --split test --task scenecut
#   scripts/real-scenecut-set.sh OUT [VIDEOS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: real-scenecut-set.sh OUT [VIDEOS] [SEED]}
videos=${2:-24}
seed=${3:-1}
cache=${SVILM_DEB_CACHE:-$out/debs}
mkdir -p "$cache/x"
(cd "$cache" && for p in python3-mecavideo python-kivy-examples python3-imageio; do
  ls "$p"_*.deb >/dev/null 2>&1 || apt-get download "$p"
done)
for d in "$cache"/*.deb; do dpkg-deb -x "$d" "$cache/x"; done
mapfile -t sources < <(find "$cache/x" -type f \( -name '*.mp4' -o -name '*.mpg' -o -name '*.avi' \
  -o -name '*.ogv' \) | sort)
/usr/bin/python3 scripts/real-scenecut-set.py --out "$out" --videos "$videos" --seed "$seed" \
  "${sources[@]}"
