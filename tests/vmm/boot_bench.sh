#!/usr/bin/env bash
# Boot benchmark, sandbox-vmm vs QEMU's microvm machine, side by side in one
# run on the same KVM (the test host here): same guest kernel, same busybox
# initramfs, 2 vCPUs, 256 MiB, N runs each, alternating. Prints medians and
# ratios (ours / QEMU) of
#  - wall time from starting the VMM to the guest's "userspace ready" line,
#  - the guest's own uptime at that line,
#  - the VMM process's resident memory (the largest sample up to the marker;
#    it includes the guest pages touched so far, for both VMMs).
# Asserts nothing about speed; fails only if a VM does not boot.
#   boot_bench.sh SANDBOX_VMM [RUNS]
set -euo pipefail
vmm=$(realpath "${1:?usage: boot_bench.sh SANDBOX_VMM [RUNS]}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/tests/lib/bench.sh"
runs=$(bench_size boot_bench "${2:-5}" 3)
work=$(mktemp -d /tmp/vmm-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
kernel_dir=$("$repo/guest-kernel-config/build.sh" | tail -n 1)
"$repo/rootfs-builder/build-initramfs.sh" --init "$repo/tests/guest/smoke-init.sh" --busybox --out "$work/guest.cpio.gz"
# The runtime's default (shim/microvm/microvm_config.h); QEMU microvm has no
# i8042, so its flag changes nothing there.
cmdline="console=ttyS0 reboot=k panic=-1 quiet i8042.noaux 8250.nr_uarts=1 noreplace-smp"
cat > "$work/vm.json" <<JSON
{"kernel": "$kernel_dir/vmlinux", "initrd": "$work/guest.cpio.gz", "cmdline": "$cmdline",
 "vcpus": 2, "memory_mib": 256, "serial": "$work/console"}
JSON

cat > "$work/inner.sh" <<INNER
set -u
cd "$work"
# measure NAME COMMAND...: start it, wait for the marker, print "NAME wall_s uptime_s rss_kib".
measure() {
  local name=\$1; shift
  rm -f console
  local start=\$(date +%s.%N)
  "\$@" > /dev/null 2>&1 &
  local pid=\$!
  local rss=0 sample
  for _ in \$(seq 3000); do
    # Sampled every round, the largest kept: the guest reboots right after the
    # marker, and a sample taken while the VMM unmaps guest RAM on its way out
    # read 6 MB instead of 30 (seen in half the runs of 2026-12-05).
    sample=\$(awk '/VmRSS/ {print \$2}' /proc/\$pid/status 2>/dev/null)
    [ -n "\$sample" ] && [ "\$sample" -gt "\$rss" ] && rss=\$sample
    grep -q "userspace ready" console 2>/dev/null && break
    kill -0 \$pid 2>/dev/null || break
    sleep 0.01
  done
  local end=\$(date +%s.%N)
  local uptime=\$(sed -n 's/.*userspace ready at \([0-9.]*\)s.*/\1/p' console)
  kill \$pid 2>/dev/null; wait \$pid 2>/dev/null
  [ -n "\$uptime" ] || { echo "\$name: no userspace marker"; cat console; return 1; }
  echo "\$name \$(echo "\$end - \$start" | bc) \$uptime \${rss:-0}" >> results
}
for i in \$(seq $runs); do
  measure sandbox-vmm "$vmm" --config vm.json || exit 1
  measure qemu qemu-system-x86_64 -M microvm,acpi=off,x-option-roms=off,rtc=off,isa-serial=on -enable-kvm -cpu host \
    -smp 2 -m 256 -nodefaults -no-user-config -display none -serial file:console \
    -kernel "$kernel_dir/vmlinux" -initrd guest.cpio.gz -append "$cmdline acpi=off" || exit 1
done
INNER
"$repo/tests/testhost/run.sh" --timeout 900 -- bash "$work/inner.sh"
compare_medians boot_bench "$work/results" sandbox-vmm qemu "2:start to userspace (wall s)" \
  "3:guest uptime at userspace (s)" "4:VMM resident memory (KiB)"
echo "boot_bench: $runs runs each; raw results:"
cat "$work/results"
