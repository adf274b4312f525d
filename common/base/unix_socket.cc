#include "common/base/unix_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace sandbox {
namespace {

constexpr size_t kSunPathSize = sizeof(sockaddr_un::sun_path);
constexpr std::string_view kFdDirectory = "/proc/self/fd/";

Status NameTooLong(const std::string& path, const std::string& basename) {
  return InvalidArgument("unix socket path \"" + path + "\": its last component (" + std::to_string(basename.size()) +
                         " bytes) is too long for a socket address, even through /proc/self/fd");
}

// For a path longer than sun_path: "/proc/self/fd/<fd>/<basename>", with
// `parent` opened (O_PATH) on the path's directory as <fd>.
Result<std::string> AddressThroughParent(const std::string& path, UniqueFd& parent) {
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string basename = slash == std::string::npos ? path : path.substr(slash + 1);
  if (basename.empty()) return InvalidArgument("unix socket path \"" + path + "\" names no file");
  // Hopeless whatever the fd number (at least one digit and a slash): fail before opening anything.
  if (kFdDirectory.size() + 2 + basename.size() >= kSunPathSize) return NameTooLong(path, basename);
  parent.Reset(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) return ErrnoStatus("open", "the directory of unix socket " + path);
  std::string address = std::string(kFdDirectory) + std::to_string(parent.get()) + "/" + basename;
  if (address.size() >= kSunPathSize) return NameTooLong(path, basename);
  return address;
}

using AddressCall = int (*)(int, const sockaddr*, socklen_t);

// Calls bind or connect on `fd` with an address that reaches `path`, whatever its length.
Status CallWithAddress(AddressCall call, const char* call_name, int fd, const std::string& path) {
  if (path.empty()) return InvalidArgument("unix socket path is empty");
  UniqueFd parent;  // the address may name it: open until the call has returned
  std::string name = path;
  if (path.size() >= kSunPathSize) {
    SANDBOX_ASSIGN_OR_RETURN(name, AddressThroughParent(path, parent));
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, name.c_str(), name.size() + 1);
  if (call(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) return ErrnoStatus(call_name, path);
  return Status::Ok();
}

}  // namespace

Result<UniqueFd> ConnectUnix(const std::string& path, int socket_flags) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | socket_flags, 0));
  if (!fd.valid()) return ErrnoStatus("socket", path);
  SANDBOX_RETURN_IF_ERROR(CallWithAddress(::connect, "connect", fd.get(), path));
  return fd;
}

Result<UniqueFd> ListenUnix(const std::string& path, int backlog, int socket_flags) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | socket_flags, 0));
  if (!fd.valid()) return ErrnoStatus("socket", path);
  SANDBOX_RETURN_IF_ERROR(CallWithAddress(::bind, "bind", fd.get(), path));
  if (::listen(fd.get(), backlog) != 0) {
    const Status failed = ErrnoStatus("listen", path);
    ::unlink(path.c_str());  // bound by us above: leave nothing behind
    return failed;
  }
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
