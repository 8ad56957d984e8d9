#!/usr/bin/env bash
# Installs every Debian 12 package svilm needs to build, run and test.
# Idempotent: packages already installed are left alone. Used by the README and .ci/run.
set -euo pipefail

BUILD=(
  meson ninja-build pkg-config gcc g++ clang-format gettext
  libglib2.0-dev libjson-glib-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libopenblas-dev libopenblas-openmp-dev libopenblas-pthread-dev
  libvulkan-dev glslc spirv-tools
  libcairo2-dev libsqlite3-dev liblink-grammar-dev
  gobject-introspection libgirepository1.0-dev
  libopenmpi-dev
)
RUNTIME=(
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  mesa-vulkan-drivers vulkan-tools link-grammar-dictionaries-en
  openmpi-bin
)
TEST=(
  python3 python3-numpy python3-torch python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  libclang-rt-14-dev clang valgrind
)

want=("${BUILD[@]}" "${RUNTIME[@]}" "${TEST[@]}")
missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
