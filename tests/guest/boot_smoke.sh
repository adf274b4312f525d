#!/usr/bin/env bash
# e2e smoke test of the guest artifacts on a real /dev/kvm (through the test
# host here), with QEMU's microvm machine as the reference VMM:
#  1. the guest kernel + a busybox initramfs reaches userspace with 2 vCPUs and
#     a virtio-mmio device declared on the command line;
#  2. the production initramfs (sandbox-agent as /init, nothing else) prints
#     the agent's ready marker on the console and answers Check and
#     GetGuestDetails over vsock (vhost-vsock, guest CID 3, port 1024).
#   boot_smoke.sh path/to/sandbox-agent path/to/agent_check
set -euo pipefail
agent=${1:?usage: boot_smoke.sh SANDBOX_AGENT AGENT_CHECK}
agent_check=${2:?usage: boot_smoke.sh SANDBOX_AGENT AGENT_CHECK}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/guest-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "boot_smoke: FAIL: $*" >&2; exit 1; }

kernel_dir=$("$repo/guest-kernel-config/build.sh" | tail -n 1)
cat "$kernel_dir/build-info"
"$repo/rootfs-builder/build-initramfs.sh" --init "$repo/tests/guest/smoke-init.sh" --busybox --out "$work/debug.cpio.gz"
strip -o "$work/sandbox-agent" "$agent"
"$repo/rootfs-builder/build-initramfs.sh" --init "$work/sandbox-agent" --out "$work/agent.cpio.gz"

cat > "$work/inner.sh" <<INNER
set -u
# boot NAME INITRAMFS MARKER [QEMU ARGS...]: start a microvm, wait until the
# console shows MARKER (or QEMU exits), leave QEMU running (pid in NAME.pid).
# microvm with acpi=off has no i8042, so a guest reboot would loop (DESIGN.md):
# the caller stops QEMU instead.
boot() {
  local name=\$1 initramfs=\$2 marker=\$3
  shift 3
  qemu-system-x86_64 -M microvm,acpi=off,x-option-roms=off,rtc=off,isa-serial=on -enable-kvm -cpu host \\
    -smp 2 -m 256 -nodefaults -no-user-config -display none -serial file:$work/\$name.console "\$@" \\
    -kernel "$kernel_dir/vmlinux" -initrd "\$initramfs" \\
    -append "console=ttyS0 reboot=k panic=-1 acpi=off quiet" </dev/null > $work/\$name.qemu 2>&1 &
  echo \$! > $work/\$name.pid
  for _ in \$(seq 600); do
    grep -q "\$marker" $work/\$name.console 2>/dev/null && return 0
    kill -0 \$(cat $work/\$name.pid) 2>/dev/null || break
    sleep 0.1
  done
  echo "--- \$name: no '\$marker' on the console"; cat $work/\$name.console $work/\$name.qemu
  return 1
}
stop() { kill \$(cat $work/\$1.pid) 2>/dev/null; wait \$(cat $work/\$1.pid) 2>/dev/null; true; }

boot debug $work/debug.cpio.gz "sandbox-guest: done" -device virtio-rng-device || exit 1
stop debug
boot agent $work/agent.cpio.gz "sandbox-agent: ready" -device vhost-vsock-device,guest-cid=3 || exit 1
"$agent_check" vsock:3:1024 > $work/agent.check 2>&1
rc=\$?
stop agent
exit \$rc
INNER
set +e
"$repo/tests/testhost/run.sh" --timeout 600 -- bash "$work/inner.sh"
rc=$?
set -e
cat "$work/debug.console" "$work/agent.console" "$work/agent.check" 2>/dev/null | grep -E "sandbox-(guest|agent)|agent_check" || true
[ "$rc" -eq 0 ] || fail "the test host run failed with $rc"
line=$(grep -m1 "sandbox-guest: userspace ready" "$work/debug.console")
grep -q ", 2 cpus," <<<"$line" || fail "the guest does not see 2 vCPUs"
grep -q ", 1 virtio devices" <<<"$line" || fail "the virtio-mmio device from the command line is missing"
grep -q "sandbox-agent: ready (listening on vsock:1024, uptime" "$work/agent.console" || fail "no agent ready marker"
grep -q "Check SERVING; kernel 6.12" "$work/agent.check" || fail "the agent did not answer Check over vsock"
grep -q "pid1 yes" "$work/agent.check" || fail "the agent is not PID 1"
echo "boot_smoke: ok"
