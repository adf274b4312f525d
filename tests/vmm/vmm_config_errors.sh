#!/usr/bin/env bash
# sandbox-vmm refuses bad configurations with exit status 1 and a message
# naming the field, and leaves nothing behind (no vsock socket).
#   vmm_config_errors.sh SANDBOX_VMM
set -euo pipefail
vmm=${1:?usage: vmm_config_errors.sh SANDBOX_VMM}
work=$(mktemp -d /tmp/vmm-config.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
echo "not a kernel" > "$work/text-kernel"
head -c 4096 /dev/zero > "$work/disk.img"

# expect NAME EXPECTED-MESSAGE CONFIG-JSON
expect() {
  local name=$1 message=$2
  printf '%s' "$3" > "$work/$name.json"
  set +e
  "$vmm" --config "$work/$name.json" > "$work/$name.out" 2>&1
  local rc=$?
  set -e
  if [ "$rc" -ne 1 ]; then
    echo "FAIL $name: exit status $rc, want 1: $(cat "$work/$name.out")"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$message" "$work/$name.out"; then
    echo "FAIL $name: want \"$message\" in: $(cat "$work/$name.out")"; failures=$((failures + 1)); return
  fi
  echo "ok   $name: $(head -n 1 "$work/$name.out")"
}

k=$work/text-kernel
expect not-json "config is not valid JSON" '{"kernel": '
expect number-overflow "config is not valid JSON" '{"kernel": "/vmlinux", "vcpus": 1e400}'
expect not-object "config: must be a JSON object" '[1, 2]'
expect no-kernel "kernel: required" '{"vcpus": 1}'
expect missing-kernel "kernel: open $work/none: No such file or directory" "{\"kernel\": \"$work/none\"}"
expect missing-initrd "initrd: open $work/none" "{\"kernel\": \"$k\", \"initrd\": \"$work/none\"}"
expect kernel-type "kernel: must be a string" '{"kernel": 7}'
expect vcpus-zero "vcpus: must be an integer from 1 to 254" "{\"kernel\": \"$k\", \"vcpus\": 0}"
expect vcpus-string "vcpus: must be an integer from 1 to 254" "{\"kernel\": \"$k\", \"vcpus\": \"2\"}"
expect memory-huge "memory_mib: must be an integer from 64 to 1048576" "{\"kernel\": \"$k\", \"memory_mib\": 99999999999}"
expect memory-negative "memory_mib: must be an integer from 64 to 1048576" "{\"kernel\": \"$k\", \"memory_mib\": -5}"
expect memory-host "memory_mib: 1048576 MiB is more than this host's" "{\"kernel\": \"$k\", \"memory_mib\": 1048576}"
expect unknown-key "bogus: unknown key" "{\"kernel\": \"$k\", \"bogus\": 1}"
expect rng-type "rng: must be true or false" "{\"kernel\": \"$k\", \"rng\": \"yes\"}"
expect block-not-array "block: must be an array" "{\"kernel\": \"$k\", \"block\": {}}"
expect block-no-path "block[0].path: required" "{\"kernel\": \"$k\", \"block\": [{\"id\": \"a\"}]}"
expect block-missing "block[0].path: open $work/none" "{\"kernel\": \"$k\", \"block\": [{\"id\": \"a\", \"path\": \"$work/none\"}]}"
expect block-dup "block[1].id: \"a\" is used twice" "{\"kernel\": \"$k\", \"block\": [{\"id\": \"a\", \"path\": \"$work/disk.img\"}, {\"id\": \"a\", \"path\": \"$work/disk.img\"}]}"
expect block-unknown "block[0].readonly: unknown key" "{\"kernel\": \"$k\", \"block\": [{\"id\": \"a\", \"path\": \"$work/disk.img\", \"readonly\": true}]}"
expect vsock-cid "vsock.guest_cid: must be an integer from 3 to 4294967294" "{\"kernel\": \"$k\", \"vsock\": {\"guest_cid\": 2, \"uds_path\": \"$work/v.sock\"}}"
expect vsock-no-path "vsock.uds_path: required" "{\"kernel\": \"$k\", \"vsock\": {\"guest_cid\": 3}}"
expect vsock-dir "vsock.uds_path: directory $work/nodir does not exist" "{\"kernel\": \"$k\", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$work/nodir/v.sock\"}}"
touch "$work/taken.sock"
expect vsock-taken "vsock.uds_path: $work/taken.sock already exists" "{\"kernel\": \"$k\", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$work/taken.sock\"}}"
[ -f "$work/taken.sock" ] || { echo "FAIL vsock-taken: the existing file was removed"; failures=$((failures + 1)); }
expect fs-not-array "fs: must be an array" "{\"kernel\": \"$k\", \"fs\": {}}"
expect fs-no-tag "fs[0].tag: required" "{\"kernel\": \"$k\", \"fs\": [{\"socket\": \"$work/fs.sock\"}]}"
expect fs-long-tag "fs[0].tag: want 1 to 36 bytes" "{\"kernel\": \"$k\", \"fs\": [{\"tag\": \"$(printf 'x%.0s' {1..37})\", \"socket\": \"$work/fs.sock\"}]}"
expect fs-dup-tag "fs[1].tag: \"a\" is used twice" "{\"kernel\": \"$k\", \"fs\": [{\"tag\": \"a\", \"socket\": \"$work/fs.sock\"}, {\"tag\": \"a\", \"socket\": \"$work/fs.sock\"}]}"
expect fs-no-socket "fs[0].socket: stat $work/fs.sock" "{\"kernel\": \"$k\", \"fs\": [{\"tag\": \"a\", \"socket\": \"$work/fs.sock\"}]}"
expect fs-not-socket "fs[0].socket: $work/disk.img is not a socket" "{\"kernel\": \"$k\", \"fs\": [{\"tag\": \"a\", \"socket\": \"$work/disk.img\"}]}"
expect log-level "log_level: must be one of" "{\"kernel\": \"$k\", \"log_level\": \"loud\"}"
expect serial-dir "serial: directory $work/nodir does not exist" "{\"kernel\": \"$k\", \"serial\": \"$work/nodir/console\"}"
# net: a NIC has a TAP fd or is unplugged, not both, not neither.
expect net-unplugged-tap "net[0].tap_fd: not used with unplugged" \
  "{\"kernel\": \"$k\", \"net\": [{\"unplugged\": true, \"tap_fd\": 3, \"mac\": \"02:00:00:00:00:01\"}]}"
expect net-no-tap "net[0].tap_fd: required (or \"unplugged\": true)" \
  "{\"kernel\": \"$k\", \"net\": [{\"mac\": \"02:00:00:00:00:01\"}]}"
# restore: a snapshot brings its own kernel; block devices are not restored
# yet; the state file is checked (magic, version, checksum) first.
echo "not a snapshot, but long enough to hold a header" > "$work/junk.state"
r="\"restore\": {\"state\": \"$work/junk.state\", \"memory\": \"$work/disk.img\"}"
expect restore-kernel "kernel: not used with restore" "{$r, \"kernel\": \"$k\"}"
expect restore-block "block: virtio devices cannot be restored from a snapshot yet" "{$r, \"block\": []}"
expect restore-no-memory "restore.memory: required" "{\"restore\": {\"state\": \"$work/junk.state\"}}"
expect restore-unknown "restore.mem: unknown key" "{\"restore\": {\"state\": \"$work/junk.state\", \"memory\": \"$work/disk.img\", \"mem\": 1}}"
expect restore-missing "restore.state: open $work/none" "{\"restore\": {\"state\": \"$work/none\", \"memory\": \"$work/disk.img\"}}"
expect restore-junk "snapshot state $work/junk.state: not a sandbox-vmm snapshot (bad magic)" "{$r}"
# A kernel that is no kernel fails after KVM and the devices were set up: the
# vsock socket must be gone again.
if [ -e /dev/kvm ]; then
  expect bad-kernel "kernel $k: neither an ELF vmlinux nor a bzImage" "{\"kernel\": \"$k\", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$work/late.sock\"}, \"rng\": true}"
else
  expect bad-kernel "open /dev/kvm" "{\"kernel\": \"$k\", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$work/late.sock\"}}"
fi
[ ! -e "$work/late.sock" ] || { echo "FAIL bad-kernel: the vsock socket was left behind"; failures=$((failures + 1)); }
# Socket paths longer than sun_path (containerd's /run/containerd/runc/k8s.io/<64-hex id>)
# are no refusal: the same late failure as above, and nothing left behind.
long=$work/$(printf 'l%.0s' {1..150})
mkdir "$long"
long_config="\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$long/vsock\"}, \"api_socket\": \"$long/api.sock\""
if [ -e /dev/kvm ]; then
  expect long-paths "kernel $k: neither an ELF vmlinux nor a bzImage" "{\"kernel\": \"$k\", $long_config}"
else
  expect long-paths "open /dev/kvm" "{\"kernel\": \"$k\", $long_config}"
fi
[ -z "$(ls -A "$long")" ] || { echo "FAIL long-paths: left behind: $(ls -A "$long")"; failures=$((failures + 1)); }
set +e
"$vmm" > "$work/noarg.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q -- "--config is required" "$work/noarg.out" || { echo "FAIL no --config: $rc $(cat "$work/noarg.out")"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] || { echo "vmm_config_errors: $failures failures"; exit 1; }
echo "vmm_config_errors: ok"
