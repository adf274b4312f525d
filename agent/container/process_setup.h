// The container process's own attributes, applied by the container init
// right before exec: hostname, sysctls, rlimits, oom score, identity,
// capabilities (libcap), no_new_privs, umask and cwd; then the exec itself.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

// Hostname, domainname, sysctls (need the container's /proc).
Status ApplySystemSettings(const oci::Spec& spec, bool own_uts_namespace);
// Everything about the process up to the exec, in runc's order.
Status ApplyProcessSettings(const oci::Process& process);
// The executable for args[0]: as given when it contains '/', else looked up
// in PATH from the process's environment.
Result<std::string> ResolveExecutable(const oci::Process& process);
// Never returns on success.
Status ExecProcess(const oci::Process& process, const std::string& executable);

}  // namespace sandbox::agent
