#!/usr/bin/env bash
# The whole test suite: the release build's ctest tests (unit, then the ones
# that boot microVMs through the test host, then the benchmarks), the unit
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer, and a
# clang Release build. Ends with a table of each phase's time.
#
# SANDBOX_RT_SOAK=1 adds the soak tests (label soak: hundreds of microVMs).
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
summary() {
  local table new
  table=$(echo "== phases (total $(($(date +%s) - suite_started))s)"; printf '%s\n' "${phases[@]}")
  new=$(find "$incidents" -mindepth 1 -maxdepth 1 -newermt "@$suite_started" -printf '%f\n' 2>/dev/null | sort)
  echo "$table"
  echo "test-host incidents in this run: ${new:-none}"
  mkdir -p "$(dirname "$times_log")" &&
    { echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) CI=${CI:-}"; echo "$table"
      echo "incidents: ${new:-none}"; } >> "$times_log" || true
}
suite_started=$(date +%s)
trap summary EXIT

phase setup scripts/setup.sh
[ $status -eq 0 ] || exit 1
phase "build release (gcc)" scripts/build.sh release
phase "build asan+ubsan (unit tests)" scripts/build.sh asan unit_tests
[ $status -eq 0 ] || exit 1

release=(ctest --test-dir build/release --output-on-failure)
# Every test carries one of the labels the phases below run.
unlabelled=$("${release[@]}" -N -LE '^(unit|fuzz|e2e|bench|soak)$' | grep -c "Test *#" || true)
[ "$unlabelled" -eq 0 ] || { echo "test.sh: $unlabelled tests carry none of unit, fuzz, e2e, bench, soak"; exit 1; }
phase "ctest unit (release)" "${release[@]}" -j "$(nproc)" -L unit
phase "ctest fuzz" "${release[@]}" -L fuzz
# One test host at a time (RESOURCE_LOCK testhost): these run serially.
phase "ctest e2e (test host)" "${release[@]}" -L e2e -LE soak
phase "ctest bench" "${release[@]}" -L bench
[ "${SANDBOX_RT_SOAK:-0}" = 1 ] && phase "ctest soak" "${release[@]}" -L soak
phase "ctest unit (asan+ubsan)" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$(nproc)" -L unit
phase "build release (clang)" scripts/build.sh clang
exit $status
