#include "agent/self_executable.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace sandbox::agent {

Result<UniqueFd> SealedSelfExecutable() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return ErrnoStatus("open", "/proc/self/exe");
  struct stat info{};
  if (::fstat(self.get(), &info) != 0) return ErrnoStatus("fstat", "/proc/self/exe");
  UniqueFd copy(::memfd_create("sandbox-agent", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy.valid()) return ErrnoStatus("memfd_create", "sandbox-agent");
  off_t offset = 0;
  while (offset < info.st_size) {
    const ssize_t sent = ::sendfile(copy.get(), self.get(), &offset, static_cast<size_t>(info.st_size - offset));
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return ErrnoStatus("sendfile", "/proc/self/exe to its memfd copy");
    if (sent == 0) return Internal("/proc/self/exe: ended at byte " + std::to_string(offset) + " of " +
                                   std::to_string(info.st_size));
  }
  if (::fchmod(copy.get(), 0555) != 0) return ErrnoStatus("fchmod", "the agent's memfd copy");
  constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0) return ErrnoStatus("fcntl(F_ADD_SEALS)", "the agent's memfd copy");
  return copy;
}

Result<UniqueFd> ReadOnlySelfExecutable(const std::string& empty_dir) {
  char target[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", target, sizeof(target) - 1);
  if (length <= 0) return ErrnoStatus("readlink", "/proc/self/exe");
  const std::string self(target, static_cast<size_t>(length));
  const size_t slash = self.rfind('/');
  if (slash == std::string::npos) return Internal("/proc/self/exe: not an absolute path: " + self);
  const std::string directory = slash == 0 ? "/" : self.substr(0, slash);
  const std::string name = self.substr(slash + 1);
  UniqueFd context(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!context.valid()) return ErrnoStatus("fsopen", "overlay");
  const std::string layers = directory + ":" + empty_dir;
  if (layers.find_first_of(",\\") != std::string::npos || std::count(layers.begin(), layers.end(), ':') != 1) {
    return InvalidArgument("overlay lowerdir=" + layers + ": a path holds ':', ',' or '\\'");
  }
  if (::fsconfig(context.get(), FSCONFIG_SET_STRING, "lowerdir", layers.c_str(), 0) != 0) {
    return ErrnoStatus("fsconfig", "overlay lowerdir=" + layers);
  }
  if (::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return ErrnoStatus("fsconfig(FSCONFIG_CMD_CREATE)", "overlay lowerdir=" + layers);
  }
  UniqueFd mount(::fsmount(context.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (!mount.valid()) return ErrnoStatus("fsmount", "overlay lowerdir=" + layers);
  UniqueFd executable(::openat(mount.get(), name.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW));
  if (!executable.valid()) return ErrnoStatus("openat", name + " in the overlay of " + directory);
  return executable;
}

void ExecuteFd(int fd, char* const argv[], char* const envp[]) {
  ::syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

}  // namespace sandbox::agent
