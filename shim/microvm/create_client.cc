#include "shim/microvm/create_client.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>

namespace sandbox::shim {

Status ClientGoneStatus() {
  return Unavailable("the create client is gone (killed before the container was handed over)");
}

bool CreateClient::Gone() const {
  // No events asked: a pipe's write end reports POLLERR once no reader is left.
  pollfd client{report_.get(), 0, 0};
  if (!report_.valid()) return report_failed_;
  return ::poll(&client, 1, 0) == 1 && (client.revents & (POLLERR | POLLHUP)) != 0;
}

Status CreateClient::WaitReadable(int fd, std::chrono::milliseconds timeout, const std::string& what) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    std::array<pollfd, 2> events{{{fd, POLLIN, 0}, {report_.get(), 0, 0}}};
    const int ready = ::poll(events.data(), events.size(), static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoStatus("poll", what);
    if (events[1].revents & (POLLERR | POLLHUP)) return ClientGoneStatus();
    if (events[0].revents != 0) return Status::Ok();
    if (ready == 0) {
      return Status(StatusCode::kDeadlineExceeded,
                    "nothing from " + what + " within " + std::to_string(timeout.count()) + " ms");
    }
  }
}

Status CreateClient::Report(const std::string& message) {
  const bool gone = Gone();
  UniqueFd report = std::move(report_);
  report_failed_ = true;
  if (gone || !report.valid()) return ClientGoneStatus();
  for (size_t sent = 0; sent < message.size();) {
    const ssize_t written = ::write(report.get(), message.data() + sent, message.size() - sent);
    if (written < 0 && errno == EINTR) continue;
    // EPIPE: the client went between the check and the write.
    if (written < 0 && errno == EPIPE) return ClientGoneStatus();
    if (written < 0) return ErrnoStatus("write", "the monitor's report");
    sent += static_cast<size_t>(written);
  }
  report_failed_ = false;
  return Status::Ok();
}

}  // namespace sandbox::shim
