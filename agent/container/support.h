// What the agent's container runtime enforces today. config.json fields it
// cannot honour yet are refused by name (never silently ignored); each
// refusal goes away when the feature lands.
#pragma once

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

// Whether any cgroup limit is set.
bool HasResources(const oci::Resources& resources);

Status CheckAgentSupports(const oci::Spec& spec);
// The process part of the above, also what an exec'd process is held to.
Status CheckProcessSupported(const oci::Process& process);

}  // namespace sandbox::agent
