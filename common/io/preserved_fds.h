// --preserve-fds across the VM boundary. runc hands the caller's fds 3, 4,
// ... to the container process; a microVM cannot share an open file with
// its guest, so each fd becomes a byte stream: the guest process gets a pipe
// end (or, for an fd open for reading and writing, one end of a stream
// socket pair) at the same number, relayed to the host fd it stands for.
// That serves pipes, FIFOs, connected sockets, terminals and files read or
// written in sequence; what a stream cannot stand for is refused by fd:
// listening sockets, directories, and regular files open for both (a seek
// or a read after a write would not do what it does on the host).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/io/stream_relay.h"

namespace sandbox {

// Each fd costs a vsock stream and relay threads on both sides.
inline constexpr size_t kMaxPreservedFds = 32;

// What the container process may do with its copy of one preserved fd.
struct FdAccess {
  bool readable = false;  // the host fd's bytes flow into the guest
  bool writable = false;  // the guest's bytes flow to the host fd
};

// The access fd `fd` allows, or why it cannot cross into a microVM.
Result<FdAccess> ClassifyPreservedFd(int fd);
// fds 3 .. 3+count-1 of this process, in order; errors name
// "--preserve-fds" and the fd.
Result<std::vector<FdAccess>> ClassifyPreservedFds(size_t count);

// Host side of one preserved fd, once the guest's stream connection is up:
// the guest-bound half runs on a thread of its own that is never waited for
// (the host fd may never reach EOF); the host-bound half joins `output`, so
// it can be drained once the process has exited.
void RelayPreservedFd(UniqueFd host, FdAccess access, UniqueFd stream, OutputRelays& output,
                      const std::shared_ptr<StopSignal>& stop);

}  // namespace sandbox
