// Passing file descriptors over Unix sockets (SCM_RIGHTS): the console
// socket of runc's --console-socket protocol (the pty master, with its name
// as the message) and the agent's channel to a container's init.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

// Sends `size` bytes (at least one) with `fd` attached to the first of them.
Status SendWithFd(int socket, const void* data, size_t size, int fd);
// The same with any number of fds up to kMaxPassedFds (none is allowed):
// vhost-user's SET_MEM_TABLE carries one per memory region.
inline constexpr size_t kMaxPassedFds = 8;
Status SendWithFds(int socket, const void* data, size_t size, std::span<const int> fds);

struct ReceivedFd {
  size_t bytes = 0;  // 0: the peer closed the connection
  UniqueFd fd;       // invalid when the message carried none
};

struct ReceivedFds {
  size_t bytes = 0;  // 0: the peer closed the connection (unless would_block)
  std::vector<UniqueFd> fds;
  bool would_block = false;  // MSG_DONTWAIT and nothing to read
};
// One recvmsg of at most `size` bytes and up to kMaxPassedFds fds attached
// to them; `flags` as recvmsg's (MSG_DONTWAIT). More fds are an error, and
// closed.
Result<ReceivedFds> ReceiveWithFds(int socket, void* data, size_t size, int flags = 0);

// One recvmsg of at most `size` bytes and the fd attached to them, if any.
// Extra fds and truncated control data are errors (nothing leaks).
Result<ReceivedFd> ReceiveWithFd(int socket, void* data, size_t size);

}  // namespace sandbox
