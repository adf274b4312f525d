#include "agent/container/init_channel.h"

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

Status SendInitMessage(int fd, const std::string& message) {
  if (message.size() > kMaxInitMessage) return InvalidArgument("container init message too large");
  const uint32_t length = static_cast<uint32_t>(message.size());
  SANDBOX_RETURN_IF_ERROR(WriteAll(fd, reinterpret_cast<const char*>(&length), sizeof(length)));
  return WriteAll(fd, message.data(), message.size());
}

Result<std::string> ReceiveInitMessage(int fd) {
  uint32_t length = 0;
  SANDBOX_ASSIGN_OR_RETURN(bool got_header, ReadAll(fd, reinterpret_cast<char*>(&length), sizeof(length)));
  if (!got_header) return NotFound("container init channel closed");
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
