#!/usr/bin/env bash
# Benchmark (label bench; ratios, no speed assertion) of pod networking, in
# the test host: a container in a netns+veth (as network_e2e sets it up)
# under sandbox-rt (guest NIC on a TAP mirrored to the veth) and under runc
# (the veth itself), each ROUNDS times, alternating: iperf3 TCP throughput
# container -> host end and host end -> container (-R), 5 s each, and the
# round-trip time of 1,000 back-to-back pings (busybox ping -A). Prints the
# medians and sandbox-rt/runc ratios; checks only that every number was got.
#   net_bench.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [ROUNDS]
set -euo pipefail
rt=$(realpath "${1:?usage: net_bench.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [ROUNDS]}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}") rounds=${4:-2}
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v iperf3 > /dev/null || { echo "net_bench: iperf3 is missing (scripts/setup.sh installs it)" >&2; exit 2; }
work=$(mktemp -d /tmp/net-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$repo/tests/network/net_lib.sh"

guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
"$repo/rootfs-builder/busybox-bundle.sh" "$rt" "$work/bench" /bin/sh /bench.sh
rootfs=$work/bench/rootfs
# iperf3 and the libraries it links, at their own paths.
for file in "$(command -v iperf3)" $(ldd "$(command -v iperf3)" | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$file")"
  cp -L "$file" "$rootfs$file"
done
cat > "$rootfs/bench.sh" <<'BENCH'
export TMPDIR=/dev/shm  # iperf3's stream buffers are temp files; the rootfs is read-only
up=$(iperf3 -c 10.200.0.1 -t 5 -f m 2>&1 | grep receiver | grep -o '[0-9.]* Mbits/sec' | cut -d' ' -f1)
down=$(iperf3 -c 10.200.0.1 -t 5 -f m -R 2>&1 | grep receiver | grep -o '[0-9.]* Mbits/sec' | cut -d' ' -f1)
rtt=$(ping -A -q -c 1000 10.200.0.1 2>&1 | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p')
echo "up=$up down=$down rtt=$rtt"
BENCH
net_bundle "$work/bench/config.json" "$work/bench" "$rootfs" /var/run/netns/sbx-bench

echo '{"boot_timeout_ms": 180000}' > "$work/runtime.json"
cat > "$work/inner.sh" <<INNER
set -u
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm" SANDBOX_RT_CONFIG="$work/runtime.json"
rt="$rt" work="$work" repo="$repo" rounds=$rounds
INNER
cat >> "$work/inner.sh" <<'INNER'
. "$repo/tests/network/net_lib.sh"
ip netns del sbx-bench 2>/dev/null
make_pod_netns sbx-bench 02:aa:bb:cc:dd:02 || { echo "net_bench: the netns setup failed"; exit 1; }
iperf3 -s -D -B 10.200.0.1 --logfile "$work/iperf3-server.log"
# (-D returns before it listens.)
for _ in $(seq 100); do ss -ltn | grep -q '10.200.0.1:5201' && break; sleep 0.1; done
cd "$work/bench"
rm -f "$work"/results.*
for round in $(seq "$rounds"); do
  timeout -k 10 300 "$rt" --root /run/sandbox-rt-net-bench run "bench-$round" < /dev/null >> "$work/results.sandbox-rt" 2>> "$work/sandbox-rt.err"
  timeout -k 10 300 runc --root /run/runc-net-bench run "bench-$round" < /dev/null >> "$work/results.runc" 2>> "$work/runc.err"
done
pkill -f "iperf3 -s -D -B 10.200.0.1"
ip netns del sbx-bench
ip link del veth-host 2>/dev/null
exit 0
INNER
"$repo/tests/testhost/run.sh" --timeout 1200 --mem 3072 -- bash "$work/inner.sh"

# median KEY FILE: the median of KEY=value over FILE's lines.
median() { grep -o "$1=[0-9.]*" "$2" | cut -d= -f2 | sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
failed=0
for key in up down rtt; do
  ours=$(median "$key" "$work/results.sandbox-rt")
  theirs=$(median "$key" "$work/results.runc")
  if [ -z "$ours" ] || [ -z "$theirs" ]; then
    echo "net_bench: FAIL: no $key figure (sandbox-rt [$ours], runc [$theirs])"
    failed=1
    continue
  fi
  unit=Mbit/s; [ "$key" = rtt ] && unit=ms
  echo "net_bench: $key: sandbox-rt $ours $unit, runc $theirs $unit, ratio $(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"
done
if [ "$failed" -ne 0 ]; then
  sed 's/^/  [sandbox-rt] /' "$work/results.sandbox-rt" "$work/sandbox-rt.err" 2>/dev/null | tail -n 20
  sed 's/^/  [runc] /' "$work/results.runc" "$work/runc.err" 2>/dev/null | tail -n 20
fi
exit "$failed"
