#!/usr/bin/env bash
# Builds common/oci/fuzz/spec_fuzzer.cc with clang's libFuzzer + ASan + UBSan
# and runs it from the committed seed corpus for a bounded number of inputs.
# A crash, leak, hang or sanitizer report fails the test; the failing input is
# kept under the cache's fuzz-findings/ and belongs in corpus/ once fixed.
#   common/oci/fuzz/run.sh [RUNS]
set -euo pipefail
runs=${1:-30000}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
command -v clang++ >/dev/null || { echo "spec fuzzer: clang++ missing; run scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d /tmp/oci-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
oci=$repo/common/oci
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$repo" \
  "$oci/fuzz/spec_fuzzer.cc" "$oci/spec_json.cc" "$oci/validate.cc" "$oci/cpu_list.cc" "$oci/names.cc" \
  "$oci/version.cc" "$oci/field_error.cc" "$repo/common/base/status.cc" "$repo/common/base/file_util.cc" \
  -o "$work/spec_fuzzer"
# The committed seeds stay as they are: libFuzzer adds what it finds to the copy.
mkdir -p "$work/corpus"
cp "$oci/fuzz/corpus/"* "$oci/testdata/"*.json "$work/corpus/"
# On a finding: the report and the input (base64), without the coverage lines.
if ! "$work/spec_fuzzer" -runs="$runs" -max_len=16384 -timeout=10 -seed=1 -dict="$oci/fuzz/oci.dict" \
  -artifact_prefix="$work/" "$work/corpus" > "$work/log" 2>&1; then
  { grep -v "^#[0-9]\|NEW_FUNC\|Uses: " "$work/log" || true; } | tail -n 80
  # The input outlives the work dir (libFuzzer prints it only when short).
  kept=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/fuzz-findings/spec-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$kept" && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$kept/" 2>/dev/null || true
  echo "spec fuzzer: FAILED; the input is kept in $kept (it belongs in corpus/ once fixed)"
  exit 1
fi
tail -n 1 "$work/log"
echo "spec fuzzer: $runs inputs, no findings"
