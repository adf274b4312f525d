#include "common/io/stream_relay.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>

namespace sandbox {
namespace {

constexpr size_t kChunk = 64 * 1024;

// Waits until `fd` is ready for `events` or `stop_fd` is readable. False when stopped.
bool WaitReady(int fd, short events, int stop_fd) {
  for (;;) {
    std::array<pollfd, 2> fds{{{fd, events, 0}, {stop_fd, POLLIN, 0}}};
    const nfds_t count = stop_fd >= 0 ? 2 : 1;
    const int ready = ::poll(fds.data(), count, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return true;  // let the read or write report the error
    if (count == 2 && (fds[1].revents & POLLIN)) return false;
    if (fds[0].revents != 0) return true;
  }
}

}  // namespace

RelayEnd RelayStream(int from, int to, int stop_fd, uint64_t* bytes) {
  std::array<char, kChunk> buffer;
  for (;;) {
    if (!WaitReady(from, POLLIN, stop_fd)) return RelayEnd::kStopped;
    const ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got == 0) return RelayEnd::kEof;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return RelayEnd::kError;
    }
    size_t sent = 0;
    while (sent < static_cast<size_t>(got)) {
      if (!WaitReady(to, POLLOUT, stop_fd)) return RelayEnd::kStopped;
      // MSG_NOSIGNAL is not available for write(); callers ignore SIGPIPE.
      const ssize_t put = ::write(to, buffer.data() + sent, static_cast<size_t>(got) - sent);
      if (put < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return RelayEnd::kError;
      }
      sent += static_cast<size_t>(put);
    }
    if (bytes != nullptr) *bytes += static_cast<uint64_t>(got);
  }
}

void ShutdownWrite(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISSOCK(info.st_mode)) ::shutdown(fd, SHUT_WR);
}

RelayThread::RelayThread(UniqueFd from, UniqueFd to, int stop_fd)
    : finished_(std::make_shared<std::atomic<bool>>(false)),
      thread_([from = std::move(from), to = std::move(to), stop_fd, finished = finished_]() mutable {
        RelayStream(from.get(), to.get(), stop_fd);
        ShutdownWrite(to.get());
        to.Reset();  // the reader sees EOF now, not when the thread is joined
        finished->store(true);
      }) {}

void RelayInBackground(UniqueFd from, UniqueFd to, std::shared_ptr<StopSignal> stop) {
  std::thread([from = std::move(from), to = std::move(to), stop = std::move(stop)]() mutable {
    RelayStream(from.get(), to.get(), stop->fd());
    ShutdownWrite(to.get());
  }).detach();
}

OutputRelays::~OutputRelays() {
  for (std::thread& thread : threads_) thread.detach();
}

void OutputRelays::Add(UniqueFd from, UniqueFd to, int stop_fd) {
  {
    std::lock_guard lock(shared_->mutex);
    ++shared_->running;
  }
  threads_.emplace_back([shared = shared_, from = std::move(from), to = std::move(to), stop_fd]() mutable {
    RelayStream(from.get(), to.get(), stop_fd);
    ShutdownWrite(to.get());
    to.Reset();
    std::lock_guard lock(shared->mutex);
    --shared->running;
    shared->ended.notify_all();
  });
}

bool OutputRelays::WaitAll(std::chrono::milliseconds limit) {
  std::unique_lock lock(shared_->mutex);
  return shared_->ended.wait_for(lock, limit, [this] { return shared_->running == 0; });
}

StopSignal::StopSignal() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void StopSignal::Set() {
  const uint64_t one = 1;
  (void)!::write(fd_.get(), &one, sizeof(one));
}

}  // namespace sandbox
