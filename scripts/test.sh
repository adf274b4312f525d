#!/usr/bin/env bash
# The whole test suite: every ctest test of the release build, then the unit
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
scripts/build.sh asan

status=0
# The soak test (100 microVM run cycles, ~17 min under TCG) only on request.
soak=(-LE soak)
[ "${SANDBOX_RT_SOAK:-0}" = 1 ] && soak=()
echo "== ctest (release, all labels${soak:+ but soak})"
ctest --test-dir build/release --output-on-failure -j "$(nproc)" "${soak[@]}" || status=1
echo "== ctest (asan+ubsan, label unit)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$(nproc)" -L unit || status=1
exit $status
