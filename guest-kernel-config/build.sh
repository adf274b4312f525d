#!/usr/bin/env bash
# Builds the sandbox-rt guest kernel from Debian's linux-source-6.12:
# tinyconfig + microvm.config, every requested option verified in the final
# .config, producing an uncompressed ELF vmlinux (sandbox-vmm, QEMU microvm
# PVH boot) and a bzImage. The result is cached outside the tree, keyed by
# the kernel source version and the hash of this script and the fragment, so
# a second run is instant. Prints the output directory on the last line.
#
#   guest-kernel-config/build.sh            # build or reuse
#   SANDBOX_RT_CACHE=/path ...              # cache root (default ~/.cache/sandbox-rt)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "guest-kernel: $*" >&2; }

tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1 || true)
[ -n "$tarball" ] || { say "missing /usr/src/linux-source-6.12.tar.*; install it: apt-get install linux-source-6.12"; exit 2; }
for tool in make gcc bc bison flex xz; do
  command -v "$tool" >/dev/null || { say "missing $tool; run scripts/setup.sh"; exit 2; }
done
version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$(cat "$here/microvm.config" "$here/build.sh" | sha256sum | cut -c1-12)
out=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/guest-kernel/$version-$key
if [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
  say "cached: $out"
  echo "$out"
  exit 0
fi

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/guest-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
say "[1/4] unpacking $(basename "$tarball") ($version)"
tar -xf "$tarball" -C "$work"
src=$(ls -d "$work"/linux-source-6.12)
say "[2/4] configuring: tinyconfig + microvm.config"
make -C "$src" -s tinyconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$here/microvm.config" >/dev/null
make -C "$src" -s olddefconfig

missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*)
      grep -qx "$line" "$src/.config" || { say "requested $line, final .config has: $(grep "^${line%%=*}=" "$src/.config" || echo 'not set')"; missing=1; } ;;
    "# CONFIG_"*" is not set")
      option=${line#\# }; option=${option%% *}
      if grep -q "^$option=" "$src/.config"; then say "requested $option off, but it is on"; missing=1; fi ;;
  esac
done < "$here/microvm.config"
[ "$missing" -eq 0 ] || { say "Kconfig dropped options above (unmet dependencies); fix microvm.config"; exit 1; }

say "[3/4] building vmlinux and bzImage with $(nproc) jobs"
make -C "$src" -s -j "$(nproc)" vmlinux bzImage KBUILD_BUILD_TIMESTAMP=@0 KBUILD_BUILD_USER=sandbox KBUILD_BUILD_HOST=sandbox

say "[4/4] storing in $out"
mkdir -p "$(dirname "$out")"
staging=$(mktemp -d "$(dirname "$out")/.staging.XXXXXX")
cp "$src/vmlinux" "$staging/vmlinux"
cp "$src/arch/x86/boot/bzImage" "$staging/bzImage"
cp "$src/.config" "$staging/config"
elapsed=$(( $(date +%s) - start ))
{
  echo "source=linux-source-6.12 $version"
  echo "build_seconds=$elapsed"
  echo "vmlinux_bytes=$(stat -c %s "$staging/vmlinux")"
  echo "bzImage_bytes=$(stat -c %s "$staging/bzImage")"
  echo "jobs=$(nproc)"
} > "$staging/build-info"
rm -rf "$out"
mv "$staging" "$out"
say "done in ${elapsed}s: vmlinux $(du -h "$out/vmlinux" | cut -f1), bzImage $(du -h "$out/bzImage" | cut -f1)"
echo "$out"
