#!/usr/bin/env bash
# e2e: the guest kernel (guest-kernel-config/) with a busybox initramfs
# (rootfs-builder/) boots under QEMU's microvm machine on a real /dev/kvm
# (through the test host here) and reaches userspace with 2 vCPUs and a
# virtio-mmio device. QEMU is the reference VMM until sandbox-vmm exists.
# The agent's Check-over-vsock half of the smoke test waits for the agent.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/guest-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
kernel_dir=$("$repo/guest-kernel-config/build.sh" | tail -n 1)
"$repo/rootfs-builder/build-initramfs.sh" --init "$repo/tests/guest/smoke-init.sh" --busybox --out "$work/initramfs.cpio.gz"
cat "$kernel_dir/build-info"

cat > "$work/inner.sh" <<INNER
set -u
# microvm with acpi=off has no i8042, so a guest reboot loops (DESIGN.md):
# wait for the marker, then stop QEMU.
qemu-system-x86_64 -M microvm,acpi=off,x-option-roms=off,rtc=off,isa-serial=on -enable-kvm -cpu host -smp 2 -m 256 \
  -nodefaults -no-user-config -display none -serial file:$work/console.log \
  -device virtio-rng-device \
  -kernel "$kernel_dir/vmlinux" -initrd "$work/initramfs.cpio.gz" \
  -append "console=ttyS0 reboot=k panic=-1 acpi=off quiet" </dev/null > $work/qemu.log 2>&1 &
qemu=\$!
for _ in \$(seq 600); do
  grep -q "sandbox-guest: done" "$work/console.log" 2>/dev/null && break
  kill -0 \$qemu 2>/dev/null || break
  sleep 0.1
done
kill \$qemu 2>/dev/null; wait \$qemu 2>/dev/null
cat $work/qemu.log
grep "sandbox-guest:" "$work/console.log" || { echo "--- console"; cat "$work/console.log"; exit 1; }
INNER
"$repo/tests/testhost/run.sh" --timeout 400 -- bash "$work/inner.sh"
line=$(grep -m1 "sandbox-guest: userspace ready" "$work/console.log")
echo "$line"
grep -q ", 2 cpus," <<<"$line" || { echo "boot_smoke: FAIL: the guest does not see 2 vCPUs" >&2; exit 1; }
grep -q ", 1 virtio devices" <<<"$line" || { echo "boot_smoke: FAIL: the virtio-mmio rng device is missing" >&2; exit 1; }
echo "boot_smoke: ok"
