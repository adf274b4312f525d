#!/usr/bin/env bash
# Runs on a lent machine from a bundle made by make-bundle.sh: reports whether
# /dev/kvm is hardware KVM and, when it is, runs a container in a microVM
# directly (no test host) and times `run /bin/true` against runc and crun.
#   check.sh [N]
set -uo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
runs=${1:-10}
echo "== machine"
uname -srm; echo "cpus: $(nproc)"; grep -m1 'model name' /proc/cpuinfo
echo "virtualization flag: $(grep -o -m1 -w -E 'vmx|svm' /proc/cpuinfo || echo none)"
ls -l /dev/kvm 2>&1; ls /sys/module | grep -E '^kvm' || echo "no kvm modules"
echo "cgroup fs: $(stat -fc %T /sys/fs/cgroup 2>&1)"
if [ ! -e /dev/kvm ] || [ -d /sys/module/kvm_pvm ] || ! { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
  echo "RESULT: no hardware KVM here"
  exit 0
fi
export PATH=$dir/bin:$PATH SANDBOX_RT_GUEST_DIR=$dir/guest SANDBOX_RT_VMM=$dir/bin/sandbox-vmm
root=/run/sandbox-rt-device
echo "== hello"
(cd "$dir/hello-bundle" && timeout 120 sandbox-rt --root "$root" run hello1 < /dev/null); echo "exit $?"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
time_runs() {  # NAME ARGV-PREFIX...
  local name=$1 times=() i start; shift
  for i in $(seq "$runs"); do
    start=$(now_ms)
    (cd "$dir/true-bundle" && timeout 120 "$@" "bench-$i" < /dev/null > /dev/null 2> "$dir/$name.err") ||
      { echo "$name run failed: $(tail -n 3 "$dir/$name.err")"; return; }
    times+=($(( $(now_ms) - start )))
  done
  echo "$name run /bin/true: median $(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p") ms (N=$runs: ${times[*]})"
}
echo "== run /bin/true"
time_runs sandbox-rt sandbox-rt --root "$root" run
time_runs runc runc --root /run/runc-device run
time_runs crun crun --root /run/crun-device run
echo "== sandbox-rt phases (create, start, wait, delete)"
cd "$dir/true-bundle"
start=$(now_ms); sandbox-rt --root "$root" create --pid-file "$dir/pid" parts < /dev/null > /dev/null; echo "create $(( $(now_ms) - start )) ms"
start=$(now_ms); sandbox-rt --root "$root" start parts; echo "start $(( $(now_ms) - start )) ms"
while kill -0 "$(cat "$dir/pid")" 2>/dev/null; do sleep 0.01; done
grep phase "$root/parts/monitor.log"
start=$(now_ms); sandbox-rt --root "$root" delete parts; echo "delete $(( $(now_ms) - start )) ms"
echo "leftovers: $(ls "$root" 2>/dev/null) $(pgrep -x sandbox-vmm)"
echo "RESULT: hardware KVM checked"
