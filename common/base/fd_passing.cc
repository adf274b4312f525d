#include "common/base/fd_passing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sandbox {

Status SendWithFd(int socket, const void* data, size_t size, int fd) {
  const int fds[] = {fd};
  return SendWithFds(socket, data, size, fds);
}

Status SendWithFds(int socket, const void* data, size_t size, std::span<const int> fds) {
  if (size == 0) return InvalidArgument("an fd travels with at least one byte");
  if (fds.size() > kMaxPassedFds) return InvalidArgument("more than " + std::to_string(kMaxPassedFds) + " fds in one message");
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  iovec io{const_cast<void*>(data), size};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  if (!fds.empty()) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t sent;
  while ((sent = ::sendmsg(socket, &message, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (sent < 0) return ErrnoStatus("sendmsg", "passing a file descriptor");
  const auto* rest = static_cast<const char*>(data) + sent;
  size_t left = size - static_cast<size_t>(sent);
  while (left > 0) {
    const ssize_t more = ::send(socket, rest, left, MSG_NOSIGNAL);
    if (more < 0 && errno == EINTR) continue;
    if (more <= 0) return ErrnoStatus("send", "passing a file descriptor");
    rest += more;
    left -= static_cast<size_t>(more);
  }
  return Status::Ok();
}

Result<ReceivedFd> ReceiveWithFd(int socket, void* data, size_t size) {
  // Room for a few fds, so a peer sending more is detected and none leaks.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
  iovec io{data, size};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t got;
  while ((got = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (got < 0) return ErrnoStatus("recvmsg", "receiving a file descriptor");
  ReceivedFd received;
  received.bytes = static_cast<size_t>(got);
  size_t fds_seen = 0;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      if (fds_seen++ == 0) {
        received.fd.Reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  if (message.msg_flags & MSG_CTRUNC) return Internal("received control data was truncated (too many fds)");
  if (fds_seen > 1) return Internal("received " + std::to_string(fds_seen) + " fds where one was expected");
  return received;
}

}  // namespace sandbox
