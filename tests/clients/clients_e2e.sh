#!/usr/bin/env bash
# e2e test of an OCI runtime under the real clients from Debian:
# - podman 4.3 (--runtime RUNTIME): run (exit code, stdout, stderr), run -d,
#   exec, stop, start (a file written in the first run is still there), rm -f,
#   and a terminal run (podman run -it inside script(1));
# - containerd 1.6 with its runc shim (io.containerd.runc.v2) and
#   `ctr run --runc-binary RUNTIME`: run, run -d, task exec, task ps, task
#   kill, task delete, container delete; containerd's default spec unchanged
#   (the container gets exactly its capabilities and read-only paths);
# and at the end nothing of the runtime left under the roots the clients
# point it at, no container cgroup, no shim or conmon, no runtime process.
#
# Each client gets private storage on a tmpfs the test mounts (podman:
# --root/--runroot/--tmpdir and its own containers.conf; containerd: its own
# config, root, state and socket), so the developer's images and containers
# are never touched; the image is a busybox OCI archive built offline (umoci).
#
#   clients_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT
#       sandbox-rt as the runtime, through the test host (tests/testhost/run.sh);
#       this is what ctest runs (label e2e).
#   clients_e2e.sh --direct RUNTIME
#       RUNTIME (a path or a name on PATH, e.g. runc) right here, as root,
#       without the test host: for developing the test itself.
set -euo pipefail
usage="usage: clients_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT | clients_e2e.sh --direct RUNTIME"
repo=$(cd "$(dirname "$0")/../.." && pwd)
direct=0
if [ "${1:-}" = --direct ]; then
  direct=1
  rt=$(realpath "$(type -P "${2:?$usage}" || echo "$2")")
else
  rt=$(realpath "${1:?$usage}")
  vmm=$(realpath "${2:?$usage}") agent=$(realpath "${3:?$usage}")
fi
for tool in podman conmon containerd ctr containerd-shim-runc-v2 umoci script unshare; do
  command -v "$tool" > /dev/null || { echo "clients_e2e: $tool is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/clients-e2e.XXXXXX)
# The inner script unmounts its tmpfs itself; this is for an inner run that was killed.
trap 'umount -R "$work/tmpfs" 2>/dev/null || true; rm -rf --one-file-system "$work"' EXIT

# The image: busybox as an OCI archive that both `podman load` and `ctr
# images import` take.
"$repo/tests/lib/busybox-oci-archive.sh" "$work/busybox.tar"

if [ "$direct" -eq 0 ]; then
  guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
  # Nested under TCG a guest can take more than the default 60 s to boot.
  echo '{"boot_timeout_ms": 180000}' > "$work/runtime.json"
fi

cat > "$work/inner.sh" <<INNER
set -u
rt="$rt"
work="$work"
INNER
if [ "$direct" -eq 0 ]; then
  cat >> "$work/inner.sh" <<INNER
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm" SANDBOX_RT_CONFIG="$work/runtime.json"
INNER
fi
cat >> "$work/inner.sh" <<'INNER'
[ "$(id -u)" -eq 0 ] || { echo "clients_e2e: must run as root" >&2; exit 2; }
failures=0
checks=0
check() {  # check NAME EXPECTED ACTUAL
  checks=$((checks + 1))
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
# Every client call has a time limit, so a hang fails its check instead of eating the run.
t() { timeout -k 10 300 "$@"; }
# wait_until SECONDS COMMAND...: until COMMAND succeeds; status 1 on timeout.
wait_until() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.2; done
}
# cap_mask CAP...: the hex mask /proc/PID/status shows for these capabilities.
cap_mask() {
  python3 - "$@" <<'PY'
import sys
names = ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
         "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT "
         "SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE "
         "AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ "
         "PERFMON BPF CHECKPOINT_RESTORE").split()
print("%016x" % sum(1 << names.index(c.removeprefix("CAP_")) for c in sys.argv[1:]))
PY
}

