#include "shim/microvm/signal_forwarding.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "common/base/unique_fd.h"
#include "shim/runtime/signals.h"

namespace sandbox::shim {

Status ForwardSignalsUntil(int done_fd, const std::function<void(int)>& forward) {
  const sigset_t forwarded = ForwardedSignals();
  sigset_t previous;
  ::pthread_sigmask(SIG_BLOCK, &forwarded, &previous);
  UniqueFd signals(::signalfd(-1, &forwarded, SFD_CLOEXEC));
  if (!signals.valid()) {
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return ErrnoStatus("signalfd", "forwarding signals");
  }
  for (;;) {
    std::array<pollfd, 2> events{{{done_fd, POLLIN, 0}, {signals.get(), POLLIN, 0}}};
    if (::poll(events.data(), events.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (events[1].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signals.get(), &info, sizeof(info)) == sizeof(info)) forward(static_cast<int>(info.ssi_signo));
    }
    if (events[0].revents & (POLLIN | POLLHUP | POLLERR)) break;
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return Status::Ok();
}

}  // namespace sandbox::shim
