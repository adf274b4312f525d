#include "common/base/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace sandbox {

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return InvalidArgument("unix socket path \"" + path + "\" is empty or too long");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

Result<UniqueFd> ConnectUnix(const std::string& path) {
  SANDBOX_ASSIGN_OR_RETURN(sockaddr_un address, UnixAddress(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket", path);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return ErrnoStatus("connect", path);
  }
  return fd;
}

Result<UniqueFd> ListenUnix(const std::string& path, int backlog) {
  SANDBOX_ASSIGN_OR_RETURN(sockaddr_un address, UnixAddress(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket", path);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return ErrnoStatus("bind", path);
  if (::listen(fd.get(), backlog) != 0) return ErrnoStatus("listen", path);
  return fd;
}

Result<UniqueFd> AcceptWithin(int listener, std::chrono::milliseconds timeout, const std::string& what) {
  pollfd ready{listener, POLLIN, 0};
  int polled;
  while ((polled = ::poll(&ready, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
  }
  if (polled < 0) return ErrnoStatus("poll", what);
  if (polled == 0) {
    return Status(StatusCode::kDeadlineExceeded, "no connection for " + what + " within " +
                                                     std::to_string(timeout.count()) + " ms");
  }
  UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("accept", what);
  return fd;
}

}  // namespace sandbox
