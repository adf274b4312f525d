#!/usr/bin/env bash
# e2e test of sandbox-rt as a Kubernetes RuntimeClass handler, through the
# test host: containerd 1.6's CRI plugin (Debian's) with a runtime handler
# "sandbox-rt" (runtime_type io.containerd.sandbox-rt.v2) and a CNI bridge
# network, driven by cri-client the way kubelet drives a pod with
# runtimeClassName: sandbox-rt:
# - RunPodSandbox, CreateContainer x2, StartContainer, ExecSync,
#   ContainerStatus, ListContainers, ContainerStats, StopContainer,
#   StopPodSandbox, RemovePodSandbox (images imported beforehand: no pulls);
# - both containers run in one VM (one sandbox-vmm; the same guest boot_id,
#   not the test host's) and share the pod's network (one listens, the
#   other connects to 127.0.0.1), IPC and UTS (the pod's hostname), each
#   with a pid namespace of its own;
# - failures: a container whose process cannot start (ContainerStatus says
#   why), sandbox-vmm killed (containers exit 255, the pod is NOTREADY), the
#   shim killed (containerd's delete path cleans up);
# - every pod restored from a VM template with a NIC (the first pod makes it),
#   two of them reaching each other over the CNI bridge;
# and at the end no shim, sandbox-vmm or virtiofsd process, no mount and no
# state of the shim left.
#   cri_e2e.sh SHIM SANDBOX_VMM SANDBOX_AGENT CRI_CLIENT
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shim=$(realpath "${1:?usage: cri_e2e.sh SHIM SANDBOX_VMM SANDBOX_AGENT CRI_CLIENT}")
vmm=$(realpath "${2:?}") agent=$(realpath "${3:?}") cri_client=$(realpath "${4:?}")
for tool in containerd ctr umoci /usr/lib/cni/bridge /usr/lib/cni/host-local; do
  command -v "$tool" > /dev/null || { echo "cri_e2e: $tool is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
. "$repo/tests/lib/containerd-e2e.sh"
containerd_e2e_workdir cri-e2e
cri_e2e_prepare "$work" "$shim" "$agent"
# Pods from VM templates (runtime config vm_templates), as a node that wants
# pods fast would run them: the first pod makes the template (one NIC, for
# its CNI interface) and every pod is restored from it. cri_bench's pods boot.
templates=/run/sandbox-rt-cri-e2e-templates
printf '{"boot_timeout_ms": 180000, "vm_templates": true, "template_dir": "%s"}\n' "$templates" > "$work/runtime.json"

containerd_e2e_inner_header cri_client="$cri_client" templates="$templates"
cat >> "$work/inner.sh" <<'INNER'
. "$repo/tests/cri/cri_lib.sh"
trap 'cri_cleanup; rm -rf "$templates"' EXIT
rm -rf "$templates"
cri_start

# A pod of two containers.
pod_config web
pod=$(runp web); check "RunPodSandbox (sandbox-rt)" 0 $?
[ -n "$pod" ] || { echo "cri_e2e: the first pod did not start; every step after needs it"; exit 1; }
check "the pod is READY" SANDBOX_READY "$(pod_state_of "$pod")"
grep -q "sandbox-agent: restored: RNG reseeded" "/run/sandbox-rt-shim/k8s.io/$pod/vm/console.log"
check "the pod's VM was restored from a template" 0 $?
check "one template, with the pod's NIC" 1 "$(ls "$templates" | grep -c -v -e '\.lock$' -e '\.new$')"
container_config server '["/bin/sh", "-c", "nc -l -p 8080 > /tmp/got; sleep 1000"]'
container_config client '["/bin/sleep", "1000"]'
server=$(cri create "$pod" "$work/server.json" "$work/web.pod.json"); check "CreateContainer server" 0 $?
client=$(cri create "$pod" "$work/client.json" "$work/web.pod.json"); check "CreateContainer client" 0 $?
cri start "$server" > /dev/null; check "StartContainer server" 0 $?
cri start "$client" > /dev/null; check "StartContainer client" 0 $?
check "ContainerStatus: server RUNNING" CONTAINER_RUNNING "$(state_of "$server")"
check "ListContainers: two in the pod" 2 "$(cri ps --pod "$pod" | grep -c '"podSandboxId"')"
check "one sandbox-vmm for the pod" 1 "$(vmm_count)"
boot_server=$(cri exec-sync "$server" -- cat /proc/sys/kernel/random/boot_id)
boot_client=$(cri exec-sync "$client" -- cat /proc/sys/kernel/random/boot_id)
check "ExecSync: both containers in one VM (boot_id $boot_server)" "${boot_server:-none}" "$boot_client"
[ -n "$boot_server" ] && [ "$boot_server" != "$(cat /proc/sys/kernel/random/boot_id)" ]; rc=$?
check "ExecSync: the VM is not the test host" 0 $rc
check "the pod's hostname in the client (UTS shared)" web "$(cri exec-sync "$client" -- hostname)"
# (net: the VM's own, see README "Pods"; ipc, uts: the sandbox container's.)
for ns in net ipc uts; do
  theirs=$(cri exec-sync "$server" -- readlink /proc/self/ns/$ns)
  check "the containers share the pod's $ns namespace ($theirs)" "${theirs:-none}" \
    "$(cri exec-sync "$client" -- readlink /proc/self/ns/$ns)"
done
pid_server=$(cri exec-sync "$server" -- readlink /proc/self/ns/pid)
pid_client=$(cri exec-sync "$client" -- readlink /proc/self/ns/pid)
[ -n "$pid_server" ] && [ -n "$pid_client" ] && [ "$pid_server" != "$pid_client" ]
check "each container has a pid namespace of its own ($pid_server, $pid_client)" 0 $?
listening() { cri exec-sync "$server" -- sh -c 'netstat -ltn 2>/dev/null | grep -q :8080'; }
wait_until 60 listening; check "the server listens on port 8080" 0 $?
cri exec-sync "$client" -- sh -c 'echo hello-over-loopback | nc 127.0.0.1 8080' > /dev/null
got() { [ "$(cri exec-sync "$server" -- cat /tmp/got)" = hello-over-loopback ]; }
wait_until 30 got; check "the client reached the server over the pod's loopback (network shared)" 0 $?
cri exec-sync "$client" -- sh -c 'exit 7'; check "ExecSync: the exit code" 7 $?
cri stats "$server" > "$work/stats.json"; check "ContainerStats" 0 $?
memory=$(grep -A2 '"workingSetBytes"' "$work/stats.json" | field value)
[ "${memory:-0}" -gt 0 ]; check "ContainerStats: memory working set ($memory)" 0 $?
# The pod's CNI network reaches into its VM: the guest's eth0 carries the
# address CNI's bridge + host-local gave the pod (mirrored, shim/network).
web_ip=$(cri inspectp "$pod" | field ip)
check "the pod has a CNI address ($web_ip)" 1 "$(echo "$web_ip" | grep -c '^10\.88\.77\.')"
check "the VM's eth0 carries the pod's address" "inet $web_ip/24" \
  "$(cri exec-sync "$server" -- ip -o -4 addr show dev eth0 | grep -o 'inet [0-9.]*/[0-9]*')"
# CRI's DNS config and the pod's hosts and hostname files reach the containers (bind mounts, shared by virtiofsd).
check "the pod's DNS server in the client's resolv.conf" "nameserver 10.88.77.53" \
  "$(cri exec-sync "$client" -- grep -m1 '^nameserver' /etc/resolv.conf)"
check "the pod's DNS search in the client's resolv.conf" "search web.svc.example" \
  "$(cri exec-sync "$client" -- grep -m1 '^search' /etc/resolv.conf)"
check "the pod's hostname file" web "$(cri exec-sync "$client" -- cat /etc/hostname)"

# A container whose process cannot start: the error reaches the client.
container_config broken '["/no/such/program"]'
broken=$(cri create "$pod" "$work/broken.json" "$work/web.pod.json"); check "CreateContainer broken" 0 $?
cri start "$broken" > "$work/broken.start" 2>&1; rc=$?
[ "$rc" -ne 0 ] && grep -q "/no/such/program" "$work/broken.start"; rc=$?
check "StartContainer of a missing program fails naming it ($(head -c 300 "$work/broken.start"))" 0 $rc
state=$(state_of "$broken")
[ -n "$state" ] && [ "$state" != CONTAINER_RUNNING ]; check "ContainerStatus of it: not running ($state)" 0 $?
cri rm "$broken" > /dev/null; check "RemoveContainer broken" 0 $?

# A second pod on the same CNI bridge reaches the first by its address:
# VM -> TAP -> veth -> bridge -> veth -> TAP -> VM. (A pod that did not
# start skips its section: the steps need its id.)
web=$pod
pod_config lost
container_config sleeper '["/bin/sleep", "1000"]'
if lost=$(runp lost); then
  sleeper=$(cri create "$lost" "$work/sleeper.json" "$work/lost.pod.json") && cri start "$sleeper" > /dev/null
  check "a second pod runs" CONTAINER_RUNNING "$(state_of "$sleeper")"
  cri exec-sync "$server" -- sh -c 'nc -l -p 8081 > /tmp/from-peer 2>&1 < /dev/null &' > /dev/null
  peer_listening() { cri exec-sync "$server" -- sh -c 'netstat -ltn 2>/dev/null | grep -q :8081'; }
  wait_until 60 peer_listening
  cri exec-sync "$sleeper" -- sh -c "echo hello-from-the-other-pod | nc $web_ip 8081" > /dev/null
  from_peer() { [ "$(cri exec-sync "$server" -- cat /tmp/from-peer)" = hello-from-the-other-pod ]; }
  wait_until 30 from_peer; check "pod to pod over the CNI bridge ($web_ip:8081)" 0 $?
fi

pod=$web
cri stop "$client" --stop-timeout 10 > /dev/null; check "StopContainer client" 0 $?
check "client EXITED" CONTAINER_EXITED "$(state_of "$client")"
cri stopp "$pod" > /dev/null; check "StopPodSandbox" 0 $?
check "server EXITED with the pod" CONTAINER_EXITED "$(state_of "$server")"
cri rmp "$pod" > /dev/null; check "RemovePodSandbox" 0 $?
web_vmm_gone() { ! pgrep -f "sandbox-vmm --config /run/sandbox-rt-shim/k8s.io/$web/" > /dev/null; }
wait_until 30 web_vmm_gone; check "the pod's VM is gone" 0 $?

# sandbox-vmm killed: the containers exit with 255 and the pod is NOTREADY.
if [ -n "${lost:-}" ]; then
  pod=$lost
  pkill -9 -f "sandbox-vmm --config /run/sandbox-rt-shim/k8s.io/$pod/"
  exited() { [ "$(state_of "$sleeper")" = CONTAINER_EXITED ]; }
  wait_until 60 exited; check "sandbox-vmm killed: the container EXITED" 0 $?
  check "sandbox-vmm killed: exit code 255" 255 "$(cri inspect "$sleeper" | field exitCode)"
  notready() { [ "$(pod_state_of "$pod")" = SANDBOX_NOTREADY ]; }
  wait_until 60 notready; check "sandbox-vmm killed: the pod is NOTREADY" 0 $?
  cri stopp "$pod" > /dev/null; cri rmp "$pod" > /dev/null; check "the lost pod is removed" 0 $?
else
  check "a second pod runs" 0 1
fi

# The shim killed: containerd's delete path cleans up.
pod_config orphan
if pod=$(runp orphan); then
  check "a third pod runs" SANDBOX_READY "$(pod_state_of "$pod")"
  pkill -9 -f "containerd-shim-sandbox-rt-v2 .*-id $pod"
  notready() { [ "$(pod_state_of "$pod")" = SANDBOX_NOTREADY ]; }
  wait_until 60 notready; check "shim killed: the pod is NOTREADY" 0 $?
  cri stopp "$pod" > /dev/null; cri rmp "$pod" > /dev/null; check "the orphaned pod is removed" 0 $?
else
  check "a third pod runs" 0 1
fi

check "no rootfs mount of a container left" "" "$(grep -F "$tmp/containerd/state" /proc/self/mounts)"
cri_cleanup
trap - EXIT
check "no shim left" "" "$(pgrep -f containerd-shim-sandbox-rt-v2)"
check "no sandbox-vmm left" "" "$(pgrep -f "sandbox-vmm --config /run/sandbox-rt-shim")"
check "no virtiofsd of a pod left" "" "$(pgrep -f "virtiofsd.*sandbox-rt-shim")"
check "no state of the shim left" "" "$(ls -A /run/sandbox-rt-shim/k8s.io 2>/dev/null)"
check "no mount of the test's containerd left" "" "$(grep -F "$tmp" /proc/self/mounts)"
rm -rf "$templates"
[ "$failures" -eq 0 ] || { echo "--- containerd log"; grep -v 'level=info msg="loading plugin' "$work/containerd.log" | tail -n 60; }
echo "cri_e2e: $failures failures"
exit $(( failures > 0 ))
INNER
"$repo/tests/testhost/run.sh" --timeout 900 --mem 3072 -- bash "$work/inner.sh"
