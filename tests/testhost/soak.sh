#!/usr/bin/env bash
# Soak of the test host itself (label soak): boots it BOOTS times (default
# 30), never retried, each boot running one mixed job: `sandbox-rt run` of a
# busybox bundle on the shared filesystem, `runc run` of the same bundle,
# and 10 create/start/kill/delete cycles with varied configs. Prints each
# boot's outcome (ok, job-failed, wedged, crashed, hung) and the totals;
# fails unless every boot was ok. Evidence of each wedge or crash is kept by
# run.sh (it prints where).
#   soak.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [BOOTS]
set -euo pipefail
rt=$(realpath "${1:?usage: soak.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT [BOOTS]}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}") boots=${4:-30}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/testhost-soak.XXXXXX)
trap 'rm -rf "$work"' EXIT

guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
"$repo/rootfs-builder/busybox-bundle.sh" "$rt" "$work/run" /bin/sh -c 'echo ran; ls /bin | wc -l'
# variant NAME PYTHON: a bundle sharing run's rootfs whose process idles,
# with one config edit (`c` is config.json).
variant() {
  mkdir -p "$work/$1"
  python3 - "$work/run/config.json" "$work/$1/config.json" "$work/run/rootfs" "$2" <<'PY'
import json, sys
source, target, rootfs, edit = sys.argv[1:]
c = json.load(open(source))
c["root"]["path"] = rootfs
c["process"]["args"] = ["/bin/sh", "-c", "echo up > /dev/null; exec sleep 1000"]
exec(edit)
json.dump(c, open(target, "w"), indent=2)
PY
}
mkdir -p "$work/shared-dir" && echo shared > "$work/shared-dir/file"
variant plain 'pass'
variant readonly 'c["root"]["readonly"] = True'
variant user 'c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10]}; c["process"]["env"].append("X=y")'
variant memory 'c["linux"].setdefault("resources", {})["memory"] = {"limit": 67108864}; c["linux"]["resources"]["pids"] = {"limit": 64}'
variant hostname 'c["hostname"] = "soak"; c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=8m"]})'
variant caps 'c["process"]["capabilities"] = {k: ["CAP_CHOWN"] for k in ("bounding", "effective", "permitted")}'
variant cpu 'c["linux"].setdefault("resources", {})["cpu"] = {"quota": 50000, "period": 100000}'
variant bind "c['mounts'].append({'destination': '/host', 'type': 'bind', 'source': '$work/shared-dir', 'options': ['rbind', 'ro']})"
variant nonewprivs 'c["process"]["noNewPrivileges"] = False; c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]'
variant sysctl 'c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}'

cat > "$work/job.sh" <<JOB
set -u
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm"
rt="$rt" work="$work"
JOB
cat >> "$work/job.sh" <<'JOB'
root=/run/sandbox-rt-soak
failures=0
fail() { echo "soak job: FAIL: $*"; failures=$((failures + 1)); }
# why NAME ID: what the runtime said, and the sandbox's own logs, on one line.
why() {
  { grep -v -e "^sandbox-agent: seeded" -e fv_queue_thread "$work/$1.err"
    tail -n 5 "$root/$2/monitor.log" "$root/$2/vmm.log" "$root/$2/console.log" 2>/dev/null; } | tr "\n" " " | head -c 1500
}
state_of() { "$rt" --root "$root" state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
cd "$work/run"
out=$(timeout -k 10 300 "$rt" --root "$root" run soak-run < /dev/null 2> "$work/run.err") || fail "sandbox-rt run: $(tail -n 3 "$work/run.err")"
[ "$(echo "$out" | head -n 1)" = ran ] || fail "sandbox-rt run printed [$out]"
theirs=$(timeout -k 10 120 runc --root /run/runc-soak run soak-runc < /dev/null 2>&1) || fail "runc run: $theirs"
[ "$theirs" = "$out" ] || fail "runc printed [$theirs], sandbox-rt [$out]"
for name in plain readonly user memory hostname caps cpu bind nonewprivs sysctl; do
  id=soak-$name
  cd "$work/$name"
  timeout -k 10 300 "$rt" --root "$root" create "$id" < /dev/null > /dev/null 2> "$work/$name.err" ||
    { fail "$name: create: $(grep -v -e "^sandbox-agent: seeded" -e "fv_queue_thread" "$work/$name.err" | tr "\n" " " | head -c 1200)"; continue; }
  timeout -k 10 60 "$rt" --root "$root" start "$id" 2>> "$work/$name.err" || fail "$name: start: $(why "$name" "$id")"
  [ "$(state_of "$id")" = running ] || fail "$name: state after start is $(state_of "$id"): $(why "$name" "$id")"
  timeout -k 10 60 "$rt" --root "$root" kill "$id" KILL 2>> "$work/$name.err" || fail "$name: kill"
  for _ in $(seq 300); do [ "$(state_of "$id")" = stopped ] && break; sleep 0.2; done
  [ "$(state_of "$id")" = stopped ] || fail "$name: not stopped 60 s after KILL"
  timeout -k 10 60 "$rt" --root "$root" delete "$id" 2>> "$work/$name.err" || fail "$name: delete: $(tail -n 2 "$work/$name.err")"
done
left=$(ls "$root" 2>/dev/null | wc -l)
[ "$left" -eq 0 ] || { fail "$left state dirs left"; "$rt" --root "$root" list; }
echo "soak job: $failures failures"
exit $(( failures > 0 ))
JOB

declare -A count=([ok]=0 [job-failed]=0 [wedged]=0 [crashed]=0 [hung]=0)
started=$(date +%s) resumed_total=0
for boot in $(seq 1 "$boots"); do
  boot_started=$(date +%s)
  set +e
  SANDBOX_TESTHOST_RETRY=0 "$repo/tests/testhost/run.sh" --timeout 900 --mem 3072 -- bash "$work/job.sh" \
    > "$work/boot.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then outcome=ok
  elif [ "$rc" -eq 124 ]; then outcome=hung
  elif grep -q "stopped running: no heartbeat for" "$work/boot.log"; then outcome=wedged
  elif grep -q "without reporting CMD's status" "$work/boot.log"; then outcome=crashed
  else outcome=job-failed
  fi
  count[$outcome]=$((count[$outcome] + 1))
  # A stall that an NMI ended (run.sh's nudge) is counted apart: not a
  # wedge, but the emulator's fault all the same.
  resumed=$(grep -c "resumed after the NMI" "$work/boot.log" || true)
  resumed_total=$((resumed_total + resumed))
  printf 'soak: boot %2d/%d: %-10s %4ss%s\n' "$boot" "$boots" "$outcome" $(($(date +%s) - boot_started)) \
    "$([ "$resumed" -gt 0 ] && echo " ($resumed stalls resumed after an NMI)")"
  if [ "$outcome" != ok ]; then
    grep -E "soak job: FAIL|testhost: " "$work/boot.log" | tail -n 12 | sed 's/^/soak:   /'
  fi
done
echo "soak: $boots boots in $(($(date +%s) - started)) s: ok ${count[ok]}, job-failed ${count[job-failed]}," \
  "wedged ${count[wedged]}, crashed ${count[crashed]}, hung ${count[hung]}; stalls resumed after an NMI: $resumed_total"
[ "${count[ok]}" -eq "$boots" ]
