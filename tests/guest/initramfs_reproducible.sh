#!/usr/bin/env bash
# rootfs-builder/build-initramfs.sh is reproducible: two builds from the same
# inputs into two empty caches give identical bytes, a changed input gives
# different bytes, and the archive holds /init and busybox owned by 0:0.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/initramfs-repro.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "initramfs_reproducible: FAIL: $*" >&2; exit 1; }
build() { SANDBOX_RT_CACHE=$1 "$repo/rootfs-builder/build-initramfs.sh" --busybox --init "$2" --out "$3" 2>/dev/null; }

cp "$repo/tests/guest/smoke-init.sh" "$work/init"
build "$work/cache-a" "$work/init" "$work/a.cpio.gz"
sleep 1  # a later wall-clock time must not leak into the archive
touch "$work/init"
build "$work/cache-b" "$work/init" "$work/b.cpio.gz"
cmp -s "$work/a.cpio.gz" "$work/b.cpio.gz" || fail "two builds of the same inputs differ"
echo "# changed" >> "$work/init"
build "$work/cache-b" "$work/init" "$work/c.cpio.gz"
cmp -s "$work/a.cpio.gz" "$work/c.cpio.gz" && fail "a changed /init did not change the archive"
listing=$(gzip -dc "$work/a.cpio.gz" | cpio -t -v --quiet 2>/dev/null)
grep -qE "^-rwxr-xr-x +1 root +root .* init$" <<<"$listing" || fail "/init missing or not 0755 root:root"
grep -qE " bin/busybox$" <<<"$listing" || fail "bin/busybox missing"
echo "initramfs_reproducible: ok"
