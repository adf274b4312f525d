// Fixed facts of the agent API that both sides must agree on.
#pragma once

#include <cstdint>

namespace sandbox::agent {

// The vsock port the agent listens on in the guest.
inline constexpr uint32_t kAgentVsockPort = 1024;
inline constexpr char kAgentService[] = "sandbox.agent.v1.Agent";
// Printed on the console once the agent accepts connections.
inline constexpr char kReadyMarker[] = "sandbox-agent: ready";

}  // namespace sandbox::agent
