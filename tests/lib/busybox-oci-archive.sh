#!/usr/bin/env bash
# busybox-oci-archive.sh OUT.tar [CMD ARGS...]: busybox (Debian's
# busybox-static) as an OCI image archive built offline with umoci, which
# `podman load` and `ctr images import` take. Its config: PATH=/bin, cmd
# CMD ARGS (default /bin/sh).
set -euo pipefail
out=$(realpath -m "${1:?usage: busybox-oci-archive.sh OUT.tar [CMD ARGS...]}")
shift
[ $# -gt 0 ] || set -- /bin/sh
work=$(mktemp -d /tmp/busybox-oci.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/tmp" "$rootfs/etc"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"; done
echo "root:x:0:0:root:/:/bin/sh" > "$rootfs/etc/passwd"
umoci init --layout "$work/layout"
umoci new --image "$work/layout:latest"
umoci unpack --image "$work/layout:latest" "$work/umoci-bundle" > /dev/null
cp -a "$rootfs/." "$work/umoci-bundle/rootfs/"
umoci repack --image "$work/layout:latest" "$work/umoci-bundle"
cmd=()
for word in "$@"; do cmd+=(--config.cmd "$word"); done
umoci config --image "$work/layout:latest" --config.env PATH=/bin "${cmd[@]}"
tar -C "$work/layout" -cf "$out" .
