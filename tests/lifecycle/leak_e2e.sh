#!/usr/bin/env bash
# e2e (through the test host): N sequential `sandbox-rt run` cycles (default
# 100) of a container with stdin, stdout and a host cgroup, each output
# checked, and then nothing may have leaked: no state dir, no sandbox-vmm,
# monitor or exec relay, no mount, no Unix socket, no host cgroup, no temp
# dir, no image on /run, and the host's open file handles back where they
# were (each cycle's would add up).
#   leak_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [N]
set -euo pipefail
rt=$(realpath "${1:?usage: leak_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [N]}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}") cycles=${4:-100}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/leak-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT
guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
"$repo/rootfs-builder/busybox-bundle.sh" "$rt" "$work/bundle" /bin/sh -c 'read line; echo "cycle $line"'
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["cgroupsPath"] = "/sandbox-rt-leak/c"
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY

cat > "$work/inner.sh" <<INNER
set -u
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm"
rt="$rt" work="$work" cycles=$cycles
INNER
cat >> "$work/inner.sh" <<'INNER'
root=/run/sandbox-rt-leak
rm -rf "$root"  # a retried test host runs this again
failures=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
handles() { cut -f1 /proc/sys/fs/file-nr; }
sockets() { tail -n +2 /proc/net/unix | wc -l; }
snapshot() {
  echo "mounts $(wc -l < /proc/mounts)"
  echo "unix-sockets $(sockets)"
  echo "tmp $(ls /tmp | grep -c sandbox-rt || true)"
  echo "processes $(pgrep -c -f 'sandbox-vmm|sandbox-rt' || true)"
}
cd "$work/bundle"
# One cycle first, so lazily made things (the root dir, caches) exist before the baseline.
echo 0 | timeout -k 10 300 "$rt" --root "$root" run leak-warmup > /dev/null
before=$(snapshot)
handles_before=$(handles)
wrong=0
start=$(date +%s)
for i in $(seq 1 "$cycles"); do
  out=$(echo "$i" | timeout -k 10 300 "$rt" --root "$root" run "leak-$i" 2> "$work/err")
  rc=$?
  if [ "$rc" -ne 0 ] || [ "$out" != "cycle $i" ]; then
    wrong=$((wrong + 1))
    echo "cycle $i: status $rc, output [$out], stderr: $(tail -n 3 "$work/err")"
  fi
done
echo "$cycles cycles in $(( $(date +%s) - start )) s"
check "every cycle ran and printed its line" 0 "$wrong"
check "no state dirs left" "" "$(ls "$root")"
check "no sandbox-vmm, monitor or relay left; mounts, sockets, temp dirs as before" "$before" "$(snapshot)"
[ -e /sys/fs/cgroup/sandbox-rt-leak/c ]; check "host cgroup removed" 1 $?
rmdir /sys/fs/cgroup/sandbox-rt-leak 2>/dev/null || true
# Open file handles: a leak of one per cycle would show as $cycles more.
handles_after=$(handles)
grown=$((handles_after - handles_before))
echo "open file handles: $handles_before before, $handles_after after"
[ "$grown" -lt $((cycles / 2)) ]; check "open file handles did not grow with the cycles (+$grown)" 0 $?
echo "failures: $failures"
[ "$failures" -eq 0 ]
INNER
"$repo/tests/testhost/run.sh" --timeout 2700 --mem 3072 -- bash "$work/inner.sh"
