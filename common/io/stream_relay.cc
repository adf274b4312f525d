#include "common/io/stream_relay.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace sandbox {
namespace {

constexpr size_t kChunk = 64 * 1024;
// A read at least this long, soon after the last write, is bulk output (a
// stdio buffer's worth, or near it), not a prompt or a protocol's reply.
constexpr size_t kFlowRead = 1024;

enum class Readiness { kReady, kStopped, kTimedOut };

// Waits until `fd` is ready for `events`, `stop_fd` is readable or the
// deadline (if any) passes. A failed poll counts as ready: the read or write
// that follows reports the error.
Readiness WaitReady(int fd, short events, int stop_fd,
                    std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) {
  for (;;) {
    timespec timeout{};
    if (deadline) {
      const auto left = *deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return Readiness::kTimedOut;
      const auto left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timeout = {.tv_sec = left_ns / 1'000'000'000, .tv_nsec = left_ns % 1'000'000'000};
    }
    std::array<pollfd, 2> fds{{{fd, events, 0}, {stop_fd, POLLIN, 0}}};
    const nfds_t count = stop_fd >= 0 ? 2 : 1;
    const int ready = ::ppoll(fds.data(), count, deadline ? &timeout : nullptr, nullptr);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Readiness::kReady;
    if (ready == 0) return Readiness::kTimedOut;
    if (count == 2 && (fds[1].revents & POLLIN)) return Readiness::kStopped;
    if (fds[0].revents != 0) return Readiness::kReady;
  }
}

// Reads more of `from` into buffer[filled..] until the buffer is full, the
// source ends (*ended), `deadline` passes or `stop_fd` is readable. A read
// error ends it too: the caller's next read reports it.
size_t TopUp(int from, std::span<char> buffer, size_t filled, std::chrono::steady_clock::time_point deadline,
             int stop_fd, bool* ended) {
  while (filled < buffer.size()) {
    if (WaitReady(from, POLLIN, stop_fd, deadline) != Readiness::kReady) break;
    const ssize_t got = ::read(from, buffer.data() + filled, buffer.size() - filled);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      *ended = got == 0;
      break;
    }
    filled += static_cast<size_t>(got);
  }
  return filled;
}

// Writes all of `data` to `to`. False when stopped or when the write failed (*failed).
bool WriteAll(int to, std::span<const char> data, int stop_fd, bool* failed) {
  size_t sent = 0;
  while (sent < data.size()) {
    if (WaitReady(to, POLLOUT, stop_fd) == Readiness::kStopped) return false;
    // MSG_NOSIGNAL is not available for write(); callers ignore SIGPIPE.
    const ssize_t put = ::write(to, data.data() + sent, data.size() - sent);
    if (put < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *failed = true;
      return false;
    }
    sent += static_cast<size_t>(put);
  }
  return true;
}

}  // namespace

RelayEnd RelayStream(int from, int to, int stop_fd, uint64_t* bytes, std::chrono::microseconds coalesce) {
  std::array<char, kChunk> buffer;
  // When the last write ended; a read soon after it is part of a flow.
  std::optional<std::chrono::steady_clock::time_point> last_write;
  for (;;) {
    if (WaitReady(from, POLLIN, stop_fd) == Readiness::kStopped) return RelayEnd::kStopped;
    const ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got == 0) return RelayEnd::kEof;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return RelayEnd::kError;
    }
    size_t filled = static_cast<size_t>(got);
    bool ended = false;
    const auto now = std::chrono::steady_clock::now();
    if (coalesce.count() > 0 && filled >= kFlowRead && filled < buffer.size() && last_write &&
        now - *last_write < coalesce) {
      filled = TopUp(from, buffer, filled, now + coalesce, stop_fd, &ended);
    }
    bool failed = false;
    if (!WriteAll(to, std::span<const char>(buffer.data(), filled), stop_fd, &failed)) {
      return failed ? RelayEnd::kError : RelayEnd::kStopped;
    }
    if (coalesce.count() > 0) last_write = std::chrono::steady_clock::now();
    if (bytes != nullptr) *bytes += filled;
    if (ended) return RelayEnd::kEof;
  }
}

void ShutdownWrite(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISSOCK(info.st_mode)) ::shutdown(fd, SHUT_WR);
}

RelayThread::RelayThread(UniqueFd from, UniqueFd to, int stop_fd, Coalescing coalescing)
    : finished_(std::make_shared<std::atomic<bool>>(false)),
      thread_([from = std::move(from), to = std::move(to), stop_fd, coalescing, finished = finished_]() mutable {
        if (coalescing.timer_slack.count() > 0) {
          ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(coalescing.timer_slack.count()) * 1000UL);
        }
        RelayStream(from.get(), to.get(), stop_fd, nullptr, coalescing.window);
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
