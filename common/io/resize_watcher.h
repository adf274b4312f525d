// Follows this process's terminal size: SIGWINCH, read from a signalfd on a
// thread of its own, runs a callback (copy the size to a pty, send a
// ResizeTty). For `run` and `exec` relaying a container's terminal to the
// caller's.
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/io/stream_relay.h"

namespace sandbox {

class ResizeWatcher {
 public:
  // Blocks SIGWINCH in the calling thread. Create it before the process
  // starts other threads: they inherit the block, so no thread discards the
  // signal before the signalfd reads it.
  static Result<std::unique_ptr<ResizeWatcher>> Create();
  // Stops the thread; SIGWINCH is unblocked again in the destroying thread.
  ~ResizeWatcher();
  ResizeWatcher(const ResizeWatcher&) = delete;
  ResizeWatcher& operator=(const ResizeWatcher&) = delete;

  // Runs `on_resize` now and after each SIGWINCH until destroyed.
  void Start(std::function<void()> on_resize);

 private:
  ResizeWatcher() = default;

  UniqueFd signals_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace sandbox
