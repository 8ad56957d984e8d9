#!/bin/sh
# Runs a PyTorch reference script, then the C test program on what it wrote.
# Usage: run-torch-ref.sh REF_SCRIPT TEST_PROGRAM [TEST_ARGS...]
# Exits 77 (meson: skipped) with a message when python3-torch is absent.
set -eu
script=$1; shift
prog=$1; shift
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "SKIP: python3-torch is not installed (apt-get install python3-torch); PyTorch comparison not run"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PYTHONPATH="$(dirname "$script")${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$script" "$tmp/ref.safetensors"
"$prog" "$tmp/ref.safetensors" "$@"
