#!/usr/bin/env bash
# Builds one of common/image/fuzz's targets with clang's libFuzzer + ASan +
# UBSan and runs it from the committed seeds for a bounded number of inputs.
# A crash, leak, hang or sanitizer report fails the test; the failing input is
# kept under the cache's fuzz-findings/ and belongs in the corpus once fixed.
#   common/image/fuzz/run.sh documents|layer [RUNS]
#     documents: index, manifest and config parsing and resolution (corpus/)
#     layer: a layer tar applied onto an empty rootfs (layer_corpus/)
set -euo pipefail
target=${1:?usage: run.sh documents|layer [RUNS]}
runs=${2:-30000}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d /tmp/image-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$repo/tests/lib/libfuzzer.sh"
image=$repo/common/image oci=$repo/common/oci
case $target in
  documents)
    fuzz_build image "$work/image_fuzzer" "$image/fuzz/image_fuzzer.cc" "$image/image_types.cc" "$image/digest.cc" \
      "$image/resolve.cc" "$image/layout.cc" "$oci/validate.cc" "$oci/cpu_list.cc" "$oci/names.cc" "$oci/version.cc" \
      "$oci/field_error.cc" "$repo/common/base/status.cc" "$repo/common/base/file_util.cc" -lnettle
    fuzz_run image "$work/image_fuzzer" "$runs" "$image/fuzz/corpus/."
    ;;
  layer)
    fuzz_build layer "$work/layer_fuzzer" "$image/fuzz/layer_fuzzer.cc" "$image/layer_apply.cc" "$image/in_root.cc" \
      "$image/digest.cc" "$image/image_types.cc" "$oci/field_error.cc" "$repo/common/base/status.cc" \
      "$repo/common/base/file_util.cc" "$repo/common/base/temp_dir.cc" \
      -DSPDLOG_FMT_EXTERNAL -larchive -lnettle -lspdlog -lfmt
    fuzz_run layer "$work/layer_fuzzer" "$runs" "$image/fuzz/layer_corpus/."
    ;;
  *) echo "run.sh: unknown target $target" >&2; exit 2 ;;
esac
