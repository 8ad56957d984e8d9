#!/bin/sh
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) and runs each
# for a while; see fuzz/README.md.
#
#   fuzz/run-fuzzers.sh [-t SECONDS] [-b BUILD_DIR] [TARGET...]
#
# -t: seconds per target (default 60).  -b: the build directory (default build-fuzz;
#     configured on first use).  TARGETs: default all of them.
# Environment: CC (default clang); FUZZ_ARGS (extra libFuzzer flags); FUZZ_JOBS (libFuzzer
# -fork=N workers per target, default 1 = no fork; with 2 or more a crash does not end
# the run); FUZZ_STRICT=1 (a GLib critical stops the run like a crash; by default the
# first input raising each distinct critical is saved as a finding, critical-<hash>,
# and the run goes on).
#
# Each target is fuzzed for SECONDS without leak checks, then every input of its corpus
# is run once more with a leak check (whole stacks, lsan.supp).  Inputs that add coverage
# go to BUILD_DIR/fuzz-corpus/TARGET (the seeds in fuzz/corpus/TARGET are read, never
# written); crashes, leaks, timeouts and OOMs to BUILD_DIR/fuzz-artifacts/TARGET/; the
# output to BUILD_DIR/fuzz-logs/TARGET.log (and .log.leaks).
# A summary line per target (executions, exec/s, cov, ft, findings) ends the output;
# the exit status is 1 if any target found something.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
secs=60
build=$src/build-fuzz
while getopts t:b:h opt; do
  case $opt in
  t) secs=$OPTARG ;;
  b) build=$OPTARG ;;
  *) sed -n '2,21p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=${*:-"safetensors model model-config tokenizer nouns manifest eval-data index"}

: "${CC:=clang}"
if [ ! -f "$build/build.ninja" ]; then
  CC=$CC meson setup "$build" "$src" -Dfuzzing=true -Dsanitize=true -Dtests=false \
    -Dvulkan=disabled -Dintrospection=disabled -Dbuildtype=debugoptimized -Db_lundef=false
fi
ninja -C "$build" $(for t in $targets; do echo "fuzz/fuzz-$t"; done)

# LeakSanitizer: fuzz/lsan.supp (process-lifetime pools, a json-glib leak).  To replay a
# leak with whole allocation stacks through the system libraries (built without frame
# pointers), add ASAN_OPTIONS=fast_unwind_on_malloc=0 (too slow for fuzzing).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
# GSlice (GLib 2.74) keeps freed blocks in magazines: libFuzzer would see more mallocs
# than frees on every input (and run a slow leak check each time) and LSan would miss
# leaks of sliced blocks
export G_SLICE=always-malloc
export OMP_NUM_THREADS=1
export OPENBLAS_NUM_THREADS=1

summary=""
status=0
for t in $targets; do
  corpus=$build/fuzz-corpus/$t
  artifacts=$build/fuzz-artifacts/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  # per-target input size and time limits (a nouns input parses for up to ~1 s)
  case $t in
  nouns) limits="-max_len=256 -timeout=20" ;;
  model | safetensors) limits="-max_len=65536 -timeout=30" ;;
  *) limits="-max_len=16384 -timeout=20" ;;
  esac
  fork=""
  if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    fork="-fork=${FUZZ_JOBS} -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
  fi
  if [ "${FUZZ_STRICT:-0}" = 1 ]; then
    unset SVILM_FUZZ_CRITICALS
  else
    export SVILM_FUZZ_CRITICALS="$artifacts"
  fi
  echo "== fuzz-$t: $secs s (log: $log)"
  # 1. fuzzing, without leak checks: ASan's fast unwinder (needed for speed) stops inside
  #    the system GLib (no frame pointers), so leak stacks would be two frames long and
  #    lsan.supp (a json-glib leak) could not be applied
  rc=0
  # shellcheck disable=SC2086
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" "$build/fuzz/fuzz-$t" -max_total_time="$secs" \
    $limits -rss_limit_mb=2048 -detect_leaks=0 -dict="$here/svilm.dict" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} $fork "$corpus" "$here/corpus/$t" \
    >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  if [ -z "$execs" ]; then # -fork prints no final stats: "#N: cov: ... exec/s: E ..."
    execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    speed=$(echo "$last" | sed -n 's/.*exec\/s:\{0,1\} \([0-9]*\).*/\1/p')
  fi
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  # 2. leaks: every input of the corpus (seeds and what step 1 found) once more, each
  #    checked for leaks with whole allocation stacks
  n_inputs=$(find "$corpus" "$here/corpus/$t" -type f | wc -l)
  lrc=0
  # shellcheck disable=SC2086
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=1:fast_unwind_on_malloc=0" "$build/fuzz/fuzz-$t" \
    -runs=0 $limits -rss_limit_mb=2048 -detect_leaks=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$here/corpus/$t" >"$log.leaks" 2>&1 || lrc=$?
  leaks="none"
  if [ "$lrc" -ne 0 ]; then
    leaks="FOUND (see $log.leaks)"
    rc=$lrc
  fi
  echo "   leak check of $n_inputs corpus inputs: $leaks"
  found=$(find "$artifacts" -maxdepth 1 -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    tail -n 40 "$log"
  fi
  line=$(printf '%-13s execs %-10s exec/s %-7s cov %-6s ft %-7s exit %-3s findings %s' "$t" \
    "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$rc" "$found")
  echo "$line"
  summary="$summary$line
"
done
echo
echo "== summary ($secs s per target; findings in $build/fuzz-artifacts/)"
printf '%s' "$summary"
exit $status
