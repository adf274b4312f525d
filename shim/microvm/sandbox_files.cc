#include "shim/microvm/sandbox_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/base/unix_socket.h"

namespace sandbox::shim {

std::string GuestPortSocket(const std::string& vsock, uint32_t port) {
  std::string path = vsock;
  path += '_';
  path += std::to_string(port);
  return path;
}

Result<UniqueFd> ListenForGuestPort(const std::string& vsock, uint32_t port) {
  const std::string path = GuestPortSocket(vsock, port);
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd listener, ListenUnix(path, 1));
  if (::chmod(path.c_str(), 0666) != 0) {
    const Status failed = ErrnoStatus("chmod", path);
    ::unlink(path.c_str());
    return failed;
  }
  return listener;
}

Status MakeVmDir(const SandboxFiles& files, bool jailed, uint32_t vmm_gid) {
  if (::mkdir(files.vm_dir.c_str(), 0700) != 0) return ErrnoStatus("mkdir", files.vm_dir);
  if (!jailed) return Status::Ok();
  if (::chown(files.vm_dir.c_str(), ::geteuid(), vmm_gid) != 0 || ::chmod(files.vm_dir.c_str(), 0710) != 0) {
    return ErrnoStatus("chown/chmod", files.vm_dir).Wrap("the jailed sandbox-vmm's directory (needs root; "
                                                           "\"jail_vmm\": false in the runtime config turns the jail off)");
  }
  return Status::Ok();
}

}  // namespace sandbox::shim
