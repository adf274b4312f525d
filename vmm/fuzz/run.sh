#!/usr/bin/env bash
# Builds vmm/fuzz/virtqueue_fuzzer.cc with clang's libFuzzer + ASan + UBSan
# and runs it for a bounded number of inputs. A crash, leak or sanitizer
# report fails the test. Without clang the test fails with a clear message:
# scripts/setup.sh installs it.
#   vmm/fuzz/run.sh [RUNS]
set -euo pipefail
runs=${1:-200000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/vmm-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$repo/tests/lib/libfuzzer.sh"
fuzz_build virtqueue "$work/virtqueue_fuzzer" "$repo/vmm/fuzz/virtqueue_fuzzer.cc" "$repo/vmm/virtio/queue.cc" \
  "$repo/vmm/memory/guest_memory.cc" "$repo/common/base/status.cc" -lfmt
fuzz_run virtqueue "$work/virtqueue_fuzzer" "$runs" -- -max_len=8192
