// `sandbox-agent exec-init`: an extra process in a running container (OCI
// exec). The agent clones it into the container's cgroup and pid namespace;
// it joins the container's other namespaces (the init's, through /proc),
// applies the process's attributes and the container's seccomp filter, and
// execs. The channel (kInitChannelFd) closes on exec; an error is sent back as text.
#pragma once

#include <sys/types.h>

#include <string>

namespace sandbox::agent {

inline constexpr const char* kExecInitCommand = "exec-init";

// The plan the agent sends: whose namespaces to join, the container's
// config (seccomp) and the runtime-spec process object to run.
std::string EncodeExecPlan(pid_t container_init, const std::string& config_json, const std::string& process_json);

// Returns the exit status for main() when the process could not be started.
int RunExecInit();

}  // namespace sandbox::agent
