// OCI hooks that run on the host (config.json "hooks"): prestart and
// createRuntime once the container is created, poststart after start,
// poststop after delete. Each runs `path` with `args` (args[0] is argv[0])
// and `env` (the runtime's environment when absent), the container's state
// JSON on stdin, and is killed after `timeout` seconds.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"
#include "common/oci/state.h"

namespace sandbox::shim {

// Runs `hooks` in order and stops at the first failure, which names the
// hook ("hooks.<stage>[i] <path>") and quotes its output.
Status RunHooks(const std::string& stage, const std::vector<oci::Hook>& hooks, const oci::State& state);

// The same in the network namespace of process `pid` (state.pid: the
// container's process, for the microVM backend its sandbox's), with the
// paths still resolved on the host: createContainer, which resolves in the
// runtime's namespace and runs in the container's.
Status RunHooksInNetworkNamespaceOf(int64_t pid, const std::string& stage, const std::vector<oci::Hook>& hooks,
                                    const oci::State& state);

}  // namespace sandbox::shim
