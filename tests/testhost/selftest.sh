#!/usr/bin/env bash
# e2e self-test of the test-host harness: CMD's exit status and writes come
# back, /dev/kvm inside is a usable hardware-style KVM (sandbox-rt check sees
# kvm_amd or kvm_intel and every capability sandbox-vmm needs), cgroup2 has
# its controllers enabled, the test host sees a sandbox-vmm guest's triple
# fault (its nested-fault watch) and cuts a job short that runs on after it,
# a hung CMD is killed at the timeout, a
# test host that crashes or wedges is booted again, a bounded number of times,
# and one stalled by a vCPU halted with GIF clear is repaired and goes on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sandbox_rt=${1:?usage: selftest.sh path/to/sandbox-rt path/to/sandbox-vmm}
sandbox_vmm=$(realpath "${2:?usage: selftest.sh path/to/sandbox-rt path/to/sandbox-vmm}")
share=$(mktemp -d /tmp/testhost-selftest.XXXXXX)
trap 'rm -rf "$share"' EXIT
# The crashes and wedges below are deliberate: their evidence stays out of
# the incidents kept for real ones.
export SANDBOX_TESTHOST_INCIDENTS=$share/incidents
fail() { echo "selftest: FAIL: $*" >&2; exit 1; }

# A "kernel" that triple-faults at once: a 64-bit ELF whose entry is ud2
# (sandbox-vmm's boot IDT is empty, so #UD -> #GP -> #DF -> shutdown). The
# test host must see the SVM shutdown exit of a real sandbox-vmm vCPU thread:
# that is what its nested-fault watch (and run.sh's retry) rests on.
python3 - "$share/ud2.elf" <<'PYTHON'
import struct, sys
base, code = 0x100000, b"\x0f\x0b" * 8  # ud2
ehdr_size, phdr_size = 64, 56
entry = base + ehdr_size + phdr_size
ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 2, 62, 1, entry, ehdr_size, 0, 0,
                   ehdr_size, phdr_size, 1, 0, 0, 0)
size = ehdr_size + phdr_size + len(code)
phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
open(sys.argv[1], "wb").write(ehdr + phdr + code)
PYTHON
printf '{"kernel": "%s", "cmdline": "", "vcpus": 1, "memory_mib": 64, "serial": "none"}' "$share/ud2.elf" \
  > "$share/ud2.json"

inner=$share/inner.sh
cat > "$inner" <<INNER
set -u
# The second boot, after the first was cut short (below).
[ -e "$share/cut" ] && exit 7
[ -c /dev/kvm ] || { echo "no /dev/kvm"; exit 10; }
{ [ -d /sys/module/kvm_amd ] || [ -d /sys/module/kvm_intel ]; } || { echo "no hardware kvm module"; exit 11; }
for controller in cpu memory pids io cpuset; do
  grep -qw \$controller /sys/fs/cgroup/cgroup.subtree_control || { echo "cgroup controller \$controller not enabled"; exit 12; }
done
"$sandbox_rt" check > "$share/check.txt" 2>&1
# What scripts expect of a normal Linux system's /dev.
[ "\$(cat <(echo substituted))" = substituted ] || { echo "process substitution failed"; exit 13; }
[ "\$(echo piped | cat /dev/stdin)" = piped ] || { echo "/dev/stdin is not the caller's stdin"; exit 14; }
echo to-stderr > /dev/stderr 2>/dev/null || { echo "/dev/stderr is not writable"; exit 15; }
for node in /dev/fd /dev/stdout /dev/shm /dev/pts/ptmx /dev/null /dev/urandom; do
  [ -e "\$node" ] || { echo "missing \$node"; exit 16; }
