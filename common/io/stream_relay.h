// Copies a byte stream from one fd to another until EOF, for process stdio
// (agent: vsock <-> pipes; shim: the caller's stdio <-> vsock). Binary-safe;
// back-pressure comes from blocking on the destination; a stop eventfd ends
// a relay early (container removed, sandbox torn down).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

enum class RelayEnd {
  kEof,      // the source reached EOF: everything was delivered
  kStopped,  // the stop fd became readable
  kError,    // reading or writing failed (peer gone)
};

// Relays `from` -> `to`. Either fd may be blocking or not; with `stop_fd`
// >= 0 the relay also returns once that fd is readable. Returns how it ended
// and adds the bytes moved to *bytes when given. With `coalesce` > 0, a read
// of 1 KiB or more that comes within `coalesce` of the previous write (bulk
// output in full flow) and is shorter than the relay's buffer is topped up
// for at most that long before it is written: a writer's 4 KiB chunks leave
// as fewer, larger writes (in a guest, each write to vsock is a packet and a
// VM exit). The first read after a pause and any short read (a prompt, an
// echo, a protocol's reply) are written at once.
RelayEnd RelayStream(int from, int to, int stop_fd, uint64_t* bytes = nullptr,
                     std::chrono::microseconds coalesce = std::chrono::microseconds(0));

// How a RelayThread gathers its source's small reads (RelayStream's
// `coalesce`). `timer_slack` (PR_SET_TIMERSLACK for the relay's thread) lets
// the kernel end a window that late: in a guest, a slack of one scheduler
// tick lets the tick end it, where an exact timeout programs the guest's
// timer, one more VM exit per window.
struct Coalescing {
  std::chrono::microseconds window{0};
  std::chrono::microseconds timer_slack{0};  // 0: the kernel's default
};

// Signals the far end that no more data comes: shutdown(SHUT_WR) for a
// socket; the caller closes anything else.
void ShutdownWrite(int fd);

// A relay on its own thread that owns both ends: when the source ends it
// half-closes (sockets) and closes the destination, so the reader sees EOF.
class RelayThread {
 public:
  RelayThread() = default;
  RelayThread(UniqueFd from, UniqueFd to, int stop_fd, Coalescing coalescing = {});
  RelayThread(RelayThread&&) = default;
  RelayThread& operator=(RelayThread&&) = default;
  ~RelayThread() { Join(); }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // The relay has ended (EOF, stop or error) and closed its ends.
  bool finished() const { return !finished_ || finished_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> finished_;
  std::thread thread_;
};

class StopSignal;

// An input relay (a caller's stdin, a preserved fd's guest-bound half) on a
// detached thread, never waited for: its source may never reach EOF. At the
// source's end it half-closes `to`; `stop` ends it early and is kept alive
// by the thread.
void RelayInBackground(UniqueFd from, UniqueFd to, std::shared_ptr<StopSignal> stop);

// Output relays (a process's stdout and stderr) whose end can be awaited
// with a bound once the process has exited: each half-closes and closes its
// destination at the source's EOF. Threads still blocked when this is
// destroyed are detached; they end with their stop fd or with the process.
class OutputRelays {
 public:
  OutputRelays() : shared_(std::make_shared<Shared>()) {}
  ~OutputRelays();
  OutputRelays(const OutputRelays&) = delete;
  OutputRelays& operator=(const OutputRelays&) = delete;

  void Add(UniqueFd from, UniqueFd to, int stop_fd);
  // True when every relay reached its end within `limit`.
  bool WaitAll(std::chrono::milliseconds limit);

 private:
  struct Shared {
    std::mutex mutex;
    std::condition_variable ended;
    int running = 0;
  };
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
};

// An eventfd that, once Set(), stays readable: one Set() stops every relay
// polling it.
class StopSignal {
 public:
  StopSignal();
  int fd() const { return fd_.get(); }
  void Set();

 private:
  UniqueFd fd_;
};

}  // namespace sandbox
