#!/usr/bin/env bash
# Packs what a hardware-KVM check needs into one self-contained directory for
# a machine that has none of our Debian packages (a lent device machine):
# sandbox-rt, sandbox-vmm, mkfs.erofs, runc, crun and busybox with every
# shared library they load and this machine's dynamic loader (interpreter and
# rpath of each dynamic program rewritten with patchelf to point into the
# directory, so the copy must live at the same absolute path there; sandbox-rt
# and sandbox-vmm are usually static PIEs and need none), the guest kernel and
# initramfs, and a busybox /bin/true bundle.
#   tests/device/make-bundle.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT DIR
# DIR must be the absolute path the bundle will have on the other machine.
set -euo pipefail
rt=$(realpath "${1:?usage: make-bundle.sh SANDBOX_RT SANDBOX_VMM SANDBOX_AGENT DIR}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}") dir=${4:?}
case "$dir" in /*) ;; *) echo "make-bundle: DIR must be absolute" >&2; exit 2 ;; esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v patchelf > /dev/null || { echo "make-bundle: needs patchelf (apt-get install patchelf)" >&2; exit 2; }
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib"
for program in "$rt" "$vmm" "$(command -v mkfs.erofs)" "$(command -v runc)" "$(command -v crun)"; do
  strip -o "$dir/bin/$(basename "$program")" "$program"
  ldd "$program" | awk '/=> \// {print $3}' | while read -r library; do
    [ -f "$dir/lib/$(basename "$library")" ] || cp -L "$library" "$dir/lib/"
  done
done
cp -L /lib64/ld-linux-x86-64.so.2 "$dir/lib/"
for program in "$dir"/bin/*; do
  readelf -l "$program" | grep -q 'program interpreter' || continue  # static
  patchelf --set-interpreter "$dir/lib/ld-linux-x86-64.so.2" --set-rpath "$dir/lib" "$program"
done
cp /bin/busybox "$dir/bin/busybox"
"$repo/scripts/install-guest.sh" "$agent" "$dir/guest" > /dev/null
# Debian 12's crun 1.8 refuses newer ociVersions.
"$repo/rootfs-builder/busybox-bundle.sh" --oci-version 1.0.2 "$rt" "$dir/true-bundle" /bin/true
"$repo/rootfs-builder/busybox-bundle.sh" "$rt" "$dir/hello-bundle" /bin/sh -c 'echo hello from $(uname -r) with $(nproc) vCPUs'
cp "$repo/tests/device/check.sh" "$dir/check.sh"
du -sh "$dir" >&2