# --- private state on a tmpfs, and cleanup whatever happens -------------------
tmp="$work/tmpfs"
ns=clients-e2e                       # containerd namespace (and its cgroup parent)
address="$tmp/containerd/containerd.sock"
containerd_pid=
# Host paths the clients create outside their private dirs, removed at the
# end when they did not exist before: the runtime's default root, which
# podman uses (/run/runc, /run/sandbox-rt), containerd's shim sockets and
# the runc shim's runtime root (fixed under /run/containerd), the cgroup
# parents (podman's libpod_parent, containerd's /<namespace>), and
# /var/lib/containers (see podman_load).
rt_default_root="/run/$(basename "$rt")"
[ -e "$rt_default_root" ] && had_rt_default_root=1 || had_rt_default_root=0
[ -e /run/containerd ] && had_run_containerd=1 || had_run_containerd=0
[ -e /var/lib/containers ] && had_var_lib_containers=1 || had_var_lib_containers=0
cgroup_parents_before=$(ls -d /sys/fs/cgroup/{,*/}{libpod_parent,"$ns"} 2>/dev/null || true)
mkdir -p "$tmp"
mount -t tmpfs -o size=1g,mode=0700 clients-e2e "$tmp"
mkdir -p "$tmp/podman/root" "$tmp/podman/runroot" "$tmp/podman/tmp" "$tmp/containerd/fifo"

cleanup() {
  set +e
  [ -n "${podman[*]:-}" ] && t "${podman[@]}" rm -a -f -t 0 > /dev/null 2>&1
  if [ -n "$containerd_pid" ]; then
    local id
    for id in $(t "${ctr[@]}" containers ls -q 2>/dev/null); do
      t "${ctr[@]}" tasks kill -s SIGKILL "$id" > /dev/null 2>&1
      t "${ctr[@]}" tasks delete -f "$id" > /dev/null 2>&1
      t "${ctr[@]}" containers delete "$id" > /dev/null 2>&1
    done
    stop_containerd
  fi
  # Shims and conmons left by this run: their command lines name its socket / storage.
  local pid
  for pid in $(pgrep -f -- "-address $address") $(pgrep -f -- "conmon .*$tmp/podman"); do kill -KILL "$pid"; done
  umount -R "$tmp" 2>/dev/null || umount -R -l "$tmp"
  rmdir "$tmp"
  local dir
  for dir in /sys/fs/cgroup/{,*/}{libpod_parent,"$ns"}; do
    [ -d "$dir" ] && ! grep -qx "$dir" <<< "$cgroup_parents_before" && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  [ "$had_rt_default_root" -eq 0 ] && rmdir "$rt_default_root" 2>/dev/null
  if [ "$had_run_containerd" -eq 0 ] && [ -d /run/containerd ]; then
    find /run/containerd -depth -type d -empty -delete 2>/dev/null
  fi
  [ "$had_var_lib_containers" -eq 0 ] && rmdir /var/lib/containers 2>/dev/null
}
trap cleanup EXIT

stop_containerd() {
  kill -TERM "$containerd_pid" 2>/dev/null
  local i
  for i in $(seq 100); do kill -0 "$containerd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$containerd_pid" 2>/dev/null
  wait "$containerd_pid" 2>/dev/null
  containerd_pid=
}

# What the runtime lists under the root podman gives it (none: its default)
# and under the runc shim's (/run/containerd/runc/<namespace>).
runtime_list() { t "$rt" "$@" list -q 2>/dev/null | sort; }
podman_runtime_before=$(runtime_list)

# --- podman ---------------------------------------------------------------------
# Its own containers.conf: no shm lock segment (/dev/shm/libpod_lock), events
# and network configs on the tmpfs, the k8s-file log (`podman logs` without
# journald), and the runtime's environment: conmon passes only
# conmon_env_vars to the runtime (create, exec), so sandbox-rt's SANDBOX_RT_*
# go there. (podman's own runtime calls, start/kill/delete, get nothing but
# PATH and XDG_RUNTIME_DIR.)
conmon_env="\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\""
for var in $(compgen -e | grep '^SANDBOX_RT_' || true); do conmon_env+=", \"$var=${!var}\""; done
# podman asks for RLIMIT_NOFILE/NPROC 1048576 when it runs as root, which
# needs CAP_SYS_RESOURCE beyond the hard limits; where root lacks it (some
# CI sandboxes) the container gets lower limits instead, and lowering needs
# no capability. The test host has it: there podman's defaults apply.
cap_eff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
ulimits=
(( (0x$cap_eff >> 24) & 1 )) || ulimits='default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]'
cat > "$tmp/podman/containers.conf" <<CONF
[containers]
log_driver = "k8s-file"
$ulimits
[engine]
cgroup_manager = "cgroupfs"
lock_type = "file"
events_logger = "file"
events_logfile_path = "$tmp/podman/events.log"
image_copy_tmp_dir = "$tmp/podman/tmp"
conmon_env_vars = [$conmon_env]
[network]
network_config_dir = "$tmp/podman/networks"
CONF
podman=(env CONTAINERS_CONF="$tmp/podman/containers.conf" TMPDIR="$tmp/podman/tmp"
        podman --root "$tmp/podman/root" --runroot "$tmp/podman/runroot" --tmpdir "$tmp/podman/tmp"
        --storage-driver vfs --cgroup-manager cgroupfs --runtime "$rt")
