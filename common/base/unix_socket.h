// Unix stream sockets: one place for the sockaddr_un sequences
// (socket/bind/listen, socket/connect), at paths of any length.
//
// sun_path holds 108 bytes, less than a state directory such as
// /run/containerd/runc/k8s.io/<64-hex id> plus a socket name. A path that does
// not fit is reached through its parent directory: an O_PATH fd of it, open
// for the duration of the bind or connect only, and the address
// "/proc/self/fd/<fd>/<basename>" (the kernel follows the magic link). So a
// long path needs /proc, and its basename must fit in that address.
#pragma once

#include <chrono>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

// Both fail naming the path (kInvalidArgument when it is empty or its basename
// does not fit even through /proc/self/fd).
// A close-on-exec stream socket connected to `path`; blocking unless
// `socket_flags` adds SOCK_NONBLOCK (then a full backlog is EAGAIN).
Result<UniqueFd> ConnectUnix(const std::string& path, int socket_flags = 0);
// A close-on-exec stream socket bound to `path` (which must not exist) and
// listening; `socket_flags` may add SOCK_NONBLOCK. A failure leaves no socket file.
Result<UniqueFd> ListenUnix(const std::string& path, int backlog, int socket_flags = 0);
// One close-on-exec connection from `listener`, waiting at most `timeout`
// (kDeadlineExceeded naming `what` after that).
Result<UniqueFd> AcceptWithin(int listener, std::chrono::milliseconds timeout, const std::string& what);

}  // namespace sandbox
