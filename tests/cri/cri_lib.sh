# Sourced inside the test host by the CRI tests (cri_e2e.sh, cri_bench.sh),
# with `work` (the test's directory: busybox.tar, pause.tar, logs) and
# `cri_client` set: containerd 1.6 with its CRI plugin on a tmpfs of its own
# ($work/tmpfs), runtime handlers "sandbox-rt" (our shim) and "runc"
# (containerd's runc shim), a CNI bridge network, both images imported; and
# the helpers the tests use (c, cri, field, pod_config, container_config,
# runp, state_of, pod_state_of, cri_cleanup).
tmp="$work/tmpfs"
mkdir -p "$tmp" && mount -t tmpfs tmpfs "$tmp"
mkdir -p "$tmp/containerd/tmp" "$tmp/cni" "$tmp/logs"
address="$tmp/containerd/containerd.sock"
# A pod network as on a node: CNI's bridge plugin, no NAT (no iptables), its
# address bookkeeping on the tmpfs.
cat > "$tmp/cni/10-cri-e2e.conflist" <<CNI
{"cniVersion": "0.4.0", "name": "cri-e2e", "plugins": [{"type": "bridge", "bridge": "crie2e0", "ipMasq": false,
  "ipam": {"type": "host-local", "subnet": "10.88.77.0/24", "dataDir": "$tmp/cni-ipam"}}]}
CNI
cat > "$tmp/containerd/config.toml" <<CONF
version = 2
root = "$tmp/containerd/root"
state = "$tmp/containerd/state"
temp = "$tmp/containerd/tmp"
[grpc]
  address = "$address"
[ttrpc]
  address = "$address.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "sandbox-rt.test/pause:latest"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.sandbox-rt]
      runtime_type = "io.containerd.sandbox-rt.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$tmp/cni"
CONF
c() { timeout -k 10 300 ctr --address "$address" --namespace k8s.io "$@"; }
cri() { timeout -k 10 300 "$cri_client" --endpoint "unix://$address" --timeout 240 "$@"; }
# field KEY: the first value of "KEY" in cri-client's JSON on stdin (one
# field per line; no python here: it starts slowly under TCG).
field() { grep -m1 -o "\"$1\": *[^,]*" | sed 's/^[^:]*: *//; s/"//g; s/ *$//'; }
cri_cleanup() {
  for pod in $(cri pods 2>/dev/null | grep -o '"id": *"[0-9a-f]*"' | sed 's/.*: *//; s/"//g'); do
    cri stopp "$pod" > /dev/null 2>&1; cri rmp "$pod" > /dev/null 2>&1
  done
  kill -TERM "$containerd_pid" 2>/dev/null; wait "$containerd_pid" 2>/dev/null
  umount -R "$tmp" 2>/dev/null
}
image=docker.io/library/busybox:latest
# cri_start: containerd up, the images imported and seen by CRI (checked).
cri_start() {
  containerd --config "$tmp/containerd/config.toml" > "$work/containerd.log" 2>&1 &
  containerd_pid=$!
  wait_until 30 cri version > /dev/null 2>&1; check "CRI answers" 0 $?
  c images import --base-name docker.io/library/busybox "$work/busybox.tar" > /dev/null; check "import busybox" 0 $?
  c images import --base-name sandbox-rt.test/pause "$work/pause.tar" > /dev/null; check "import the pause image" 0 $?
  wait_until 30 cri image-status "$image" > /dev/null 2>&1; check "CRI sees the image" 0 $?
}

# pod_config NAME: a pod (its runtimeClassName's handler is runp's --runtime);
# each container has a pid namespace of its own, as kubelet asks unless
# shareProcessNamespace.
pod_config() {
  cat > "$work/$1.pod.json" <<POD
{"metadata": {"name": "$1", "namespace": "default", "uid": "uid-$1", "attempt": 0},
 "hostname": "$1", "log_directory": "$tmp/logs/$1",
 "dns_config": {"servers": ["10.88.77.53"], "searches": ["$1.svc.example"]},
 "linux": {"security_context": {"namespace_options": {"pid": "CONTAINER"}}}}
POD
}
# container_config NAME ARGV_JSON: busybox running ARGV.
container_config() {
  printf '{"metadata": {"name": "%s"}, "image": {"image": "%s"}, "command": %s, "log_path": "%s.log", %s}\n' \
    "$1" "$image" "$2" "$1" '"linux": {"security_context": {"namespace_options": {"pid": "CONTAINER"}}}' > "$work/$1.json"
}
# runp NAME [HANDLER]: RunPodSandbox of pod NAME (pod_config) with HANDLER
# (default sandbox-rt), its id on stdout; on failure, containerd's last
# errors and warnings on stderr (a failed sandbox leaves no state to look at).
runp() {
  local id
  id=$(cri runp --runtime "${2:-sandbox-rt}" "$work/$1.pod.json") && { echo "$id"; return 0; }
  echo "--- RunPodSandbox of $1 failed; containerd's last errors and warnings:" >&2
  grep -E 'level=(error|warning)' "$work/containerd.log" | tail -n 30 >&2
  return 1
}
state_of() { cri inspect "$1" | field state; }
pod_state_of() { cri inspectp "$1" | field state; }
vmm_count() { pgrep -c -f "sandbox-vmm --config /run/sandbox-rt-shim/k8s.io/" || true; }