done
python3 -c 'import os; m, s = os.openpty(); print(os.ttyname(s))' | grep -q '^/dev/pts/' || { echo "no pty from /dev/ptmx"; exit 17; }
grep -qw overlay /proc/filesystems || { echo "no overlayfs (containerd's and podman's snapshotters need it)"; exit 18; }
# SANDBOX_TESTHOST_KVM_PARAMS (set below) reached the test host's kvm.ko.
if [ -e /run/testhost-heartbeat.pid ] && [ "\$(cat /sys/module/kvm/parameters/halt_poll_ns)" != 0 ]; then
  echo "kvm.ko: halt_poll_ns \$(cat /sys/module/kvm/parameters/halt_poll_ns), want 0 (SANDBOX_TESTHOST_KVM_PARAMS)"; exit 19
fi
# One vCPU unless SANDBOX_TESTHOST_SMP says otherwise (issue 21).
if [ -e /run/testhost-heartbeat.pid ] && [ "\$(nproc)" != "${SANDBOX_TESTHOST_SMP:-1}" ]; then
  echo "the test host has \$(nproc) vCPUs, want ${SANDBOX_TESTHOST_SMP:-1} (SANDBOX_TESTHOST_SMP)"; exit 20
fi
if [ -d /sys/module/kvm_amd ] && [ -e /run/testhost-heartbeat.pid ]; then
  # The test host watches for nested vCPUs left at its own VMRUN (issue 21).
  grep -q "^nested world switch watched: __svm_vcpu_run 0xf" /run/testhost-nested-watch 2>/dev/null ||
    { echo "the nested world switch is not watched"; exit 19; }
fi
"$sandbox_vmm" --config "$share/ud2.json" > "$share/ud2.out" 2>&1
echo "\$?" > "$share/ud2.rc"
echo "written inside" > "$share/marker"
# In the test host, a job that runs on after a nested guest broke is cut
# short once its grace is over, and run again.
if [ -e /run/testhost-heartbeat.pid ]; then
  touch "$share/cut"
  sleep 120  # cut 10 s after the fault; a blind watch ends it with 7, and the check below says why
fi
exit 7
INNER

# A vCPU count that is not one is refused before anything starts.
for vcpus in 0 two; do
  refused=$(SANDBOX_TESTHOST_MODE=testhost SANDBOX_TESTHOST_SMP=$vcpus "$here/run.sh" -- true 2>&1) &&
    fail "SANDBOX_TESTHOST_SMP=$vcpus was accepted"
  grep -q "SANDBOX_TESTHOST_SMP=\"$vcpus\": want a vCPU count" <<<"$refused" ||
    fail "SANDBOX_TESTHOST_SMP=$vcpus: no clear refusal: $refused"
done

set +e
SANDBOX_TESTHOST_RETRY=1 SANDBOX_TESTHOST_FAULT_GRACE_S=10 SANDBOX_TESTHOST_KVM_PARAMS=halt_poll_ns=0 \
  "$here/run.sh" --timeout 300 --share "$share" -- bash "$inner" 2>&1 | tee "$share/first.out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 7 ] || fail "want exit status 7 from the test host, got $rc"
