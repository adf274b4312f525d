#!/usr/bin/env bash
# Benchmark (label bench): the agent's VM (production initramfs, 1 vCPU,
# 128 MiB, vsock and rng) booted cold N times, then restored N times from one
# snapshot taken once its agent answered (issue 18's templates, at the VMM's
# level). Prints the medians of the wall time from starting sandbox-vmm to the
# agent answering Check, of the VMM's RSS and PSS at that point, and the
# ratios restored / cold. Asserts nothing about speed; fails only when a VM
# does not answer or a snapshot cannot be taken.
#   restore_bench.sh SANDBOX_VMM SANDBOX_AGENT AGENT_CHECK API_CALL [RUNS]
set -euo pipefail
vmm=$(realpath "${1:?usage: restore_bench.sh SANDBOX_VMM SANDBOX_AGENT AGENT_CHECK API_CALL [RUNS]}")
agent=$(realpath "${2:?}") agent_check=$(realpath "${3:?}") api_call=$(realpath "${4:?}")
source "$(dirname "$0")/../lib/bench.sh"
runs=$(bench_size restore_bench "${5:-5}" 3)
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/restore-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
kernel_dir=$("$repo/guest-kernel-config/build.sh" | tail -n 1)
strip -o "$work/sandbox-agent" "$agent"
"$repo/rootfs-builder/build-initramfs.sh" --init "$work/sandbox-agent" --out "$work/agent.cpio.gz"
cmdline="console=ttyS0 reboot=k panic=-1 quiet i8042.noaux 8250.nr_uarts=1 noreplace-smp"  # sandbox-rt's default

cat > "$work/inner.sh" <<INNER
set -eu
cd "$work"
rm -f ./*.sock* results
snapshots=\$(mktemp -d /run/restore-bench.XXXXXX)
# config NAME [RESTORE]: the VM's config, booted or restored.
config() {
  local source='"kernel": "$kernel_dir/vmlinux", "initrd": "$work/agent.cpio.gz", "cmdline": "$cmdline", '
  [ -z "\${2:-}" ] || source="\"restore\": {\"state\": \"\$snapshots/state\", \"memory\": \"\$snapshots/memory\"}, "
  echo "{\$source\"vcpus\": 1, \"memory_mib\": 128, \"rng\": true, \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$work/\$1.sock\"},
   \"serial\": \"$work/\$1.console\", \"api_socket\": \"$work/\$1.api.sock\"}" > \$1.json
}
# measure NAME: start the VM, wait for its agent's answer, note the time
# and memory, then stop it (the agent reboots the guest).
measure() {
  local start=\$(date +%s%N)
  "$vmm" --config \$1.json > \$1.vmm 2>&1 &
  local pid=\$!
  "$agent_check" "hybrid:$work/\$1.sock:1024" > \$1.check 2>&1 || { cat \$1.check \$1.vmm; return 1; }
  local end=\$(date +%s%N)
  local rss=\$(awk '/^Rss:/ {print \$2}' /proc/\$pid/smaps_rollup) pss=\$(awk '/^Pss:/ {print \$2}' /proc/\$pid/smaps_rollup)
  echo "\$2 \$(( (end - start) / 1000000 )) \$rss \$pss" >> results
  [ "\$2" = template ] && return 0
  "$agent_check" "hybrid:$work/\$1.sock:1024" --destroy > /dev/null 2>&1
  wait \$pid
}
for i in \$(seq $runs); do config cold\$i; measure cold\$i cold; done
# The template: its agent answered (and that connection closed, which the
# snapshot waits for: a busy vsock device is refused).
config template
measure template template
for _ in \$(seq 20); do
  "$api_call" template.api.sock '{"op":"snapshot"}' "\$snapshots/state" "\$snapshots/memory" > template.answer && break
  sleep 0.5
done
grep -q '"ok":true' template.answer || { echo "snapshot failed: \$(cat template.answer)"; exit 1; }
"$api_call" template.api.sock '{"op":"shutdown","timeout_ms":0}' > /dev/null
wait
for i in \$(seq $runs); do config restored\$i restore; measure restored\$i restored; done
rm -rf "\$snapshots"
INNER
"$repo/tests/testhost/run.sh" --timeout 900 -- bash "$work/inner.sh"
compare_medians restore_bench "$work/results" restored cold "2:start to agent answering (wall ms)" \
  "3:VMM RSS then (KiB)" "4:VMM PSS then (KiB)"
echo "restore_bench: $runs runs each; raw results (kind, ms, RSS KiB, PSS KiB):"
cat "$work/results"
