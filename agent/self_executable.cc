#include "agent/self_executable.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

void ExecuteFd(int fd, char* const argv[], char* const envp[]) {
  ::syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

}  // namespace sandbox::agent
