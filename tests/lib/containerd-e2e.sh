# Sourced by the containerd e2e tests (tests/containerd, tests/cri) on the
# host, with `repo` set.

# containerd_e2e_workdir NAME: sets `work` to a fresh /tmp/NAME.XXXXXX, which
# goes at exit (with the tmpfs the test mounts in it).
containerd_e2e_workdir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  trap 'umount -R "$work/tmpfs" 2>/dev/null || true; rm -rf --one-file-system "$work"' EXIT
}

# containerd_e2e_prepare WORK SHIM AGENT: the busybox
# OCI archive (WORK/busybox.tar), the guest (sets `guest`), a runtime config
# with a boot timeout for nested TCG (WORK/runtime.json), and WORK/bin with
# the shim under the name containerd looks for on PATH.
containerd_e2e_prepare() {
  local work=$1 shim=$2 agent=$3
  "$repo/tests/lib/busybox-oci-archive.sh" "$work/busybox.tar"
  guest=$("$repo/scripts/install-guest.sh" "$agent" "$work/guest")
  # Nested under TCG a guest can take more than the default 60 s to boot.
  echo '{"boot_timeout_ms": 180000}' > "$work/runtime.json"
  mkdir -p "$work/bin"
  ln -s "$shim" "$work/bin/containerd-shim-sandbox-rt-v2"
}

# cri_e2e_prepare WORK SHIM AGENT: the above, and the pod sandbox ("pause")
# image CRI starts first in each pod: busybox sleeping (WORK/pause.tar).
cri_e2e_prepare() {
  "$repo/tests/lib/busybox-oci-archive.sh" "$1/pause.tar" /bin/sleep 2147483647
  containerd_e2e_prepare "$@"
}

# containerd_e2e_inner_header [NAME=VALUE]...: starts WORK/inner.sh, the
# script the test host runs (the test appends its body): checks.sh, `repo`,
# `work` and the assignments given, and the environment containerd passes to
# the shims it starts (the guest, sandbox-vmm, the runtime config, the shim
# on PATH). Uses `repo`, `work`, `guest` and `vmm`.
containerd_e2e_inner_header() {
  local assignment
  {
    echo "set -u"
    printf '. %q\n' "$repo/tests/lib/checks.sh"
    for assignment in "repo=$repo" "work=$work" "$@"; do printf '%s=%q\n' "${assignment%%=*}" "${assignment#*=}"; done
    printf 'export SANDBOX_RT_VMM_LOG_LEVEL=%q\n' "${SANDBOX_RT_VMM_LOG_LEVEL:-}"
    printf 'export PATH=%q:"$PATH" SANDBOX_RT_GUEST_DIR=%q SANDBOX_RT_VMM=%q SANDBOX_RT_CONFIG=%q\n' \
      "$work/bin" "$guest" "$vmm" "$work/runtime.json"
  } > "$work/inner.sh"
}
