#!/usr/bin/env bash
# valgrind memcheck over the element tests (issue 10): each of svilmencode, svilmscenecut,
# svilmground and svilmretrieve's GstHarness suites runs in-process (CK_FORK=no) under
# memcheck; any invalid access, use of uninitialised memory or definite leak fails.
# GLib's suppressions and tests/valgrind.supp (only code outside svilm) apply.
# Slow (a few minutes per suite): not part of scripts/run-tests.sh.
#   scripts/valgrind.sh [TEST...]     (default: the four element tests)
set -uo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null || exit 1
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(svilmencode svilmscenecut svilmground svilmretrieve)
out=build/valgrind
# arguments after the test model program, as tests/meson.build passes them
declare -A extra_args=([svilmretrieve]="build/tools/svilm-search")
mkdir -p "$out"
status=0
for t in "${tests[@]}"; do
  log="$out/$t.log"
  start=$(date +%s)
  env CK_FORK=no CK_DEFAULT_TIMEOUT=0 G_SLICE=always-malloc G_DEBUG=gc-friendly OMP_NUM_THREADS=1 \
    GST_PLUGIN_PATH="$PWD/build/gst-plugin" LD_LIBRARY_PATH="$PWD/build/svilm-core:$PWD/build/gst-plugin" \
    GST_REGISTRY="$PWD/build/tests/gst-registry.bin" GST_REGISTRY_FORK=no \
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --track-origins=yes --num-callers=30 \
    --suppressions=/usr/share/glib-2.0/valgrind/glib.supp --suppressions=tests/valgrind.supp \
    "build/tests/test-$t" build/tests/make-test-model ${extra_args[$t]:-} >"$log" 2>&1
  rc=$?
  summary=$(grep -E "ERROR SUMMARY" "$log" | tail -1 | sed 's/^==[0-9]*== //')
  lost=$(grep -E "definitely lost:" "$log" | tail -1 | sed 's/^==[0-9]*== *//')
  checks=$(grep -E "^[0-9]+%: Checks" "$log" | tail -1)
  echo "$t: rc $rc, $(( $(date +%s) - start )) s; ${checks:-no check summary}; ${lost:-no leaks found}; $summary"
  [ "$rc" -eq 0 ] || { status=1; echo "  log: $log"; }
done
exit $status
