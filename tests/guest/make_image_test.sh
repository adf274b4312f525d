#!/usr/bin/env bash
# rootfs-builder/make-image.sh turns a directory into an erofs and an ext4
# image (checked by their superblock magic and by the files fsck/dump tools
# see inside), and refuses a missing directory and an unknown format.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/make-image-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "make_image_test: FAIL: $*" >&2; exit 1; }
mkdir -p "$work/tree/etc" "$work/tree/bin"
echo "hello image" > "$work/tree/etc/motd"
ln -s ../etc/motd "$work/tree/bin/link"

"$repo/rootfs-builder/make-image.sh" "$work/tree" "$work/tree.erofs" erofs 2>/dev/null
# erofs superblock magic 0xE0F5E1E2 at byte 1024 (little endian).
[ "$(od -An -tx1 -j1024 -N4 "$work/tree.erofs" | tr -d ' ')" = "e2e1f5e0" ] || fail "no erofs magic"
dump.erofs --ls --path=/etc "$work/tree.erofs" 2>/dev/null | grep -q motd || fail "motd missing from the erofs image"

"$repo/rootfs-builder/make-image.sh" "$work/tree" "$work/tree.ext4" ext4 2>/dev/null
debugfs -R "cat /etc/motd" "$work/tree.ext4" 2>/dev/null | grep -q "hello image" || fail "motd missing from the ext4 image"
debugfs -R "stat /bin/link" "$work/tree.ext4" 2>/dev/null | grep -q "Type: symlink" || fail "symlink lost in ext4"

if "$repo/rootfs-builder/make-image.sh" "$work/missing" "$work/x.img" erofs 2>/dev/null; then fail "missing dir accepted"; fi
if "$repo/rootfs-builder/make-image.sh" "$work/tree" "$work/x.img" btrfs 2>/dev/null; then fail "unknown format accepted"; fi
[ ! -e "$work/x.img" ] || fail "a failed run left an image behind"
echo "make_image_test: ok"
