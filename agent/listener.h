// The agent's listening socket: "vsock:PORT" in the guest, "unix:PATH" in
// host test mode (same code path apart from the address family).
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::agent {

Result<UniqueFd> Listen(const std::string& address);
Result<UniqueFd> Accept(int listener);
// Connects to "vsock:CID:PORT", "hybrid:PATH:PORT" (sandbox-vmm's hybrid
// vsock socket; retried while the guest boots) or "unix:PATH" (used by tests
// and tools).
Result<UniqueFd> Connect(const std::string& address);

}  // namespace sandbox::agent
