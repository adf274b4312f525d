#!/usr/bin/env bash
# Builds (cached) and installs what every microVM boots: the guest kernel and
# the initramfs with sandbox-agent as /init.
#   scripts/install-guest.sh SANDBOX_AGENT [DEST_DIR]
# DEST_DIR defaults to /var/lib/sandbox-rt/guest, where sandbox-rt looks
# (override with $SANDBOX_RT_GUEST_DIR or the runtime config). Prints DEST_DIR.
set -euo pipefail
agent=${1:?usage: install-guest.sh SANDBOX_AGENT [DEST_DIR]}
dest=${2:-/var/lib/sandbox-rt/guest}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sandbox-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
kernel_dir=$("$repo/guest-kernel-config/build.sh" | tail -n 1)
strip -o "$work/sandbox-agent" "$agent"
"$repo/rootfs-builder/build-initramfs.sh" --init "$work/sandbox-agent" --out "$work/initramfs.img" >&2
mkdir -p "$dest"
install -m 0644 "$kernel_dir/vmlinux" "$dest/vmlinux.new" && mv "$dest/vmlinux.new" "$dest/vmlinux"
install -m 0644 "$work/initramfs.img" "$dest/initramfs.img.new" && mv "$dest/initramfs.img.new" "$dest/initramfs.img"
echo "$dest"
