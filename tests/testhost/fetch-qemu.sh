#!/usr/bin/env bash
# tests/testhost/fetch-qemu.sh [SUITE]: downloads Debian's qemu-system-x86,
# qemu-system-data and seabios from SUITE (default bookworm-backports) with a
# private apt configuration (the system's sources and lists are untouched),
# unpacks them into the test-host cache, checks that the emulator runs here
# (every library it links is installed), points <cache>/qemu at it and prints
# the directory; SANDBOX_TESTHOST_QEMU=cache makes run.sh use it. Under it the
# test host did not wedge or crash in 36 boots (Debian 12's 7.2: about one in
# eight), but nested guests failed more often (docs/measurements.md).
set -euo pipefail
suite=${1:-bookworm-backports}
cache=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/testhost
. "$(dirname "${BASH_SOURCE[0]}")/private-apt.sh"
private_apt "$suite"
version=$(apt-cache "${apt[@]}" policy qemu-system-x86 | awk '/Candidate:/ {print $2}')
[ -n "$version" ] && [ "$version" != "(none)" ] || { echo "fetch-qemu: no qemu-system-x86 in $suite" >&2; exit 2; }
dest=$cache/qemu-${version//[:~+]/_}
if [ ! -x "$dest/usr/bin/qemu-system-x86_64" ]; then
  (cd "$private_apt_dir" && apt-get download -qq "${apt[@]}" "qemu-system-x86=$version" "qemu-system-data=$version" \
     "seabios/$suite" >&2)
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  for deb in "$private_apt_dir"/*.deb; do dpkg-deb -x "$deb" "$dest.tmp"; done
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
missing=$(ldd "$dest/usr/bin/qemu-system-x86_64" | grep "not found" || true)
[ -z "$missing" ] || { echo "fetch-qemu: $dest lacks libraries: $missing" >&2; exit 3; }
"$dest/usr/bin/qemu-system-x86_64" --version | head -n 1 >&2
ln -sfn "$dest" "$cache/qemu"
echo "$dest"
