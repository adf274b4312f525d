// Unix stream sockets: one place for the sockaddr_un length check and the
// socket/bind/listen and socket/connect sequences.
#pragma once

#include <sys/un.h>

#include <chrono>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

// Fails when the path is empty or does not fit sun_path.
Result<sockaddr_un> UnixAddress(const std::string& path);
// A blocking, close-on-exec socket connected to `path`.
Result<UniqueFd> ConnectUnix(const std::string& path);
// A close-on-exec socket bound to `path` (which must not exist) and listening.
Result<UniqueFd> ListenUnix(const std::string& path, int backlog);
// One close-on-exec connection from `listener`, waiting at most `timeout`
// (kDeadlineExceeded naming `what` after that).
Result<UniqueFd> AcceptWithin(int listener, std::chrono::milliseconds timeout, const std::string& what);

}  // namespace sandbox
