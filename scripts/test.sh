#!/usr/bin/env bash
# The whole test suite: the release build's ctest tests (unit, then the ones
# that boot microVMs through the test host, then the benchmarks), the unit
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer, a clang
# Release build, and the libFuzzer runs. Ends with a table of each phase's time.
#
# The sanitizer, clang and fuzz lane runs beside the test-host phases at the
# lowest CPU priority: the emulated test host keeps about 1.3 of the two
# cores busy (QEMU's TCG; measured in docs/measurements.md), so the lane
# mostly fills the rest instead of adding its ~30 minutes to the critical path.
#
# SANDBOX_RT_SOAK=1 adds the soak tests (label soak: hundreds of microVMs);
# SANDBOX_RT_BENCH_QUICK=1 runs the benchmarks at a quick size (3 runs, 10 sandboxes).
set -euo pipefail
cd "$(dirname "$0")/.."

phases=()
status=0
# phase NAME CMD...: runs CMD, records its time and verdict, and keeps going
# on failure (the suite's status is the worst of its phases).
phase() {
  local name=$1 started rc
  shift
  echo "== $name"
  started=$(date +%s)
  set +e
  "$@"
  rc=$?
  set -e
  phases+=("$(printf '%-34s %6ss  %s' "$name" $(($(date +%s) - started)) "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")")")
  [ $rc -eq 0 ] || status=1
  return 0
}
# Each run's table and the test-host incidents it caused (run.sh keeps their
# evidence) are also appended to a log under the cache: CI runs on this
# machine, so its times stay readable after its output is gone.
times_log=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/suite-times.log
incidents=${SANDBOX_TESTHOST_INCIDENTS:-${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/testhost/incidents}
# A failed ctest phase's whole log is kept there too (the last 20), and its
# tests' FAIL lines close the output: CI shows only a run's head and tail.
failure_logs=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/ci-failures
lane_dir= lane_pid=
# keep_failure_log NAME BUILD_DIR: keeps that tree's last ctest log and lists
# it in $lane_dir/kept (both lanes write there; the summary reads it).
keep_failure_log() {
  local log=$2/Testing/Temporary/LastTest.log kept
  [ -f "$log" ] || return 0
  mkdir -p "$failure_logs" || return 0
  kept="$failure_logs/$(date -u +%Y%m%d-%H%M%S)-${1// /-}.log"
  cp "$log" "$kept" && echo "$kept" >> "$lane_dir/kept"
  ls -1t "$failure_logs"/*.log 2>/dev/null | tail -n +21 | xargs -r rm -f
}
# ctest_phase NAME BUILD_DIR ARGS...: a ctest phase whose log is kept on
# failure, run under ${ctest_prefix[@]} (the side lane's nice).
ctest_prefix=()
ctest_phase() {
  local name=$1 dir=$2 before=$status
  shift 2
  status=0
  phase "$name" ${ctest_prefix[@]+"${ctest_prefix[@]}"} ctest --test-dir "$dir" --output-on-failure "$@"
  [ $status -eq 0 ] || keep_failure_log "$name" "$dir" || true
  [ $before -eq 0 ] || status=$before
}
summary() {
  local table new kept kept_failures=()
  [ -n "$lane_pid" ] && kill -- "$lane_pid" 2>/dev/null
  if [ -n "$lane_dir" ]; then
    if grep -q FAILED "$lane_dir/rows" 2>/dev/null || [ ! -s "$lane_dir/rows" ]; then
      echo "== side lane output (a phase failed or it did not finish)"; cat "$lane_dir/output"
    else
      echo "== side lane output: its last lines"; tail -n 15 "$lane_dir/output"
    fi
    [ -s "$lane_dir/kept" ] && mapfile -t kept_failures < "$lane_dir/kept"
    rm -rf "$lane_dir"
  fi
  table=$(echo "== phases (total $(($(date +%s) - suite_started))s)"; printf '%s\n' "${phases[@]}")
  new=$(find "$incidents" -mindepth 1 -maxdepth 1 -newermt "@$suite_started" -printf '%f\n' 2>/dev/null | sort || true)
  echo "$table"
  echo "test-host incidents in this run: ${new:-none}"
  for kept in "${kept_failures[@]+"${kept_failures[@]}"}"; do
    echo "== FAIL lines of $kept"
    awk -f scripts/ctest-failures.awk "$kept" | head -n 80
  done
  mkdir -p "$(dirname "$times_log")" &&
    { echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) CI=${CI:-}"; echo "$table"
      echo "incidents: ${new:-none}"; } >> "$times_log" || true
}
suite_started=$(date +%s)
trap summary EXIT

phase setup scripts/setup.sh
[ $status -eq 0 ] || exit 1
phase "build release (gcc)" scripts/build.sh release
[ $status -eq 0 ] || exit 1

# The side lane: its phases' rows and output go to files, read at the end.
lane_dir=$(mktemp -d /tmp/sandbox-rt-suite-lane.XXXXXX)
side_lane() {
  phases=()
  phase "build asan+ubsan (unit tests)" nice -n 19 scripts/build.sh asan unit_tests
  # The tests themselves at normal priority: some wait seconds for a peer,
  # which a lane starved by the test host could miss.
  [ $status -eq 0 ] && phase "ctest unit (asan+ubsan)" env \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure -j "$(nproc)" -L unit
  phase "build release (clang)" nice -n 19 scripts/build.sh clang
  # The fuzz scripts build their own clang binaries under /tmp: run from the
  # clang tree, their ctest log cannot collide with the main lane's.
  ctest_prefix=(nice -n 19)
  ctest_phase "ctest fuzz" build/clang -L fuzz
  printf '%s\n' "${phases[@]}" > "$lane_dir/rows"
  exit $status
}
side_lane > "$lane_dir/output" 2>&1 &
lane_pid=$!
echo "== side lane (asan+ubsan build and unit tests, clang build) started; its output follows the table at the end"

# Every test carries one of the labels the phases below run.
unlabelled=$(ctest --test-dir build/release -N -LE '^(unit|fuzz|e2e|bench|soak)$' | grep -c "Test *#" || true)
[ "$unlabelled" -eq 0 ] || { echo "test.sh: $unlabelled tests carry none of unit, fuzz, e2e, bench, soak"; exit 1; }
ctest_phase "ctest unit (release)" build/release -j "$(nproc)" -L unit
# One test host at a time (RESOURCE_LOCK testhost): these run serially.
ctest_phase "ctest e2e (test host)" build/release -L e2e -LE soak
# The benchmarks at the issues' sizes (5 runs each, 20 sandboxes side by
# side: about 6 min); SANDBOX_RT_BENCH_QUICK=1 runs 3 and 10, and each
# benchmark then says so.
ctest_phase "ctest bench" build/release -L bench
[ "${SANDBOX_RT_SOAK:-0}" = 1 ] && ctest_phase "ctest soak" build/release -L soak
waited=$(date +%s)
lane_rc=0
wait "$lane_pid" || lane_rc=$?
lane_pid=
phases+=("$(printf '%-34s %6ss  %s' "(waiting for the side lane)" $(($(date +%s) - waited)) "")")
while IFS= read -r row; do phases+=("  side: $row"); done < "$lane_dir/rows"
[ "$lane_rc" -eq 0 ] || status=1
exit $status
