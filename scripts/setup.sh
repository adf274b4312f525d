#!/usr/bin/env bash
# Installs every build and test dependency from Debian packages. Idempotent:
# packages already present are not touched, and apt is not updated when
# nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev
  libseccomp-dev libcap-dev libarchive-dev libzstd-dev nettle-dev
  # The archives a static libarchive needs (the host binaries are static PIEs).
  libacl1-dev liblzma-dev liblz4-dev libbz2-dev zlib1g-dev libxml2-dev libicu-dev
  erofs-utils e2fsprogs umoci skopeo runc crun containerd containernetworking-plugins podman iperf3
  qemu-system-x86 qemu-system-common busybox-static cpio
  linux-source-6.12 bc bison flex libelf-dev xz-utils
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# QEMU 10 from bookworm-backports, unpacked into the cache, for the test host
# with SANDBOX_TESTHOST_QEMU=cache (tests/testhost/fetch-qemu.sh says why).
fetch_testhost_qemu() {
  local cache=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/testhost
  [ -x "$cache/qemu/usr/bin/qemu-system-x86_64" ] && return 0
  "$(dirname "$0")/../tests/testhost/fetch-qemu.sh" > /dev/null ||
    echo "setup: could not fetch QEMU 10 from bookworm-backports (only SANDBOX_TESTHOST_QEMU=cache needs it)"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  fetch_testhost_qemu
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fetch_testhost_qemu
