#!/usr/bin/env bash
# e2e test of containerd-shim-sandbox-rt-v2 under containerd 1.6 (Debian's),
# through the test host: `ctr run --runtime io.containerd.sandbox-rt.v2` of a
# busybox image imported from an OCI archive:
# - run: output, stderr, exit code, and a kernel that is not the host's;
# - run -d: task exec (output, status, stdin), ps, pause/resume (the task's
#   status), metrics (the guest cgroup's memory), kill (a trap sees
#   SIGTERM), delete (the exit status), container delete;
# - a terminal run whose size reaches the container;
# - a container over its memory limit: OOM-killed, TaskOOM published;
# - failures: sandbox-vmm killed (the task stops with 255), the shim killed
#   (containerd's delete path cleans up);
# and at the end no shim, sandbox-vmm or virtiofsd process, no mount and no
# state of the shim left. containerd runs with its own config, root, state
# and socket on a tmpfs, and is stopped at the end.
#   shim_e2e.sh SHIM SANDBOX_VMM SANDBOX_AGENT
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shim=$(realpath "${1:?usage: shim_e2e.sh SHIM SANDBOX_VMM SANDBOX_AGENT}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}")
for tool in containerd ctr umoci script; do
  command -v "$tool" > /dev/null || { echo "shim_e2e: $tool is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
. "$repo/tests/lib/containerd-e2e.sh"
containerd_e2e_workdir shim-e2e
containerd_e2e_prepare "$work" "$shim" "$agent"

containerd_e2e_inner_header SHIM_E2E_QUICK="${SHIM_E2E_QUICK:-}"
cat >> "$work/inner.sh" <<'INNER'
t() { timeout -k 10 300 "$@"; }
tmp="$work/tmpfs"
mkdir -p "$tmp" && mount -t tmpfs tmpfs "$tmp"
mkdir -p "$tmp/containerd/tmp" "$tmp/fifo"
address="$tmp/containerd/containerd.sock"
ns=shim-e2e
cat > "$tmp/containerd/config.toml" <<CONF
version = 2
root = "$tmp/containerd/root"
state = "$tmp/containerd/state"
temp = "$tmp/containerd/tmp"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$address"
[ttrpc]
  address = "$address.ttrpc"
CONF
containerd --config "$tmp/containerd/config.toml" > "$work/containerd.log" 2>&1 &
containerd_pid=$!
cleanup() {
  for id in $(c containers ls -q 2>/dev/null); do
    c tasks kill -s SIGKILL "$id" > /dev/null 2>&1; c tasks delete -f "$id" > /dev/null 2>&1
    c containers delete "$id" > /dev/null 2>&1
  done
  kill -TERM "$containerd_pid" 2>/dev/null; wait "$containerd_pid" 2>/dev/null
  umount -R "$tmp" 2>/dev/null
}
c() { t ctr --address "$address" --namespace "$ns" "$@"; }
wait_until 30 c version > /dev/null 2>&1
c images import "$work/busybox.tar" > /dev/null; check "ctr images import" 0 $?
image=$(c images ls -q | head -n 1)
run=(--runtime io.containerd.sandbox-rt.v2 --fifo-dir "$tmp/fifo")
status_of() { c tasks ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
stopped() { [ "$(status_of "$1")" = STOPPED ]; }

# run: output, stderr, exit code, the guest's own kernel.
c run --rm "${run[@]}" "$image" r1 sh -c 'echo hello from the vm; echo to-stderr >&2; uname -r; exit 3' \
  > "$work/r1.out" 2> "$work/r1.err" < /dev/null
check "ctr run: exit code" 3 $?
check "ctr run: stdout" "hello from the vm" "$(head -n 1 "$work/r1.out")"
check "ctr run: stderr" to-stderr "$(cat "$work/r1.err")"
guest_kernel=$(sed -n 2p "$work/r1.out")
[ -n "$guest_kernel" ] && [ "$guest_kernel" != "$(uname -r)" ]; rc=$?
check "ctr run: the container's kernel ($guest_kernel) is not the test host's ($(uname -r))" 0 $rc

if [ -n "${SHIM_E2E_QUICK:-}" ]; then  # developing: the first run only
  cleanup; grep -v -e "before the guest driver" -e "level=info msg=\"loading plugin" "$work/containerd.log" | tail -n 80; exit $(( failures > 0 ))
fi

# run -d, then exec, ps, pause/resume, metrics, kill, delete.
rm -f "$work/r2.log"  # containerd appends: a retried test host's run must not see the first's
c run -d "${run[@]}" --log-uri "file://$work/r2.log" "$image" r2 \
  sh -c 'trap "echo got-term; exit 9" TERM; echo ready; while true; do sleep 0.2; done' < /dev/null
check "ctr run -d" 0 $?
check "ctr run -d: RUNNING" RUNNING "$(status_of r2)"
wait_until 60 grep -qx ready "$work/r2.log"; check "ctr run -d: the container's output" 0 $?
out=$(c tasks exec "${run[@]:2}" --exec-id e1 r2 sh -c 'echo in-exec; exit 6' < /dev/null)
check "ctr task exec: exit status" 6 $?
check "ctr task exec: output" in-exec "$out"
# ctr 1.6 asks CloseIO at its stdin's EOF only once its Exec call has
# returned (it sets its closer after task.Exec): an EOF before that is never
# passed on, and the shim (like runc's) keeps the exec's stdin open until
# CloseIO. So the EOF comes after the process said it runs.
{ echo piped; wait_until 120 grep -q running "$work/e2.err"; } |
  c tasks exec "${run[@]:2}" --exec-id e2 r2 sh -c 'echo running >&2; cat' > "$work/e2.out" 2> "$work/e2.err"
check "ctr task exec: stdin ($(cat "$work/e2.err"))" piped "$(cat "$work/e2.out")"
[ "$(c tasks ps r2 | tail -n +2 | wc -l)" -ge 1 ]; check "ctr task ps lists processes" 0 $?
c tasks pause r2; check "ctr task pause" 0 $?
check "paused: PAUSED" PAUSED "$(status_of r2)"
c tasks resume r2; check "ctr task resume" 0 $?
check "resumed: RUNNING" RUNNING "$(status_of r2)"
c tasks metrics r2 > "$work/metrics" 2>&1; check "ctr task metrics" 0 $?
grep -Eq 'memory\.usage_in_bytes +[1-9]|memory.usage +[1-9]' "$work/metrics"; rc=$?
check "ctr task metrics: the guest cgroup's memory usage ($(tr '\n' ' ' < "$work/metrics"))" 0 $rc
c tasks kill r2; check "ctr task kill" 0 $?
wait_until 60 stopped r2; check "killed: STOPPED" STOPPED "$(status_of r2)"
grep -qx got-term "$work/r2.log"; check "SIGTERM reached the container's trap" 0 $?
c tasks delete r2 2> "$work/r2-delete.err"; check "ctr task delete" 0 $?
grep -q "exit code 9" "$work/r2-delete.err"; rc=$?
check "ctr task delete: exit status 9 ($(cat "$work/r2-delete.err"))" 0 $rc
c containers delete r2; check "ctr container delete" 0 $?

# A terminal: the size ctr gives (ResizePty, right after Start) reaches the container's pty.
cat > "$work/tty.sh" <<TTY
stty rows 33 cols 77
exec ctr --address $address --namespace $ns run -t --rm ${run[*]} $image r3 \\
  sh -c 'for i in \$(seq 100); do s=\$(stty size); [ "\$s" != "0 0" ] && break; sleep 0.2; done; echo "size \$s"'
TTY
script -qec "bash $work/tty.sh" /dev/null < /dev/null > "$work/r3.out" 2>&1
check "ctr run -t: the terminal's size inside ($(tr -d '\r' < "$work/r3.out" | tr '\n' ' '))" "size 33 77" \
  "$(tr -d '\r\0' < "$work/r3.out" | grep -aoE 'size [0-9]+ [0-9]+' | tail -n 1)"

# Over its memory limit: the guest kernel OOM-kills in the container's cgroup
# (the VM is sized limit + overhead, so the VM itself has room) and
# containerd gets TaskOOM, which `ctr events` decodes and prints.
timeout -k 10 600 ctr --address "$address" events > "$work/events.log" 2>&1 &
events_pid=$!
c run --rm "${run[@]}" --memory-limit 67108864 "$image" r6 sh -c 'exec dd if=/dev/zero of=/dev/null bs=128M count=1' \
  > "$work/r6.out" 2>&1 < /dev/null
rc=$?
check "over the memory limit: killed (exit status; $(head -c 200 "$work/r6.out"))" 137 $rc
oom_event() { grep "/tasks/oom" "$work/events.log" | grep -q '"r6"'; }
wait_until 30 oom_event; rc=$?
check "over the memory limit: TaskOOM reached containerd ($(grep /tasks/oom "$work/events.log"))" 0 $rc
kill "$events_pid" 2>/dev/null; wait "$events_pid" 2>/dev/null

# sandbox-vmm killed: the task stops with 255.
c run -d "${run[@]}" "$image" r4 sh -c 'while true; do sleep 1; done' < /dev/null
vmm_pid=$(pgrep -f "sandbox-vmm --config /run/sandbox-rt-shim/$ns/r4/")
kill -9 $vmm_pid
wait_until 60 stopped r4; check "sandbox-vmm killed: STOPPED" STOPPED "$(status_of r4)"
# An exec into it is refused at once (it hung until ctr's timeout when the shim took it).
c tasks exec "${run[@]:2}" --exec-id late r4 true < /dev/null > "$work/r4-exec.err" 2>&1; rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q "not running" "$work/r4-exec.err"; ok=$?
check "exec into a stopped task: refused (rc $rc: $(head -c 300 "$work/r4-exec.err"))" 0 $ok
c tasks delete r4 2> "$work/r4-delete.err"
grep -q "exit code 255" "$work/r4-delete.err"; rc=$?
check "sandbox-vmm killed: exit status 255 ($(cat "$work/r4-delete.err"))" 0 $rc
c containers delete r4 > /dev/null

# The shim killed: containerd's delete runs the shim's delete action.
c run -d "${run[@]}" "$image" r5 sh -c 'while true; do sleep 1; done' < /dev/null
kill -9 "$(pgrep -f -- "-id r5 -socket")"
# containerd notices the dead shim, runs its delete and drops the task (or shows it STOPPED).
gone_or_stopped() { [ "$(status_of "$1")" != RUNNING ]; }
wait_until 60 gone_or_stopped r5; check "shim killed: the task is no longer RUNNING" 0 $?
c tasks delete r5 > /dev/null 2>&1
c containers delete r5; check "shim killed: container delete" 0 $?

check "no container left" "" "$(c containers ls -q)"
cleanup
check "no shim left" "" "$(pgrep -f containerd-shim-sandbox-rt-v2)"
check "no sandbox-vmm left" "" "$(pgrep -f "sandbox-vmm --config /run/sandbox-rt-shim")"
check "no virtiofsd of a pod left" "" "$(pgrep -f "virtiofsd.*sandbox-rt-shim")"
check "no state of the shim left" "" "$(ls -A "/run/sandbox-rt-shim/$ns" 2>/dev/null)"
check "no mount of the test's containerd left" "" "$(grep -F "$tmp" /proc/self/mounts)"
[ "$failures" -eq 0 ] || { echo "--- containerd log"; tail -n 40 "$work/containerd.log"; }
echo "shim_e2e: $failures failures"
exit $(( failures > 0 ))
INNER
"$repo/tests/testhost/run.sh" --timeout 900 --mem 3072 -- bash "$work/inner.sh"
