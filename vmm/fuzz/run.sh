#!/usr/bin/env bash
# Builds vmm/fuzz/virtqueue_fuzzer.cc with clang's libFuzzer + ASan + UBSan
# and runs it for a bounded number of inputs. A crash, leak or sanitizer
# report fails the test. Without clang the test fails with a clear message:
# scripts/setup.sh installs it.
#   vmm/fuzz/run.sh [RUNS]
set -euo pipefail
runs=${1:-200000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v clang++ >/dev/null || { echo "virtqueue fuzzer: clang++ missing; run scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d /tmp/vmm-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$repo" \
  "$repo/vmm/fuzz/virtqueue_fuzzer.cc" "$repo/vmm/virtio/queue.cc" "$repo/vmm/memory/guest_memory.cc" \
  "$repo/common/base/status.cc" -lfmt -o "$work/virtqueue_fuzzer"
mkdir -p "$work/corpus"
"$work/virtqueue_fuzzer" -runs="$runs" -max_len=8192 -seed=1 "$work/corpus" 2>&1 | tail -n 5
echo "virtqueue fuzzer: $runs inputs, no findings"
