#!/usr/bin/env bash
# e2e test of VM templates (runtime config "vm_templates": true) on real
# microVMs, through the test host where the machine has no hardware KVM:
# the first sandbox of a shape makes its template, later ones are restored
# from it (no kernel boot), with their own entropy, clock, sockets and
# virtio-fs shares; another shape gets another template; a damaged template
# is refused by name; nothing is left behind.
#   template_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT
set -euo pipefail
rt=$(realpath "${1:?usage: template_e2e.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/template-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT

guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
rootfs="$work/rootfs"
. "$repo/tests/lib/script-bundle.sh"
busybox_rootfs "$rootfs"
mkdir -p "$rootfs/data" "$work/host-data" && echo "from the host" > "$work/host-data/in"

# What must differ between clones (the kernel RNG's output), the guest clock
# against the host's, a host bind mount through virtio-fs, a write back.
bundle sample 'echo "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n") $(date +%s) $(cat /data/in)"; echo written > /data/out.$(head -c 4 /dev/urandom | od -An -tx1 | tr -d " \n"); exit 5' \
  'c["mounts"].append({"destination": "/data", "type": "bind", "source": "'"$work/host-data"'", "options": ["rbind", "rw"]})'
bundle sleeper 'echo ready; sleep 1000'
bundle bigger 'grep MemTotal /proc/meminfo' 'c["linux"]["resources"] = {"memory": {"limit": 268435456}}'
# Nested under TCG a busy machine can take more than 60 s to boot a guest.
# Templates on the test host's tmpfs, as sandbox-rt's default template_dir is.
templates=/run/sandbox-rt-template-e2e-templates
printf '{"boot_timeout_ms": 180000, "vm_templates": true, "template_dir": "%s"}\n' "$templates" > "$work/runtime.json"

cat > "$work/inner.sh" <<INNER
set -u
export SANDBOX_RT_GUEST_DIR="$guest" SANDBOX_RT_VMM="$vmm" SANDBOX_RT_CONFIG="$work/runtime.json"
rt="$rt"
work="$work"
repo="$repo"
root=/run/sandbox-rt-template-e2e
templates="$templates"
INNER
cat >> "$work/inner.sh" <<'INNER'
failures=0
# A retried test host runs this again: nothing of the first run may count.
rm -rf "$templates" "$work"/host-data/out.* "$work"/*.out "$work"/*.err
. "$repo/tests/lib/checks.sh"
. "$repo/tests/lib/sandbox-rt-calls.sh"
list_templates() { find "$templates" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort; }
# sample_check NAME FILE: a sample's output: 16 random bytes, the guest's
# clock within 30 s of the host's, the host file read through virtio-fs.
sample_check() {
  local bytes seconds text
  read -r bytes seconds text < "$2"
  check "$1: random bytes" 32 "${#bytes}"
  [ "${seconds:-0}" -gt $(($(date +%s) - 30)) ] && [ "${seconds:-0}" -le $(($(date +%s) + 1)) ]
  check "$1: the guest's clock is the host's ($seconds vs $(date +%s))" 0 $?
  check "$1: the bind mount" "from the host" "$text"
}

# 1. The first sandbox of a shape makes the template, then is restored from it.
cd "$work/sample"
sb run t1 > "$work/t1.out" 2> "$work/t1.err"; check "first run: exit code" 5 $?
sample_check "first run" "$work/t1.out"
check "first run: one template" 1 "$(list_templates | wc -l)"
template=$(list_templates | head -n 1)
[ -s "$template/vm.state" ] && [ -s "$template/vm.memory" ]; check "the template holds a state and a memory file" 0 $?
memory_kib=$(du -k "$template/vm.memory" | cut -f1)
[ "$memory_kib" -lt $((256 * 1024)) ]; check "the memory file leaves zero pages out ($memory_kib KiB of 256 MiB)" 0 $?
made_at=$(stat -c %Y.%i "$template/vm.state")

# 2. Later sandboxes are restored: no kernel boot on their console, their own
# RNG output, a written file back on the host.
sb run t2 > "$work/t2.out" 2> "$work/t2.err"; check "second run: exit code" 5 $?
sample_check "second run" "$work/t2.out"
[ "$(cut -d' ' -f1 "$work/t1.out")" != "$(cut -d' ' -f1 "$work/t2.out")" ]
check "restored guests' RNGs differ (reseeded after restore)" 0 $?
check "second run: the template is reused" "$made_at" "$(stat -c %Y.%i "$template/vm.state")"
check "second run: still one template" 1 "$(list_templates | wc -l)"
ls "$work/host-data" | grep -c '^out\.' > "$work/outs.count"; check "the containers' writes reached the host" 2 "$(cat "$work/outs.count")"
cd "$work/sleeper"
sb create c3 > /dev/null 2> "$work/c3.err"; check "create from the template" 0 $?
grep -q '"restore"' "$root/c3/vmm.json"; check "its vmm.json restores the template" 0 $?
check "no kernel boot on its console" 0 "$(grep -c 'sandbox-agent: started' "$root/c3/console.log")"
grep -q "sandbox-agent: restored: RNG reseeded (64 bytes), clock set" "$root/c3/console.log"
check "its console says the agent reseeded it after the restore" 0 $?
sb start c3; check "start" 0 $?
check "running" running "$(state_of c3)"
# Its RAM is a copy in its own memfd (virtiofsd maps it), but for the guest
# kernel's text and the agent's executable (the shared ranges the template's
# agent named): mapped copy-on-write from the template's memory file, shared
# by every clone (/proc/PID/maps: inode in field 5, "p" for private).
vmm_pid=$(cut -d' ' -f1 "$root/c3/vmm.pid")
memory_inode=$(stat -c %i "$template/vm.memory")
while read -r range perms _ _ inode _; do
  [ "$inode" = "$memory_inode" ] && echo "$perms $(( (0x${range#*-} - 0x${range%-*}) / 1024 ))"
done < "/proc/$vmm_pid/maps" > "$work/c3.shared-maps"
shared_ranges=$(sed -n 's/.*shared copy-on-write with the snapshot (the kernel.s text and \([0-9]*\) shared ranges).*/\1/p' \
  "$root/c3/vmm.log")
[ "${shared_ranges:-0}" -ge 1 ]
check "its log: the template's agent named shared ranges (${shared_ranges:-none})" 0 $?
shared_kib=$(awk '{ total += $2 } END { print total + 0 }' "$work/c3.shared-maps")
# One mapping each, or fewer where two lie side by side (one mapping then).
maps=$(wc -l < "$work/c3.shared-maps")
[ "$maps" -ge 2 ] && [ "$maps" -le $(( ${shared_ranges:-0} + 1 )) ] &&
  [ "$(grep -vc '^rw-p ' "$work/c3.shared-maps")" -eq 0 ] && [ "$shared_kib" -ge 4096 ]
check "the kernel's text and the agent are mapped copy-on-write from the template ($(tr '\n' ' ' < "$work/c3.shared-maps")KiB)" 0 $?
# Before its guest ran, what the template's guest had touched was mapped into
# its nested page table, where the test host's KVM can (tests/lib/prefault.sh).
. "$repo/tests/lib/prefault.sh"
grep -q "$(prefault_line)" "$root/c3/vmm.log"
check "its log: $(prefault_line)" 0 $?
# exec (more vsock streams than the template ever had), pause and resume
# (the restored vCPUs stop and go), and SIGKILL of a paused restored VM.
out=$(echo piped | sb exec c3 sh -c 'cat; exit 7'); rc=$?
check "exec in a restored sandbox: stdin, stdout, exit code" "piped 7" "$out $rc"
sb pause c3; check "pause" paused "$(state_of c3)"
sb resume c3; check "resume" running "$(state_of c3)"
check "exec after resume" "back" "$(sb exec c3 echo back < /dev/null)"
sb pause c3
sb kill c3 KILL; check "kill KILL of the paused sandbox" 0 $?
for _ in $(seq 100); do [ "$(state_of c3)" = stopped ] && break; sleep 0.1; done
check "stopped" stopped "$(state_of c3)"
sb delete c3; check "delete" 0 $?

# 3. Side by side, from one template.
cd "$work/sample"
sb run p1 > "$work/p1.out" 2>&1 &
first=$!
sb run p2 > "$work/p2.out" 2>&1 &
wait $first; check "parallel run 1" 5 $?
wait $!; check "parallel run 2" 5 $?
sort -u <(cut -d' ' -f1 "$work/p1.out") <(cut -d' ' -f1 "$work/p2.out") | wc -l > "$work/p.count"
check "parallel clones' RNGs differ" 2 "$(cat "$work/p.count")"
check "parallel runs: still one template" 1 "$(list_templates | wc -l)"

# 4. Another shape (memory from the limit), another template.
cd "$work/bigger"
sb run b1 > "$work/b1.out" 2> "$work/b1.err"; check "another shape: exit code" 0 $?
mem_kib=$(awk '{print $2}' "$work/b1.out")
[ "${mem_kib:-0}" -gt 300000 ]; check "another shape: its RAM (MemTotal $mem_kib KiB)" 0 $?
check "another shape: a second template" 2 "$(list_templates | wc -l)"

# 5. A damaged template is refused by name, and the failed create leaves nothing.
printf 'X' | dd of="$template/vm.state" bs=1 seek=$(($(stat -c %s "$template/vm.state") - 1)) conv=notrunc 2> /dev/null
cd "$work/sample"
sb run bad > "$work/bad.out" 2> "$work/bad.err"; rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; check "a damaged template: run fails ($rc)" 0 $?
grep -q "snapshot state $template/vm.state: checksum mismatch" "$work/bad.err"
check "a damaged template: the error names it" 0 $?
[ -e "$root/bad" ]; check "a damaged template: no state dir" 1 $?
# Removed, it is made again.
rm -rf "$template"
sb run t4 > "$work/t4.out" 2> "$work/t4.err"; check "a removed template is made again" 5 $?
sample_check "remade template" "$work/t4.out"

# 6. Nothing left.
check "no containers left" "" "$(ls "$root")"
check "no sandbox-vmm left" "" "$(pgrep -x sandbox-vmm)"
check "no monitor left" "" "$(pgrep -f 'sandbox-rt __monitor')"
check "no virtiofsd left" "" "$(pgrep -f "virtiofsd --fd")"
check "no template half-made" "" "$(ls -d "$templates"/*.new 2> /dev/null)"
for f in t1 t2 b1 bad; do [ -s "$work/$f.err" ] && sed "s/^/[$f.err] /" "$work/$f.err" | tail -n 5; done
echo "failures: $failures"
[ "$failures" -eq 0 ]
INNER
"$repo/tests/testhost/run.sh" --timeout 900 --mem 3072 -- bash "$work/inner.sh"
