#!/usr/bin/env bash
# An OCI bundle whose rootfs is Debian's busybox-static with every applet,
# and whose config.json is `sandbox-rt spec` with the terminal off (so plain
# stdio works without a console socket) and the given command:
#   rootfs-builder/busybox-bundle.sh [--oci-version V] SANDBOX_RT DIR CMD [ARG...]
set -euo pipefail
oci_version=""
if [ "${1:-}" = --oci-version ]; then oci_version=${2:?}; shift 2; fi
rt=${1:?usage: busybox-bundle.sh [--oci-version V] SANDBOX_RT DIR CMD [ARG...]}
dir=${2:?usage: busybox-bundle.sh [--oci-version V] SANDBOX_RT DIR CMD [ARG...]}
rt=$(realpath "$rt")
shift 2
[ $# -gt 0 ] || { echo "busybox-bundle: a command is needed" >&2; exit 2; }
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/dev" "$dir/rootfs/sys" "$dir/rootfs/tmp"
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
(cd "$dir" && "$rt" spec)
python3 - "$dir/config.json" "$oci_version" "$@" <<'PY'
import json, sys
path, version, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = args
if version:
    c["ociVersion"] = version
json.dump(c, open(path, "w"), indent=2)
PY
