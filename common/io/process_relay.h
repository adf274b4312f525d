// The host side of one container process's streams, shared by everything
// that runs a process in a guest and waits for it (the monitor of
// `sandbox-rt create/run`, the foreground `exec`, the containerd shim): the
// relays between the host's ends and the guest's stream connections, and the
// agent's blocking wait turned into an fd that can be polled.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/io/preserved_fds.h"
#include "common/io/stream_relay.h"

namespace sandbox {

// How long a finished process's output may still flow before its relays are
// stopped (a guest that never closes a stream must not hold the host).
inline constexpr std::chrono::seconds kOutputDrainLimit{5};

// Host and guest ends of one process's streams: stdio 0-2 (an invalid fd is
// a stream not relayed) and the preserved fds 3, 4, ... in order.
struct ProcessStreamEnds {
  std::array<UniqueFd, 3> stdio;
  std::vector<UniqueFd> preserved;
};

// Starts relaying at construction: stdin (and each preserved fd's
// guest-bound half) on threads never waited for, since their sources may
// never end; stdout, stderr and the preserved fds' host-bound halves until
// their EOF, awaited by Drain().
class ProcessRelay {
 public:
  ProcessRelay(ProcessStreamEnds host, ProcessStreamEnds guest, const std::vector<FdAccess>& preserved_access);
  ProcessRelay(const ProcessRelay&) = delete;
  ProcessRelay& operator=(const ProcessRelay&) = delete;
  ~ProcessRelay();

  // Once the process has exited: waits up to kOutputDrainLimit for the output
  // to end, then stops every relay still running.
  void Drain();

 private:
  std::shared_ptr<StopSignal> stop_ = std::make_shared<StopSignal>();
  OutputRelays output_;
  bool drained_ = false;
};

// A blocking wait for a process's exit status (the agent's WaitProcess) on a
// thread of its own: done_fd() turns readable when it has returned, so it can
// be polled together with a VMM's pidfd or a signal fd.
class BackgroundWait {
 public:
  explicit BackgroundWait(std::function<Result<int>()> wait);
  BackgroundWait(const BackgroundWait&) = delete;
  BackgroundWait& operator=(const BackgroundWait&) = delete;
  ~BackgroundWait();  // joins, unless abandoned

  int done_fd() const { return shared_->done.get(); }
  // Waits for the thread and returns what the wait returned.
  Result<int> Join();
  // Leaves the thread running (its connection died with the VM, and it ends
  // when that is noticed or with the process); it owns what it shares.
  void Abandon();

 private:
  struct Shared {
    UniqueFd done;
    Result<int> exit_code = Internal("not waited");
  };
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace sandbox
