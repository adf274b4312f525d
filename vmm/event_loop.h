// The device event loop: one thread waiting in epoll on every device fd
// (queue notifications, host sockets, console input). Handlers run on that
// thread; registration is allowed from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  static Result<std::unique_ptr<EventLoop>> Create();

  // The loop does not own `fd`; Remove it before closing it.
  Status Add(int fd, uint32_t events, Handler handler);
  Status Modify(int fd, uint32_t events);
  void Remove(int fd);
  // Runs handlers until Stop(); returns at once if Stop() came first.
  void Run();
  void Stop();

 private:
  EventLoop() = default;
  UniqueFd epoll_;
  UniqueFd stop_event_;
  std::mutex mutex_;
  std::map<int, std::shared_ptr<Handler>> handlers_;
};

// An eventfd owned by RAII, as used for irqfd, ioeventfd and wake-ups.
class EventFd {
 public:
  static Result<EventFd> Create(bool nonblocking = true);
  int fd() const { return fd_.get(); }
  void Signal() const;
  // Reads and clears the counter; false if it was zero (non-blocking fds).
  bool Consume() const;

 private:
  UniqueFd fd_;
};

}  // namespace sandbox::vmm