[ "$(cat "$share/ud2.rc")" = 2 ] || fail "the ud2 kernel did not end sandbox-vmm with status 2 (triple fault): $(cat "$share/ud2.out")"
if [ "${SANDBOX_TESTHOST_MODE:-}" != direct ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
  grep -q "nested guests broke 1 time(s) during CMD: 1 SVM shutdown exit(s)" "$share/first.out" ||
    fail "the test host did not see sandbox-vmm's deliberate triple fault (its nested-fault watch is blind)"
  echo "selftest: a sandbox-vmm guest's triple fault is seen by the test host's watch: ok"
  grep -q "CMD was cut short: still running 10s after a nested guest broke" "$share/first.out" ||
    fail "the job was not cut short after the nested fault"
  grep -q "RETRY: booting the test host again" "$share/first.out" || fail "the cut job was not run again"
  exits=$(ls "$SANDBOX_TESTHOST_INCIDENTS"/*-nested-triple-fault-*/status.nested-exits 2>/dev/null | head -n 1)
  grep -q "kvm_exit:" "${exits:-/dev/null}" || fail "the cut job's evidence lacks the nested exits before the fault"
  echo "selftest: a job that runs on after a nested guest broke is cut short, its evidence kept, and run again: ok"
fi
[ "$(cat "$share/marker" 2>/dev/null)" = "written inside" ] || fail "a write inside did not come back"
grep -q "hardware (AMD SVM, kvm_amd)\|hardware (Intel VMX, kvm_intel)" "$share/check.txt" ||
  fail "sandbox-rt check inside does not see hardware KVM: $(cat "$share/check.txt")"
grep -q "^\[ok  \] kvm-api" "$share/check.txt" || fail "KVM capabilities missing inside: $(cat "$share/check.txt")"
echo "selftest: exit status, shared writes, /dev/kvm, cgroup2 and /dev (fd, stdin, shm, pts): ok"

if [ "${SANDBOX_TESTHOST_MODE:-}" != direct ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
  set +e
  output=$("$here/run.sh" --timeout 10 -- sleep 1000 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 124 ] || fail "want 124 from a timed-out test host, got $rc"
  grep -q "timed out after 10s" <<<"$output" || fail "no timeout message: $output"
  echo "selftest: timeout kills the test host: ok"

  # A crash of the test host's kernel (a panic here; a triple fault in the
  # wild) is retried: the job panics on its first run only.
  set +e
  output=$("$here/run.sh" --timeout 120 -- bash -c \
    "[ -e '$share/crashed' ] && exit 5; touch '$share/crashed'; sync; echo c > /proc/sysrq-trigger; sleep 60" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 5 ] || fail "want 5 from the second boot after a crash, got $rc: $output"
  grep -q "RETRY: the test host failed" <<<"$output" || fail "no retry message: $output"
  set +e
  # The retries are bounded: with SANDBOX_TESTHOST_RETRY=1, two boots, no third.
  output=$(SANDBOX_TESTHOST_RETRY=1 "$here/run.sh" --timeout 120 -- bash -c "echo c > /proc/sysrq-trigger; sleep 60" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 125 ] || fail "want 125 from a test host that crashes twice, got $rc"
  [ "$(grep -c "without reporting CMD's status" <<<"$output")" -eq 2 ] || fail "want two crashes reported: $output"
  echo "selftest: a crashed test host is booted again, up to SANDBOX_TESTHOST_RETRY times: ok"
  # A wedged test host (its kernel stops: simulated by stopping the init's
  # heartbeat loop) is killed and booted once more; a hung job alone is not
  # (the timeout case above).
  set +e
  output=$(SANDBOX_TESTHOST_STALE_S=15 "$here/run.sh" --timeout 200 -- bash -c \
    "[ -e '$share/wedged' ] && exit 6; touch '$share/wedged'; kill -STOP \$(cat /run/testhost-heartbeat.pid); sleep 1000" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 6 ] || fail "want 6 from the second boot after a wedge, got $rc: $output"
  grep -q "no heartbeat for 15s" <<<"$output" || fail "no wedge message: $output"
  grep -q "RETRY: the test host failed" <<<"$output" || fail "no retry message: $output"
  wedge_dir=$(ls -d "$share"/incidents/*-wedge-* 2>/dev/null | tail -n 1)
  grep -q "LVTT" "${wedge_dir:-/nonexistent}/lapic.txt" 2>/dev/null ||
    fail "the wedge's evidence lacks the vCPUs' local APICs (lapic.txt in ${wedge_dir:-no incident dir})"
  echo "selftest: a wedged test host is killed and booted again, its vCPUs' local APICs kept: ok"

  # A stall is nudged before it counts as a wedge. The wedges seen under QEMU
  # TCG had vCPU 0 halted in the test host's idle loop with GIF clear, deaf to
  # interrupts and NMIs (stop 46). Here the job (on vCPU 1 where there are
  # two) holds the heartbeat, and this script clears vCPU 0's GIF in QEMU's
  # memory once that vCPU idles: the nudge must set GIF again and send the NMI
  # the job waits for before it lets the heartbeat go on. The boot goes on,
  # no retry.
  nudge_job='nmis() { awk "/^ *NMI:/ { for (i = 2; i <= NF; i++) if (\$i ~ /^[0-9]+\$/) n += \$i; print n + 0 }" /proc/interrupts; }
    [ "$(nproc)" -lt 2 ] || taskset -p 2 $$ > /dev/null
    before=$(nmis); kill -STOP $(cat /run/testhost-heartbeat.pid); touch "$SELFTEST_SHARE/held"
    for _ in $(seq 400); do [ "$(nmis)" -gt "$before" ] && break; sleep 0.25; done
    kill -CONT $(cat /run/testhost-heartbeat.pid)
    [ "$(nmis)" -gt "$before" ] || { echo "no NMI reached the test host"; exit 8; }
    sleep 8'
  SELFTEST_SHARE=$share SANDBOX_TESTHOST_NUDGE_S=8 SANDBOX_TESTHOST_STALE_S=90 \
    "$here/run.sh" --timeout 200 -- bash -c "$nudge_job" > "$share/nudge.out" 2>&1 &
  runner=$!
  for _ in $(seq 900); do [ -e "$share/held" ] && break; sleep 0.2; done
  qemu_pid=$(pgrep -P "$runner" -f qemu-system | head -n 1)
  monitor_socket=$(tr '\0' '\n' < "/proc/${qemu_pid:-0}/cmdline" 2>/dev/null | sed -n 's/^socket,id=monitor,path=\(.*\),server=on.*/\1/p')
  cleared=$(python3 - "$here" "$monitor_socket" "${qemu_pid:-0}" <<'PYTHON' 2>&1
import struct, sys, time
sys.path.insert(0, sys.argv[1])
import evidence
monitor_socket, pid = sys.argv[2:4]
for _ in range(50):
    states, _ = evidence.cpu_states(pid, monitor_socket, attempts=1)
    if 0 in states and states[0][3]:
        address, _, hflags2, _ = states[0]
        with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
            mem.seek(address + evidence.HFLAGS_OFFSET + 4)
            mem.write(struct.pack("<I", hflags2 & ~evidence.GIF))
        print("cleared")
        break
    time.sleep(0.1)
PYTHON
  )
  set +e
  wait "$runner"
  rc=$?
  set -e
  output=$(cat "$share/nudge.out")
  [ "$cleared" = cleared ] || fail "vCPU 0's GIF could not be cleared (QEMU pid ${qemu_pid:-none}): $cleared"
  [ "$rc" -eq 0 ] || fail "want 0 from a stalled test host that the nudge resumed, got $rc: $output"
  grep -q "no heartbeat for 8s: keeping the evidence, then setting GIF again" <<<"$output" || fail "no nudge message: $output"
  grep -q "nudge: CPU#0: halted in the test host's own context with GIF=0 .*set GIF" <<<"$output" ||
    fail "the nudge did not set vCPU 0's GIF again: $output"
  grep -q "resumed after the NMI" <<<"$output" || fail "no resume message: $output"
  ! grep -q "RETRY" <<<"$output" || fail "a stall that resumed was retried: $output"
  stall_dir=$(ls -d "$share"/incidents/*-stall-* 2>/dev/null | tail -n 1)
  grep -q "^resumed" "${stall_dir:-/nonexistent}/resumed.txt" 2>/dev/null ||
    fail "the stall's incident does not say it resumed (${stall_dir:-no incident dir})"
  # The evidence shows the interrupt gates the monitor does not.
  grep -q "^CPU#0: .*GIF=0.*HLT=1" "${stall_dir:-/nonexistent}/cpu-flags.txt" 2>/dev/null ||
    fail "the stall's evidence lacks vCPU 0's cleared GIF: $(cat "${stall_dir:-/nonexistent}/cpu-flags.txt" 2>&1)"
  echo "selftest: a test host stalled by a vCPU halted with GIF clear gets GIF back and an NMI, and goes on: ok"
fi
