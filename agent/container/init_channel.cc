#include "agent/container/init_channel.h"

#include "common/base/fd_passing.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace sandbox::agent {
namespace {

Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t written = ::send(fd, data, size, MSG_NOSIGNAL);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return ErrnoStatus("send", "container init channel");
    data += written;
    size -= static_cast<size_t>(written);
  }
  return Status::Ok();
}

// Reads exactly `size` bytes; returns false at EOF before the first byte.
Result<bool> ReadAll(int fd, char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(fd, data + done, size - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoStatus("read", "container init channel");
    if (got == 0) {
      if (done == 0) return false;
      return Internal("container init channel: truncated message");
    }
    done += static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

Status SendInitMessage(int fd, const std::string& message, int passed_fd) {
  if (message.size() > kMaxInitMessage) return InvalidArgument("container init message too large");
  const uint32_t length = static_cast<uint32_t>(message.size());
  if (passed_fd >= 0) {
    SANDBOX_RETURN_IF_ERROR(SendWithFd(fd, &length, sizeof(length), passed_fd));
  } else {
    SANDBOX_RETURN_IF_ERROR(WriteAll(fd, reinterpret_cast<const char*>(&length), sizeof(length)));
  }
  return WriteAll(fd, message.data(), message.size());
}

Result<std::string> ReceiveInitMessage(int fd, UniqueFd* passed) {
  uint32_t length = 0;
  auto* header = reinterpret_cast<char*>(&length);
  // The header's first bytes carry the fd, if the message has one.
  SANDBOX_ASSIGN_OR_RETURN(ReceivedFd first, ReceiveWithFd(fd, header, sizeof(length)));
  if (first.bytes == 0) return NotFound("container init channel closed");
  if (first.fd.valid()) {
    if (passed == nullptr) return Internal("container init channel: an fd came where none was expected");
    *passed = std::move(first.fd);
  }
  SANDBOX_ASSIGN_OR_RETURN(bool got_header, ReadAll(fd, header + first.bytes, sizeof(length) - first.bytes));
  if (!got_header && first.bytes < sizeof(length)) return Internal("container init channel: truncated message");
  if (length > kMaxInitMessage) return Internal("container init message too large");
  std::string message(length, '\0');
  SANDBOX_ASSIGN_OR_RETURN(bool got_body, ReadAll(fd, message.data(), length));
  if (!got_body && length > 0) return Internal("container init channel: truncated message");
  return message;
}

Result<std::string> ReceivePlan() {
  ::fcntl(kInitChannelFd, F_SETFD, FD_CLOEXEC);
  return ReceiveInitMessage(kInitChannelFd);
}

int ReportInitFailure(const Status& status, int code) {
  (void)SendInitMessage(kInitChannelFd, "error: " + status.message());
  return code;
}

}  // namespace sandbox::agent
