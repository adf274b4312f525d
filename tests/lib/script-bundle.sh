# Sourced by e2e test scripts that make many small bundles over one shared
# busybox rootfs. They set $rt (sandbox-rt, for `spec`), $work and $rootfs.
# busybox_rootfs DIR: a rootfs of the host's busybox and its applets.
busybox_rootfs() {
  mkdir -p "$1/bin" "$1/proc" "$1/dev" "$1/sys" "$1/tmp" "$1/etc"
  cp /bin/busybox "$1/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$1/bin/$applet"; done
}
# bundle NAME SCRIPT [python statements editing `c`]: $work/NAME, a bundle
# over $rootfs whose process runs SCRIPT with /bin/sh.
bundle() {
  local name=$1 script=$2 edit=${3:-}
  mkdir -p "$work/$name"
  (cd "$work/$name" && "$rt" spec)
  python3 - "$work/$name/config.json" "$rootfs" "$script" "$edit" <<'PY'
import json, sys
path, rootfs, script, edit = sys.argv[1:]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", script]
exec(edit)
json.dump(c, open(path, "w"), indent=1)
PY
}
