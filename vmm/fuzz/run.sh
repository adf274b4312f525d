#!/usr/bin/env bash
# Builds one of vmm/fuzz's targets with clang's libFuzzer + ASan + UBSan and
# runs it for a bounded number of inputs. A crash, leak or sanitizer report
# fails the test. Without clang the test fails with a clear message:
# scripts/setup.sh installs it.
#   vmm/fuzz/run.sh virtqueue|device|vhost_user [RUNS]
#     virtqueue: the virtqueue parser over guest-controlled rings
#     device: rng, blk, vsock and net behind virtio-mmio, driven by register
#             accesses, guest memory writes and notifications (seeds in
#             vmm/fuzz/device_corpus)
#     vhost_user: the vhost-user front-end against a back-end answering with
#             the input (seeds in vmm/fuzz/vhost_user_corpus)
set -euo pipefail
target=${1:?usage: run.sh virtqueue|device|vhost_user [RUNS]}
runs=${2:-20000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/vmm-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$repo/tests/lib/libfuzzer.sh"
common=("$repo/vmm/virtio/queue.cc" "$repo/vmm/memory/guest_memory.cc" "$repo/common/base/status.cc")
case $target in
  virtqueue)
    fuzz_build virtqueue "$work/fuzzer" "$repo/vmm/fuzz/virtqueue_fuzzer.cc" "${common[@]}" -lfmt
    fuzz_run virtqueue "$work/fuzzer" "$runs" -- -max_len=8192
    ;;
  device)
    fuzz_build device "$work/fuzzer" "$repo/vmm/fuzz/device_fuzzer.cc" "${common[@]}" \
      "$repo"/vmm/virtio/{mmio_transport,device,rate_limited_warnings}.cc \
      "$repo"/vmm/virtio/devices/{rng,blk,vsock,vsock_connection,net,balloon}.cc \
      "$repo"/vmm/{event_loop,bus}.cc "$repo/vmm/kvm/kvm.cc" "$repo/common/sys/kvm_probe.cc" \
      "$repo"/vmm/snapshot/snapshot_file.cc \
      "$repo"/common/base/{unix_socket,file_util,temp_dir}.cc -DSPDLOG_FMT_EXTERNAL -lspdlog -lfmt -lnettle
    fuzz_run device "$work/fuzzer" "$runs" "$repo/vmm/fuzz/device_corpus" -- -max_len=4096
    ;;
  vhost_user)
    fuzz_build vhost_user "$work/fuzzer" "$repo/vmm/fuzz/vhost_user_fuzzer.cc" "${common[@]}" \
      "$repo/vmm/vhost_user/frontend.cc" "$repo"/common/base/{unix_socket,fd_passing}.cc -lfmt
    fuzz_run vhost_user "$work/fuzzer" "$runs" "$repo/vmm/fuzz/vhost_user_corpus/." -- -max_len=1024
    ;;
  *) echo "run.sh: unknown target $target" >&2; exit 2 ;;
esac
