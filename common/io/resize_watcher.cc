#include "common/io/resize_watcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace sandbox {
namespace {

sigset_t WinchOnly() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGWINCH);
  return set;
}

}  // namespace

Result<std::unique_ptr<ResizeWatcher>> ResizeWatcher::Create() {
  std::unique_ptr<ResizeWatcher> watcher(new ResizeWatcher());
  const sigset_t winch = WinchOnly();
  ::pthread_sigmask(SIG_BLOCK, &winch, nullptr);
  watcher->signals_.Reset(::signalfd(-1, &winch, SFD_CLOEXEC));
  if (!watcher->signals_.valid()) {
    ::pthread_sigmask(SIG_UNBLOCK, &winch, nullptr);
    return ErrnoStatus("signalfd", "SIGWINCH");
  }
  return watcher;
}

ResizeWatcher::~ResizeWatcher() {
  stop_.Set();
  if (thread_.joinable()) thread_.join();
  const sigset_t winch = WinchOnly();
  ::pthread_sigmask(SIG_UNBLOCK, &winch, nullptr);
}

void ResizeWatcher::Start(std::function<void()> on_resize) {
  on_resize();
  thread_ = std::thread([this, on_resize = std::move(on_resize)] {
    for (;;) {
      std::array<pollfd, 2> events{{{signals_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}}};
      if (::poll(events.data(), events.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (events[1].revents & POLLIN) return;
      signalfd_siginfo info{};
      if (::read(signals_.get(), &info, sizeof(info)) == sizeof(info)) on_resize();
    }
  });
}

}  // namespace sandbox
