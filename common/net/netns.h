// Running code in another network namespace without moving the process.
//
// setns(CLONE_NEWNET) and unshare(CLONE_NEWNET) switch only the calling
// thread, so each helper runs `work` in a fresh thread that switches and then
// ends: the caller's threads never see another namespace. Sockets and TAPs
// opened by `work` stay in that namespace after the thread ends.
#pragma once

#include <functional>
#include <string>

#include "common/base/status.h"

namespace sandbox::net {

// Runs `work` in the network namespace at `netns_path` (a bind mount under
// /var/run/netns, or /proc/<pid>/ns/net) and returns its Status. Errors name
// the path: "setns /var/run/netns/x: Invalid argument".
Status RunInNetns(const std::string& netns_path, const std::function<Status()>& work);

// Runs `work` in a new, empty network namespace (only a down "lo") that
// disappears when `work` returns unless something it created keeps it alive.
// Needs CAP_SYS_ADMIN; tests use it to never touch the host's network.
Status RunInNewNetns(const std::function<Status()>& work);

}  // namespace sandbox::net
