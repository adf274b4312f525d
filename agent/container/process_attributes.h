// Scheduling and execution attributes of a container process, applied by
// the container init or exec init before it execs: process.ioPriority,
// process.scheduler, process.execCPUAffinity (execs only, as the runtime
// spec says), linux.personality and linux.memoryPolicy. The values were
// checked by common/oci's validation at create; errors name the field.
#pragma once

#include <bitset>
#include <string>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

// A Linux CPU or node list ("0-3,7") as a bitset; `field` names it in errors.
inline constexpr size_t kMaxListedIds = 1024;
Result<std::bitset<kMaxListedIds>> ParseIdList(const std::string& list, const std::string& field);

// ioPriority and scheduler: before the identity switch, while the process
// still holds CAP_SYS_NICE.
Status ApplySchedulingAttributes(const oci::Process& process);
// The exec's final CPU affinity (process.execCPUAffinity.final).
Status ApplyExecCpuAffinity(const oci::Process& process);
// personality and memoryPolicy: both survive execve.
Status ApplyLinuxAttributes(const oci::Linux& linux);

}  // namespace sandbox::agent