p() { t "${podman[@]}" "$@"; }
# podman writes a blob-info cache to /var/lib/containers/cache whatever
# --root says: the load runs in a mount namespace of its own where a tmpfs
# hides that directory.
podman_load() {
  mkdir -p /var/lib/containers
  t unshare --mount --propagation private bash -c 'mount -t tmpfs none /var/lib/containers && exec "$@"' \
    bash "${podman[@]}" load -i "$1"
}
pstate() { p inspect --format "{{.State.$2}}" "$1" 2>&1; }
podman_log_has() { [ "$(p logs "$1" 2>/dev/null | grep -c "^$2\$")" -ge "$3" ]; }
# podman_ready NAME N: its log has N "ready" lines; stops waiting once it is not running.
podman_ready() { wait_until 120 podman_ready_or_gone "$1" "$2"; podman_log_has "$1" ready "$2"; }
podman_ready_or_gone() { podman_log_has "$1" ready "$2" || [ "$(pstate "$1" Status)" != running ]; }

podman_tests() {
  podman_load "$work/busybox.tar" > "$tmp/podman/load.out" 2>&1; check "podman load of the OCI archive" 0 $?
  local image
  image=$(p images --format '{{.ID}}' | head -n 1)
  local run=(--network none)

  # run: exit code, stdout and stderr apart.
  p run --rm "${run[@]}" "$image" sh -c 'echo hello from podman; echo to-stderr >&2; exit 3' \
    > "$work/p-run.out" 2> "$work/p-run.err" < /dev/null
  check "podman run exit code" 3 $?
  check "podman run stdout" "hello from podman" "$(cat "$work/p-run.out")"
  check "podman run stderr" "to-stderr" "$(cat "$work/p-run.err")"

  # run -d: the first run writes /runs; SIGTERM ends it with status 7.
  local script='echo run >> /runs; trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.2; done'
  local id
  id=$(p run -d --name p1 "${run[@]}" "$image" sh -c "$script" < /dev/null); check "podman run -d exit" 0 $?
  check "podman run -d: running" running "$(pstate p1 Status)"
  check "the runtime lists podman's container (default root)" 1 "$(runtime_list | grep -cx "$id")"
  podman_ready p1 1; check "podman run -d: container output in podman logs" 0 $?

  # exec: its output, exit status, stdin, user/cwd/env; it writes a file too.
  local out
  out=$(p exec p1 sh -c 'cat /runs; echo exec-wrote > /from-exec; exit 6' < /dev/null)
  check "podman exec exit status" 6 $?
  check "podman exec sees the container's files" run "$out"
  check "podman exec -i relays stdin" piped "$(echo piped | p exec -i p1 cat)"
  check "podman exec -u/-w/-e" "1000|/tmp|exec" \
    "$(p exec -u 1000 -w /tmp -e WHO=exec p1 sh -c 'echo "$(id -u)|$(pwd)|$WHO"' < /dev/null)"

  # stop: SIGTERM reaches the container's trap.
  p stop -t 60 p1 > /dev/null; check "podman stop exit" 0 $?
  check "podman stop: exited" exited "$(pstate p1 Status)"
  check "podman stop: SIGTERM reached the container (its trap's status)" 7 "$(pstate p1 ExitCode)"
  podman_log_has p1 got-term 1; check "podman stop: the trap's output in podman logs" 0 $?

  # start: the same rootfs, so /runs has both runs and /from-exec is there.
  p start p1 > /dev/null; check "podman start exit" 0 $?
  check "podman start: running" running "$(pstate p1 Status)"
  podman_ready p1 2; check "podman start: the container ran again" 0 $?
  check "podman start: files written before stop are still there" "run
run
exec-wrote" "$(p exec p1 cat /runs /from-exec < /dev/null)"

  # rm -f of the running container.
  p rm -f p1 > /dev/null; check "podman rm -f exit" 0 $?
  check "podman rm -f: no container left" "" "$(p ps -a -q)"
  check "podman rm -f: the runtime no longer lists it" 0 "$(runtime_list | grep -cx "$id")"

  # A terminal: script(1) gives podman one (33x111); typed input reaches the
  # container. script's stdin is a fifo that never ends (at EOF script would
  # type its EOF character into the terminal).
  mkfifo "$work/tty.fifo"
  exec 9<> "$work/tty.fifo"
  printf 'typed\n' >&9
  local cmd
  cmd="stty rows 33 cols 111; $(printf '%q ' "${podman[@]}") run -it --rm ${run[*]} $image"
  cmd+=" sh -c 'tty; stty size; read line; echo got:\$line; exit 5'"
  t script -qec "$cmd" /dev/null < "$work/tty.fifo" > "$work/p-tty.out" 2>&1
  check "podman run -it exit code" 5 $?
  exec 9>&-
  check "podman run -it: a pty, its size, typed input" "/dev/pts/0|33 111|got:typed|" \
    "$(tr -d '\r' < "$work/p-tty.out" | grep -xE '/dev/pts/0|33 111|got:typed' | tr '\n' '|')"
  check "podman run -it: removed" "" "$(p ps -a -q)"
}

