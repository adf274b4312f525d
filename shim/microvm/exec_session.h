// `sandbox-rt exec` on the microVM backend, in the foreground: one more
// process in the container (the agent's ExecProcess), its stdio relayed
// between this process's fds 0-2 and vsock ports of its own, the signals
// this process gets forwarded to it, and its exit status returned.
#pragma once

#include "common/base/status.h"
#include "shim/runtime/sandbox.h"

namespace sandbox::shim {

Result<ExecResult> RunExec(const SandboxRef& ref, const ExecRequest& request);

}  // namespace sandbox::shim
