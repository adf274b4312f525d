#!/usr/bin/env bash
# Turns a directory into a filesystem image for virtio-blk:
#   rootfs-builder/make-image.sh DIR OUT erofs|ext4
# erofs (read-only, compact) is the default choice for container rootfs; ext4
# when the guest must write to the device itself. Owners and modes are kept.
set -euo pipefail
dir=${1:?usage: make-image.sh DIR OUT erofs|ext4}
out=${2:?usage: make-image.sh DIR OUT erofs|ext4}
format=${3:-erofs}
[ -d "$dir" ] || { echo "make-image: $dir is not a directory" >&2; exit 2; }
trap 'rm -f "$out.tmp"' EXIT  # a failed mkfs leaves nothing behind
case "$format" in
  erofs)
    command -v mkfs.erofs >/dev/null || { echo "make-image: install erofs-utils" >&2; exit 2; }
    mkfs.erofs --quiet "$out.tmp" "$dir" ;;
  ext4)
    command -v mkfs.ext4 >/dev/null || { echo "make-image: install e2fsprogs" >&2; exit 2; }
    kib=$(du -sk --apparent-size "$dir" | cut -f1)
    size=$(( kib + kib / 3 + 16384 ))
    mkfs.ext4 -q -F -d "$dir" "$out.tmp" "${size}k" >&2 ;;
  *) echo "make-image: unknown format $format (want erofs or ext4)" >&2; exit 2 ;;
esac
mv "$out.tmp" "$out"
echo "make-image: $out ($format, $(stat -c %s "$out") bytes)" >&2
