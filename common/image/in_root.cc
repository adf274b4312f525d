#include "common/image/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sandbox::image {

Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, path.empty() ? "." : path.c_str(), &how, sizeof(how)));
  if (fd < 0) return ErrnoStatus("openat2", "/" + path);
  return UniqueFd(fd);
}

Result<UniqueFd> OpenDirInRoot(int root_fd, const std::string& path) {
  return OpenInRoot(root_fd, path, O_PATH | O_DIRECTORY);
}

Result<std::string> ReadFileInRoot(const std::string& root, const std::string& path) {
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return ErrnoStatus("open", root);
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd file, OpenInRoot(root_fd.get(), path, O_RDONLY));
  std::string content;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(file.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read", "/" + path);
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

}  // namespace sandbox::image
