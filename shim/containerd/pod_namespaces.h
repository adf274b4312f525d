// How a CRI pod's namespaces map into its VM. containerd's CRI plugin gives
// the sandbox container the network namespace CNI set up on the host, and
// each later container of the pod the sandbox task's namespaces as
// /proc/<pid>/ns/<type>, pid being what the shim reported for the sandbox
// task (its sandbox-vmm). Neither exists in the guest. In the VM:
// - the pod's network namespace is the VM's own, where the agent runs (and
//   the VM's network devices are): the sandbox container's network entry is
//   dropped, so it stays there, as a hostNetwork pod's would;
// - a namespace named by the sandbox task's pid is the sandbox container's in
//   the guest: /proc/<its guest pid>/ns/<type>;
// - any other path names a host namespace, which the VM cannot enter: refused.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::shim::containerd {

struct PodNamespaces {
  uint32_t sandbox_task_pid = 0;  // as reported to containerd (sandbox-vmm's)
  int64_t sandbox_guest_pid = 0;  // the sandbox container's init in the guest; 0: `spec` is the sandbox's
};

// Rewrites linux.namespaces of `spec` as above; errors name the entry.
Status MapPodNamespaces(oci::Spec& spec, const PodNamespaces& pod);

}  // namespace sandbox::shim::containerd
