// `sandbox-agent container-init`: the first process of a container. The
// agent clones it into the new namespaces and execs the agent binary again
// in this mode, so the setup runs in a clean single-threaded process. It
// reads its plan from the init channel (kInitChannelFd), builds the container,
// reports "ready", waits for "start" and execs the user's process.
#pragma once

#include <string>

namespace sandbox::agent {

inline constexpr const char* kContainerInitCommand = "container-init";

// The plan the agent sends: where the rootfs is and the config.
// `state_json`: the container's state for startContainer hooks.
std::string EncodeInitPlan(const std::string& rootfs, const std::string& config_json, bool no_pivot,
                           const std::string& state_json);

// Returns the exit status for main() when the container could not be built.
int RunContainerInit();

}  // namespace sandbox::agent
