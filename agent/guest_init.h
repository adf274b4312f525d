// What the agent does as PID 1 of the microVM, before serving: mount the
// kernel filesystems, enable every cgroup v2 controller, bring up lo, and
// reap orphans. Host test mode skips all of it.
#pragma once

#include "common/base/status.h"

namespace sandbox::agent {

Status SetUpGuest();

// sync, then reboot(2): with reboot=k the VMM sees the i8042 reset and ends
// the VM. Does not return on success.
Status PowerOff();

}  // namespace sandbox::agent
