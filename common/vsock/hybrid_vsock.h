// The host side of sandbox-vmm's hybrid vsock: reach guest port P through the
// VMM's Unix socket ("CONNECT P\n" -> "OK <host port>\n"). See vmm/README.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

// One attempt: fails with kUnavailable when the VMM or the guest refuses
// (no listener on the port yet, driver not ready) or the guest does not
// answer within `reply_timeout` (a hung guest must not block the caller).
Result<UniqueFd> ConnectHybridVsockOnce(const std::string& uds_path, uint32_t port,
                                        std::chrono::milliseconds reply_timeout);

// Retries ConnectHybridVsockOnce until it succeeds or `timeout` passes (the
// guest may still be booting); no attempt waits much past `timeout`. The
// returned socket carries the stream. `vmm_gone`, when given, is asked
// before each retry: once it says the VMM has exited, retrying stops (a
// refusal from a dead VMM looks the same as one from a starting VMM).
Result<UniqueFd> ConnectHybridVsock(const std::string& uds_path, uint32_t port, std::chrono::milliseconds timeout,
                                    const std::function<bool()>& vmm_gone = {});

}  // namespace sandbox
