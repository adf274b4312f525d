#include "common/io/preserved_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <string>

namespace sandbox {

Result<FdAccess> ClassifyPreservedFd(int fd) {
  const std::string name = "fd " + std::to_string(fd);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return InvalidArgument(name + " is not open");
  struct stat info {};
  if (::fstat(fd, &info) != 0) return ErrnoStatus("fstat", name);
  if (S_ISDIR(info.st_mode)) return InvalidArgument(name + " is a directory, which cannot be relayed into a microVM");
  if (S_ISSOCK(info.st_mode)) {
    int listening = 0;
    socklen_t size = sizeof(listening);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 && listening != 0) {
      return InvalidArgument(name + " is a listening socket; a microVM gets byte streams, not sockets to accept on");
    }
  }
  if ((flags & O_PATH) == O_PATH) return InvalidArgument(name + " is an O_PATH fd, which carries no data");
  const int mode = flags & O_ACCMODE;
  const FdAccess access{.readable = mode == O_RDONLY || mode == O_RDWR,
                        .writable = mode == O_WRONLY || mode == O_RDWR};
  if (S_ISREG(info.st_mode) && access.readable && access.writable) {
    return InvalidArgument(name + " is a regular file open for reading and writing; as a stream it would lose "
                           "its offset semantics, so open it read-only or write-only");
  }
  return access;
}

Result<std::vector<FdAccess>> ClassifyPreservedFds(size_t count) {
  if (count > kMaxPreservedFds) {
    return InvalidArgument("--preserve-fds " + std::to_string(count) + ": at most " +
                           std::to_string(kMaxPreservedFds) + " fds can be relayed into a microVM");
  }
  std::vector<FdAccess> accesses;
  for (size_t index = 0; index < count; ++index) {
    Result<FdAccess> access = ClassifyPreservedFd(static_cast<int>(3 + index));
    if (!access.ok()) return access.status().Wrap("--preserve-fds");
    accesses.push_back(*access);
  }
  return accesses;
}

void RelayPreservedFd(UniqueFd host, FdAccess access, UniqueFd stream, OutputRelays& output,
                      const std::shared_ptr<StopSignal>& stop) {
  if (access.readable) {
    UniqueFd from(access.writable ? ::fcntl(host.get(), F_DUPFD_CLOEXEC, 3) : host.Release());
    UniqueFd to(access.writable ? ::fcntl(stream.get(), F_DUPFD_CLOEXEC, 3) : stream.Release());
    RelayInBackground(std::move(from), std::move(to), stop);
  }
  if (access.writable) output.Add(std::move(stream), std::move(host), stop->fd());
}

}  // namespace sandbox
