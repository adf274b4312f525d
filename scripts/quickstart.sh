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
guest=$(scripts/install-guest.sh build/release/agent/sandbox-agent)
echo "installed: $prefix/bin/sandbox-rt, $prefix/bin/sandbox-vmm, $guest/{vmlinux,initramfs.img}"

echo
echo "== sandbox-rt check"
"$prefix/bin/sandbox-rt" check || true

# A busybox bundle: `sandbox-rt spec` (its device rules are enforced in the
# guest) without the terminal (terminal mode is not supported yet).
bundle=$(mktemp -d /tmp/sandbox-rt-hello.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/sh"
(cd "$bundle" && "$prefix/bin/sandbox-rt" spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c",
    'echo "hello from a container in a microVM: kernel $(busybox uname -r), $(busybox nproc) vCPU, '
    '$(busybox awk \'/MemTotal/ {print int($2/1024)}\' /proc/meminfo) MiB"']
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY

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
