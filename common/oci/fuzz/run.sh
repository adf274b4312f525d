#!/usr/bin/env bash
# Builds common/oci/fuzz/spec_fuzzer.cc with clang's libFuzzer + ASan + UBSan
# and runs it from the committed seed corpus for a bounded number of inputs.
# A crash, leak, hang or sanitizer report fails the test; the failing input is
# kept under the cache's fuzz-findings/ and belongs in corpus/ once fixed.
#   common/oci/fuzz/run.sh [RUNS]
set -euo pipefail
runs=${1:-30000}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d /tmp/oci-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$repo/tests/lib/libfuzzer.sh"
oci=$repo/common/oci
fuzz_build spec "$work/spec_fuzzer" "$oci/fuzz/spec_fuzzer.cc" "$oci/spec_json.cc" "$oci/validate.cc" \
  "$oci/cpu_list.cc" "$oci/names.cc" "$oci/version.cc" "$oci/field_error.cc" "$repo/common/base/status.cc" \
  "$repo/common/base/file_util.cc"
fuzz_run spec "$work/spec_fuzzer" "$runs" "$oci/fuzz/corpus/." "$oci/testdata/full_config.json" \
  -- -dict="$oci/fuzz/oci.dict"
