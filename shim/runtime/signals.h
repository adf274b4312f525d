#pragma once

#include <signal.h>

#include <string_view>

#include "common/base/status.h"

namespace sandbox::shim {

// "KILL", "SIGKILL", "sigkill" or "9" -> 9, as `runc kill` accepts them.
Result<int> ParseSignal(std::string_view text);

// What a foreground `run` or `exec` hands to the container's process instead
// of acting on (runc's set).
sigset_t ForwardedSignals();

// Blocks ForwardedSignals() in this thread for its lifetime, so that any of
// them that comes while a container is still being made waits (pending) to
// be forwarded once it runs, instead of killing the runtime half-way.
class DeferForwardedSignals {
 public:
  DeferForwardedSignals();
  ~DeferForwardedSignals();
  DeferForwardedSignals(const DeferForwardedSignals&) = delete;
  DeferForwardedSignals& operator=(const DeferForwardedSignals&) = delete;

 private:
  sigset_t previous_;
};

}  // namespace sandbox::shim