# --- containerd ------------------------------------------------------------------
ctr=(ctr --address "$address" --namespace "$ns")
c() { t "${ctr[@]}" "$@"; }
start_containerd() {
  # Its own config: everything under the tmpfs; no CRI plugin (not used, and
  # it would want CNI and a sandbox image).
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
[plugins."io.containerd.internal.v1.opt"]
  path = "$tmp/containerd/opt"
CONF
  mkdir -p "$tmp/containerd/tmp"
  containerd --config "$tmp/containerd/config.toml" > "$tmp/containerd/log" 2>&1 &
  containerd_pid=$!
  wait_until 30 c version > /dev/null 2>&1
}

ctr_task_status() { c tasks ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
ctr_task_gone() { [ "$(ctr_task_status "$1")" != RUNNING ]; }
ctr_ready_or_gone() { grep -qx ready "$2" 2>/dev/null || ctr_task_gone "$1"; }  # ID LOG
ctr_tests() {
  start_containerd; check "containerd answers on its own socket" 0 $?
  c images import "$work/busybox.tar" > /dev/null; check "ctr images import of the OCI archive" 0 $?
  local image
  image=$(c images ls -q | head -n 1)
  # overlayfs where the kernel has it (not in the test host), else native.
  local snapshotter=overlayfs
  [ "$(c plugins ls | awk '$1 == "io.containerd.snapshotter.v1" && $2 == "overlayfs" {print $4}')" = ok ] || snapshotter=native
  echo "containerd snapshotter: $snapshotter"
  local run=(--snapshotter "$snapshotter" --runc-binary "$rt" --fifo-dir "$tmp/containerd/fifo")
  local exec=(--fifo-dir "$tmp/containerd/fifo")

  # run: exit code, stdout and stderr apart.
  c run --rm "${run[@]}" "$image" c1 sh -c 'echo hello from ctr; echo to-stderr >&2; exit 4' \
    > "$work/c-run.out" 2> "$work/c-run.err" < /dev/null
  check "ctr run exit code" 4 $?
  check "ctr run stdout" "hello from ctr" "$(cat "$work/c-run.out")"
  check "ctr run stderr" "to-stderr" "$(cat "$work/c-run.err")"

  # run -d, its output to a file; SIGTERM ends it with status 9.
  rm -f "$work/c2.log"  # containerd appends: a retried test host's run must not see the first's
  c run -d "${run[@]}" --log-uri "file://$work/c2.log" "$image" c2 \
    sh -c 'echo started > /tmp/marker; trap "echo got-term; exit 9" TERM; echo ready; while true; do sleep 0.2; done' < /dev/null
  check "ctr run -d exit" 0 $?
  check "ctr run -d: running" RUNNING "$(ctr_task_status c2)"
  check "the runtime lists the shim's container (--root /run/containerd/runc/$ns)" c2 \
    "$(runtime_list --root "/run/containerd/runc/$ns")"
  wait_until 120 ctr_ready_or_gone c2 "$work/c2.log"
  grep -qx ready "$work/c2.log"; check "ctr run -d: the container's output" 0 $?

  # The container got containerd's default spec: its capabilities and read-only paths.
  c containers info c2 > "$work/c2.info"
  local caps
  caps=$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["Spec"]["process"]["capabilities"]["effective"]))' "$work/c2.info")
  check "containerd's default spec: the container's capabilities" "$(cap_mask $caps)" \
    "$(c tasks exec "${exec[@]}" --exec-id caps c2 sh -c 'grep ^CapEff: /proc/1/status | cut -f2' < /dev/null)"
  grep -q '"/proc/sys"' "$work/c2.info"; check "containerd's default spec lists /proc/sys read-only" 0 $?
  check "containerd's default spec: /proc/sys mounted read-only" ro \
    "$(c tasks exec "${exec[@]}" --exec-id ro c2 sh -c 'awk "\$2 == \"/proc/sys\" {split(\$4, o, \",\"); print o[1]}" /proc/mounts' < /dev/null)"

  # task exec: output, exit status, stdin; the init's file is there.
  local out
  out=$(c tasks exec "${exec[@]}" --exec-id e1 c2 sh -c 'cat /tmp/marker; exit 6' < /dev/null)
  check "ctr task exec exit status" 6 $?
  check "ctr task exec sees the container's files" started "$out"
  # The EOF only once the process runs: ctr 1.6 passes an earlier one on to
  # no one (its CloseIO closer is set after its Exec call returns), and the
  # runc shim keeps the exec's stdin open until CloseIO.
  { echo piped; wait_until 120 grep -q running "$work/e2.err"; } |
    c tasks exec "${exec[@]}" --exec-id e2 c2 sh -c 'echo running >&2; cat' > "$work/e2.out" 2> "$work/e2.err"
  check "ctr task exec relays stdin ($(cat "$work/e2.err"))" piped "$(cat "$work/e2.out")"
  [ "$(c tasks ps c2 | tail -n +2 | wc -l)" -ge 1 ]; check "ctr task ps lists the container's processes" 0 $?

  # task kill (SIGTERM), task delete (reports the status), container delete.
  c tasks kill c2; check "ctr task kill exit" 0 $?
  wait_until 60 ctr_task_gone c2
  check "ctr task kill: stopped" STOPPED "$(ctr_task_status c2)"
  check "ctr task kill: SIGTERM reached the container's trap" "ready
