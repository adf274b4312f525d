// The `sandbox-rt create` (or run) process a monitor reports to (monitor.h).
// Until the hand-over it holds the read end of the report pipe, and nothing
// else does (the pipe is close-on-exec), so once it is gone (SIGKILLed by its
// caller's timeout, as containerd and podman do) the monitor's write end polls
// POLLERR: nobody will finish or undo the create then but the monitor.
//
// Not thread-safe; the monitor's main thread owns it.
#pragma once

#include <chrono>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::shim {

class CreateClient {
 public:
  // `report`: the write end of the report pipe.
  explicit CreateClient(UniqueFd report) : report_(std::move(report)) {}

  // True once the client is gone; after Report, true when the report failed.
  bool Gone() const;

  // Waits until `fd` is readable (or hung up), at most `timeout`:
  // kDeadlineExceeded naming `what` then; kUnavailable as soon as the client is gone.
  Status WaitReadable(int fd, std::chrono::milliseconds timeout, const std::string& what) const;

  // Sends the one report ("ok" or "error: ...") and closes the pipe: the
  // hand-over. kUnavailable when the client is gone. SIGPIPE must be ignored
  // (RunMonitor does so first of all).
  Status Report(const std::string& message);

 private:
  UniqueFd report_;
  bool report_failed_ = false;
};

// What WaitReadable and Report return when the client is gone.
Status ClientGoneStatus();

}  // namespace sandbox::shim
