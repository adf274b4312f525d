// What the agent's container runtime enforces today. config.json fields it
// cannot honour yet are refused by name (never silently ignored); each
// refusal goes away when the feature lands.
#pragma once

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

Status CheckAgentSupports(const oci::Spec& spec);

}  // namespace sandbox::agent
