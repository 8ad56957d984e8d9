#!/bin/sh
# Runs examples/python/encode_and_ground.py on a fresh untrained model.
# Usage: run-python-example.sh MAKE_TEST_MODEL EXAMPLE.py VIDEO
set -eu
if ! /usr/bin/python3 -c 'import gi; gi.require_version("Gst", "1.0")' >/dev/null 2>&1; then
  echo "SKIP: python3-gi with GStreamer typelibs is not installed"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$1" "$tmp/model.safetensors" --small
/usr/bin/python3 "$2" "$tmp/model.safetensors" "$3" "red ball"
