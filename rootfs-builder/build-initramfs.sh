#!/usr/bin/env bash
# Builds a guest initramfs (cpio newc, gzip) reproducibly: the same inputs give
# the same bytes (sorted entries, mtime 0, owner 0:0, gzip without a name or
# time), and the result is cached by the hash of its inputs.
#
#   rootfs-builder/build-initramfs.sh --init FILE [--busybox] [--add SRC:DEST]... --out FILE
#
# --init FILE   becomes /init (the agent binary, or a script for debugging)
# --busybox     the debug variant: busybox-static at /bin/busybox with its applets
# --add SRC:DEST  any extra file
set -euo pipefail
say() { echo "initramfs: $*" >&2; }
init= out= busybox=0
adds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --init) init=${2:?}; shift 2 ;;
    --busybox) busybox=1; shift ;;
    --add) adds+=("${2:?}"); shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    *) say "unknown argument $1"; exit 2 ;;
  esac
done
[ -n "$init" ] && [ -n "$out" ] || { say "usage: $0 --init FILE [--busybox] [--add SRC:DEST]... --out FILE"; exit 2; }
[ -f "$init" ] || { say "--init $init: no such file"; exit 2; }
command -v cpio >/dev/null || { say "missing cpio; run scripts/setup.sh"; exit 2; }
busybox_path=
if [ "$busybox" -eq 1 ]; then
  busybox_path=$(command -v busybox) || { say "missing busybox; apt-get install busybox-static"; exit 2; }
fi

inputs=("$0" "$init")
[ -n "$busybox_path" ] && inputs+=("$busybox_path")
for add in "${adds[@]+"${adds[@]}"}"; do inputs+=("${add%%:*}"); done
key=$( { for input in "${inputs[@]}"; do sha256sum < "$input"; done; printf '%s\n' "${adds[@]+"${adds[@]}"}"; } | sha256sum | cut -c1-16)
cache=${SANDBOX_RT_CACHE:-${HOME:-/root}/.cache/sandbox-rt}/initramfs
cached=$cache/$key.cpio.gz
if [ ! -f "$cached" ]; then
  mkdir -p "$cache"
  staging=$(mktemp -d "$cache/.staging.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  mkdir -p "$staging"/{bin,dev,proc,sys,tmp,run}
  install -m 0755 "$init" "$staging/init"
  if [ -n "$busybox_path" ]; then
    install -m 0755 "$busybox_path" "$staging/bin/busybox"
    for applet in $("$busybox_path" --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$staging/bin/$applet"
    done
  fi
  for add in "${adds[@]+"${adds[@]}"}"; do
    dest=$staging/${add#*:}
    mkdir -p "$(dirname "$dest")"
    install -m 0755 "${add%%:*}" "$dest"
  done
  # The kernel opens /dev/console before any devtmpfs is mounted.
  if [ "$(id -u)" -eq 0 ]; then
    mknod -m 600 "$staging/dev/console" c 5 1
  else
    say "not root: /dev/console omitted (early console output may be lost)"
  fi
  chmod 0755 "$staging"/{bin,dev,proc,sys,run}
  chmod 1777 "$staging/tmp"
  find "$staging" -exec touch -h -d @0 {} +
  (cd "$staging" && find . -mindepth 1 | LC_ALL=C sort |
     cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) > "$cached.tmp"
  mv "$cached.tmp" "$cached"
fi
mkdir -p "$(dirname "$out")"
cp "$cached" "$out"
say "$out ($(stat -c %s "$out") bytes, key $key)"
