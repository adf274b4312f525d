// The three lives of containerd-shim-sandbox-rt-v2 (containerd's shim v2
// binary protocol):
// - start: run by containerd in the task's bundle; finds the pod's shim
//   (tasks with the same io.kubernetes.cri.sandbox-id share one, hence one VM)
//   or spawns it with its listening socket, and prints the ttrpc address;
// - serve: the long-lived shim: the containerd.task.v2.Task service over
//   ttrpc, one PodSandbox, until Shutdown with no task left;
// - delete: run by containerd when the shim died: removes what it left
//   (VM, mounts, state) and prints a DeleteResponse.
#pragma once

#include <string>

#include "common/base/status.h"
#include "shim/containerd/shim_args.h"

namespace sandbox::shim::containerd {

// Where shims keep their pods' state: <root>/<namespace>/<pod id>.
inline constexpr char kShimStateRoot[] = "/run/sandbox-rt-shim";
// The listening socket the start action hands to the server.
inline constexpr int kListenerFd = 3;

struct PodLocation {
  std::string pod_id;     // the sandbox-id annotation, else the task id
  std::string state_dir;  // <root>/<namespace>/<pod id>
  std::string socket;     // <state_dir>/shim.sock
};

// From the bundle's config.json annotations (CRI's grouping), validated as
// path components.
Result<PodLocation> LocatePod(const std::string& state_root, const std::string& namespace_name,
                              const std::string& task_id, const std::string& bundle);

// Each returns the process's exit status; errors go to stderr.
int RunStart(const ShimArgs& args, const std::string& self_binary);
int RunServe(const ShimArgs& args, const std::string& self_binary);
int RunDelete(const ShimArgs& args);

}  // namespace sandbox::shim::containerd
