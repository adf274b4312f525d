// The signals `run` and `exec` pass on to the container's process while they
// wait for it, as runc does (HUP, INT, QUIT, TERM, USR1, USR2 and the job
// control signals).
#pragma once

#include <functional>

#include "common/base/status.h"

namespace sandbox::shim {

// Blocks until `done_fd` is readable (a pidfd, an eventfd), handing each
// forwardable signal this process receives meanwhile to `forward`; their
// default actions are held off until it returns.
Status ForwardSignalsUntil(int done_fd, const std::function<void(int)>& forward);

}  // namespace sandbox::shim
