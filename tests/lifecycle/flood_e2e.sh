#!/usr/bin/env bash
# e2e test of a hostile container on a real microVM (through the test host
# where the machine has no hardware KVM): vsock connections to a host port
# nobody serves, as fast as they go, for 11 s, and stdout and stderr written
# flat out until it is killed. The VMM, the monitor and the state dir stay
# bounded, `state` keeps answering, kill and delete leave nothing.
#   flood_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT VSOCK_STREAM
# (VSOCK_STREAM: tests/vmm's static vsock_stream, the flooding tool.)
# A test of its own, not a section of lifecycle_e2e: under the test host's
# emulated AMD-V the flood's VM exits are where nested guests break most
# (issue 21: 5 of 6 such faults in lifecycle_e2e were in its flood), and a
# retried boot should cost this flood, not the whole lifecycle.
# FLOOD_E2E_TEMPLATES=1 restores the sandbox from a VM template, as the
# suite's lifecycle_e2e does.
set -euo pipefail
rt=$(realpath "${1:?usage: flood_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT VSOCK_STREAM}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}") vsock_stream=$(realpath "${4:?}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/flood-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT

guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
rootfs="$work/rootfs"
. "$repo/tests/lib/script-bundle.sh"
busybox_rootfs "$rootfs"
cp "$vsock_stream" "$rootfs/bin/vsock_stream"
bundle flood 'touch /tmp/flood.started; vsock_stream flood 2 9999 11 > /tmp/flood.out 2>&1 &
  yes "flood 0123456789abcdefghijklmnopqrstuvwxyz" & yes "flood to stderr" >&2 & wait'
templates=
if [ "${FLOOD_E2E_TEMPLATES:-0}" = 1 ]; then
  templates=/run/sandbox-rt-flood-e2e-templates
  with_templates=', "vm_templates": true, "template_dir": "'"$templates"'"'
fi
echo '{"boot_timeout_ms": 180000'"${with_templates:-}"'}' > "$work/runtime.json"

cat > "$work/inner.sh" <<INNER
set -u
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm" SANDBOX_RT_CONFIG="$work/runtime.json"
rt="$rt"
work="$work"
root=/run/sandbox-rt-flood-e2e
templates="$templates"
. "$repo/tests/lib/checks.sh"
. "$repo/tests/lib/sandbox-rt-calls.sh"
INNER
cat >> "$work/inner.sh" <<'INNER'
# A retried test host runs this again: nothing of the first run may count.
rm -f "$work/rootfs/tmp/flood.started" "$work/rootfs/tmp/flood.out" "$work/flood.samples" "$work/flood.bytes"
[ -z "$templates" ] || rm -rf "$templates"

# A hostile container floods what reaches the host (issue 17): every 2 s
# while it runs, the VMM's RSS outside guest RAM (KiB) and fds, the monitor's
# RSS and fds, the state dir's size, and whether `state` answered. The caps:
# 64 MiB and 64 fds per process, 32 MiB of state dir (the console log's 16 MiB
# cap and the logs). Then kill KILL mid-flood and delete leave nothing.
cd "$work/flood"
sb run -d flood1 < /dev/null 2> /dev/null > >(wc -c > "$work/flood.bytes"); check "flood: run -d" 0 $?
wait_until 120 test -e "$work/rootfs/tmp/flood.started"; check "flood: the container started flooding" 0 $?
flood_vmm=$(cut -d' ' -f1 "$root/flood1/vmm.pid")
flood_monitor=$(pgrep -f "sandbox-rt __monitor $root/flood1\$")
[ -n "$flood_vmm" ] && [ -n "$flood_monitor" ]; check "flood: its VMM and monitor found" 0 $?
guest_kib=$(($(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory_mib"])' "$root/flood1/vmm.json") * 1024))
for _ in 1 2 3 4 5 6; do
  sleep 2
  timeout 30 "$rt" --root "$root" state flood1 > /dev/null 2>&1
  answered=$?
  # A field that cannot be read counts as 0, so the columns never shift.
  vmm_own=$(awk -v guest="$guest_kib" '/^Size:/ {size = $2} /^Rss:/ {if (size != guest) total += $2} END {print total + 0}' \
    "/proc/$flood_vmm/smaps" 2> /dev/null)
  monitor_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$flood_monitor/status" 2> /dev/null)
  echo "${vmm_own:-0} $(ls "/proc/$flood_vmm/fd" 2> /dev/null | wc -l) ${monitor_kib:-0}" \
    "$(ls "/proc/$flood_monitor/fd" 2> /dev/null | wc -l) $(du -sk "$root/flood1" | cut -f1) $answered" >> "$work/flood.samples"
done
wait_until 30 grep -q "connections" "$work/rootfs/tmp/flood.out"
check "flood: vsock connections refused" "refused" "$(grep -o "[1-9][0-9]* refused" "$work/rootfs/tmp/flood.out" | cut -d' ' -f2)"
read -r samples vmm_rss vmm_fds monitor_rss monitor_fds state_kib unanswered < <(awk '{n++; for (i = 1; i <= 5; i++)
  if ($i > m[i]) m[i] = $i; if ($6 != 0) u++} END {print n, m[1], m[2], m[3], m[4], m[5], u + 0}' "$work/flood.samples")
echo "flood: $samples samples; at most: VMM RSS outside guest RAM $vmm_rss KiB, $vmm_fds fds; monitor RSS" \
  "$monitor_rss KiB, $monitor_fds fds; state dir $state_kib KiB; state unanswered $unanswered time(s);" \
  "$(cat "$work/rootfs/tmp/flood.out")"
check "flood: sampled 6 times" 6 "$samples"
check "flood: VMM RSS outside guest RAM <= 64 MiB" 1 "$((vmm_rss <= 65536))"
check "flood: monitor RSS <= 64 MiB" 1 "$((monitor_rss <= 65536))"
check "flood: VMM and monitor fds <= 64" 1 "$((vmm_fds <= 64 && monitor_fds <= 64))"
check "flood: state dir <= 32 MiB" 1 "$((state_kib <= 32768))"
check "flood: state answered every time" 0 "$unanswered"
# A plain kill KILL mid-flood, then delete. Under this flood the agent's
# vsock connect once timed out (1 run in 6): SIGKILL then stops the VM.
sb kill flood1 KILL 2> "$work/flood-kill.err"
rc=$?
check "flood: kill KILL mid-flood" 0 $rc
[ "$rc" = 0 ] || { sed 's/^/  [kill stderr] /' "$work/flood-kill.err"; tail -n 20 "$root/flood1/monitor.log" | sed 's/^/  [monitor.log] /'; }
if grep -q "SIGKILL stops its VM instead" "$work/flood-kill.err"; then
  echo "flood: the agent did not answer kill in time; its VM was stopped"
fi
wait_gone "$flood_monitor"; check "flood: its monitor exits" 0 $?
check "flood: stopped after kill KILL" stopped "$(state_of flood1)"
sb delete flood1 2> "$work/flood-delete.err"; check "flood: delete" 0 $?
wait_until 30 test -s "$work/flood.bytes"
echo "flood: $(cat "$work/flood.bytes") bytes of the container's stdout reached the host"
flood_bytes=$(cat "$work/flood.bytes")
check "flood: its stdout reached the host (over 1 MB)" 1 "$((${flood_bytes:-0} > 1000000))"
[ -e "$root/flood1" ]; check "flood: state dir removed" 1 $?
check "flood: no VMM or monitor left" "" "$(ps -o pid= -p "${flood_vmm:-1},${flood_monitor:-1}" | grep -vx " *1")"

check "no containers left" "" "$(ls "$root")"
check "no sandbox-vmm left" "" "$(pgrep -x sandbox-vmm)"
check "no monitor left" "" "$(pgrep -f 'sandbox-rt __monitor')"
check "no virtiofsd left" "" "$(pgrep -f "virtiofsd --fd")"
check "no mounts left" "" "$(grep "$root" /proc/mounts)"
if [ -n "$templates" ]; then
  made=$(find "$templates" -mindepth 1 -maxdepth 1 -type d -name '????????????????????????????????' | wc -l)
  check "templates on: the flooding sandbox came from a template" 1 "$made"
  rm -rf "$templates"
fi
echo "failures: $failures"
[ "$failures" -eq 0 ]
INNER
"$repo/tests/testhost/run.sh" --timeout 400 --mem 3072 -- bash "$work/inner.sh"
