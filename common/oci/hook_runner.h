// Runs OCI hooks (config.json "hooks"): `path` with `args` (args[0] is
// argv[0]) and `env` (the caller's environment when absent), the state JSON
// on stdin, stdout and stderr collected, no other fd inherited, killed after
// `timeout` seconds. Shared by the runtime on the host (createRuntime,
// createContainer, poststart, poststop) and the agent in the guest
// (startContainer, in the container's namespaces).
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::oci {

// One hook; errors start with `name` and quote what the hook printed.
Status RunHook(const std::string& name, const Hook& hook, const std::string& state_json);

// `hooks` in order, stopping at the first failure, which names the hook
// ("hooks.<stage>[i] <path>").
Status RunHooks(const std::string& stage, const std::vector<Hook>& hooks, const std::string& state_json);

}  // namespace sandbox::oci
