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

Result<ReceivedFds> ReceiveWithFds(int socket, void* data, size_t size, int flags) {
  // Room for one fd more than allowed, so a peer sending more is detected.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (kMaxPassedFds + 1))] = {};
  iovec io{data, size};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t got;
  while ((got = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC | flags)) < 0 && errno == EINTR) {
  }
  ReceivedFds received;
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && (flags & MSG_DONTWAIT)) {
    received.would_block = true;
    return received;
  }
  if (got < 0) return ErrnoStatus("recvmsg", "receiving file descriptors");
  received.bytes = static_cast<size_t>(got);
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      received.fds.emplace_back(fd);  // owned at once, so an error below closes it
    }
  }
  if (message.msg_flags & MSG_CTRUNC) return Internal("received control data was truncated (too many fds)");
  if (received.fds.size() > kMaxPassedFds) {
    return Internal("received " + std::to_string(received.fds.size()) + " fds, more than " +
                    std::to_string(kMaxPassedFds));
  }
  return received;
}

Result<ReceivedFd> ReceiveWithFd(int socket, void* data, size_t size) {
  SANDBOX_ASSIGN_OR_RETURN(ReceivedFds received, ReceiveWithFds(socket, data, size));
  if (received.fds.size() > 1) {
    return Internal("received " + std::to_string(received.fds.size()) + " fds where one was expected");
  }
  ReceivedFd one;
  one.bytes = received.bytes;
  if (!received.fds.empty()) one.fd = std::move(received.fds[0]);
  return one;
}

}  // namespace sandbox
