#!/usr/bin/env bash
# The main job: install dependencies, build, install sandbox-rt, sandbox-vmm
# and the guest (kernel + agent initramfs), then run a hello-world container
# in its own microVM. On a machine without hardware KVM (e.g. a PVM
# /dev/kvm) the container runs inside the test host (tests/testhost/run.sh),
# and this says so.
#   PREFIX=/usr/local scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:-/usr/local}
scripts/setup.sh
scripts/build.sh release
install -D -m 0755 build/release/shim/cli/sandbox-rt "$prefix/bin/sandbox-rt"
install -D -m 0755 build/release/vmm/sandbox-vmm "$prefix/bin/sandbox-vmm"
# containerd finds a runtime_type io.containerd.sandbox-rt.v2 shim on its PATH.
install -D -m 0755 build/release/shim/containerd/containerd-shim-sandbox-rt-v2 "$prefix/bin/containerd-shim-sandbox-rt-v2"
guest=$(scripts/install-guest.sh build/release/agent/sandbox-agent)
echo "installed: $prefix/bin/sandbox-rt, $prefix/bin/sandbox-vmm, $prefix/bin/containerd-shim-sandbox-rt-v2, $guest/{vmlinux,initramfs.img}"

echo
echo "== sandbox-rt check"
"$prefix/bin/sandbox-rt" check || true

# A busybox bundle from `sandbox-rt spec` (its device rules are enforced in the guest).
bundle=$(mktemp -d /tmp/sandbox-rt-hello.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
rootfs-builder/busybox-bundle.sh "$prefix/bin/sandbox-rt" "$bundle" /bin/sh -c \
  'echo "hello from a container in a microVM: kernel $(uname -r), $(nproc) vCPU, $(awk "/MemTotal/ {print int(\$2/1024)}" /proc/meminfo) MiB"'

run=("$prefix/bin/sandbox-rt" --root /run/sandbox-rt run -b "$bundle" "hello-$$")
echo
if [ -e /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
  echo "== ${run[*]}"
  "${run[@]}" < /dev/null
else
  echo "== this machine has no hardware KVM: running it inside the test host (QEMU TCG + nested kvm_amd)"
  echo "== ${run[*]}"
  tests/testhost/run.sh --timeout 600 -- "${run[@]}" < /dev/null
fi