got-term" "$(cat "$work/c2.log")"
  c tasks delete c2 2> "$work/c2-delete.err"; check "ctr task delete exit" 0 $?
  grep -q "exit code 9" "$work/c2-delete.err"; check "ctr task delete: the container's exit status (9)" 0 $?
  check "ctr task delete: no task left" "" "$(ctr_task_status c2)"
  c containers delete c2; check "ctr container delete exit" 0 $?

  # ctr run in the foreground, SIGKILLed through ctr task kill: status 137.
  mkfifo "$work/c3.fifo"
  c run "${run[@]}" "$image" c3 sh -c 'echo ready; while true; do sleep 0.2; done' > "$work/c3.fifo" < /dev/null &
  local run_pid=$! line=
  exec 8< "$work/c3.fifo"
  read -r -t 120 line <&8; check "ctr run c3 started" ready "$line"
  c tasks kill -s SIGKILL c3; check "ctr task kill -s SIGKILL exit" 0 $?
  wait "$run_pid"; check "ctr run exit code after SIGKILL" 137 $?
  exec 8<&-
  c containers delete c3; check "ctr container delete c3" 0 $?

  check "containerd: no container left" "" "$(c containers ls -q)"
  check "containerd: no container snapshot left (only the image's)" "" \
    "$(c snapshots --snapshotter "$snapshotter" ls | grep -w Active)"
  check "the runtime lists nothing under the runc shim's root" "" "$(runtime_list --root "/run/containerd/runc/$ns")"
  stop_containerd
  check "no runc shim of this containerd left" "" "$(pgrep -f -- "-address $address")"
}

podman_tests
ctr_tests

# --- nothing of the runtime left --------------------------------------------------
check "the runtime lists under podman's root what it listed before" "$podman_runtime_before" "$(runtime_list)"
check "no conmon left" "" "$(pgrep -f -- "conmon .*$tmp/podman")"
check "no container cgroup left" "" \
  "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d \( -path "*/libpod_parent/libpod-*" -o -path "*/$ns/*" \) 2>/dev/null)"
# A process still running the runtime (or sandbox-rt's VMM) binary.
leftover=
for exe in /proc/[0-9]*/exe; do
  target=$(readlink "$exe" 2>/dev/null) || continue
  if [ "$target" = "$rt" ] || { [ -n "${SANDBOX_RT_VMM:-}" ] && [ "$target" = "$SANDBOX_RT_VMM" ]; }; then
    leftover+="$(basename "$(dirname "$exe")") "
  fi
done
check "no runtime process left" "" "$leftover"
echo "$checks checks, $failures failures"
[ "$failures" -eq 0 ]
INNER

if [ "$direct" -eq 1 ]; then
  bash "$work/inner.sh"
else
  "$repo/tests/testhost/run.sh" --timeout 1800 --mem 3072 -- bash "$work/inner.sh"
fi
