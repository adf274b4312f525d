#!/usr/bin/env bash
# Builds common/image/fuzz/image_fuzzer.cc with clang's libFuzzer + ASan +
# UBSan and runs it from the committed seeds for a bounded number of inputs.
# A crash, leak, hang or sanitizer report fails the test; the failing input is
# kept under the cache's fuzz-findings/ and belongs in corpus/ once fixed.
#   common/image/fuzz/run.sh [RUNS]
set -euo pipefail
runs=${1:-30000}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d /tmp/image-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$repo/tests/lib/libfuzzer.sh"
image=$repo/common/image oci=$repo/common/oci
fuzz_build image "$work/image_fuzzer" "$image/fuzz/image_fuzzer.cc" "$image/image_types.cc" "$image/digest.cc" \
  "$image/resolve.cc" "$image/layout.cc" "$oci/validate.cc" "$oci/cpu_list.cc" "$oci/names.cc" "$oci/version.cc" \
  "$oci/field_error.cc" "$repo/common/base/status.cc" "$repo/common/base/file_util.cc" -lcrypto
fuzz_run image "$work/image_fuzzer" "$runs" "$image/fuzz/corpus/."
