#include "vmm/sandboxing/jail.h"

#include <grp.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>
#include <memory>

#include "common/base/file_util.h"
#include "vmm/devices/legacy/console_sink.h"

namespace sandbox::vmm {
namespace {

Status Step(bool ok, const std::string& what) {
  return ok ? Status::Ok() : ErrnoStatus(what, "jail");
}

Status CheckSingleThreaded() {
  const std::string status = ReadFile("/proc/self/status").value_or("");
  if (status.find("\nThreads:\t1\n") != std::string::npos) return Status::Ok();
  return FailedPrecondition("jail: sandbox-vmm must enter its jail before it starts any thread");
}

// `root` becomes "/", read-only; the host's tree is gone from this namespace.
Status PivotInto(const std::string& root) {
  SANDBOX_RETURN_IF_ERROR(Step(::unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) == 0,
                               "unshare(mount, IPC, UTS, network namespaces)"));
  // No mount event of ours reaches the host's namespace.
  SANDBOX_RETURN_IF_ERROR(Step(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "make / rprivate"));
  SANDBOX_RETURN_IF_ERROR(Step(::mount(root.c_str(), root.c_str(), nullptr, MS_BIND, nullptr) == 0, "bind " + root));
  SANDBOX_RETURN_IF_ERROR(Step(::chdir(root.c_str()) == 0, "chdir " + root));
  // pivot_root(".", "."): the old root ends up on top of the new one, where
  // a lazy unmount detaches it with everything under it.
  SANDBOX_RETURN_IF_ERROR(Step(::syscall(SYS_pivot_root, ".", ".") == 0, "pivot_root into " + root));
  SANDBOX_RETURN_IF_ERROR(Step(::umount2(".", MNT_DETACH) == 0, "detach the host's root"));
  SANDBOX_RETURN_IF_ERROR(Step(::chdir("/") == 0, "chdir /"));
  constexpr unsigned long kLocked = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  return Step(::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | kLocked, nullptr) == 0, "remount / read-only");
}

Status LimitResources(const JailConfig& jail, uint64_t max_file_bytes) {
  const rlimit files{jail.max_open_files, jail.max_open_files};
  SANDBOX_RETURN_IF_ERROR(Step(::setrlimit(RLIMIT_NOFILE, &files) == 0, "setrlimit(RLIMIT_NOFILE)"));
  const rlimit size{max_file_bytes, max_file_bytes};
  SANDBOX_RETURN_IF_ERROR(Step(::setrlimit(RLIMIT_FSIZE, &size) == 0, "setrlimit(RLIMIT_FSIZE)"));
  const rlimit no_core{0, 0};
  return Step(::setrlimit(RLIMIT_CORE, &no_core) == 0, "setrlimit(RLIMIT_CORE)");
}

Status DropPrivileges(const JailConfig& jail) {
  SANDBOX_RETURN_IF_ERROR(Step(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "prctl(PR_SET_NO_NEW_PRIVS)"));
  for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    SANDBOX_RETURN_IF_ERROR(Step(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0, fmt::format("drop capability {}", cap)));
  }
  SANDBOX_RETURN_IF_ERROR(Step(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0, "clear ambient caps"));
  SANDBOX_RETURN_IF_ERROR(Step(::setgroups(0, nullptr) == 0, "setgroups"));
  SANDBOX_RETURN_IF_ERROR(Step(::setresgid(jail.gid, jail.gid, jail.gid) == 0, fmt::format("setresgid {}", jail.gid)));
  SANDBOX_RETURN_IF_ERROR(Step(::setresuid(jail.uid, jail.uid, jail.uid) == 0, fmt::format("setresuid {}", jail.uid)));
  // A uid change from root cleared the permitted and effective sets; the
  // inheritable one goes too.
  std::unique_ptr<std::remove_pointer_t<cap_t>, int (*)(void*)> none(cap_init(), cap_free);
  SANDBOX_RETURN_IF_ERROR(Step(none != nullptr && cap_set_proc(none.get()) == 0, "clear capabilities"));
  uid_t real = 0, effective = 0, saved = 0;
  if (::getresuid(&real, &effective, &saved) != 0 || real != jail.uid || effective != jail.uid || saved != jail.uid ||
      ::prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0) {
    return Internal("jail: the uid or capabilities did not change as asked");
  }
  return Status::Ok();
}

}  // namespace

Status EnterJail(const JailConfig& jail, uint64_t max_file_bytes) {
  SANDBOX_RETURN_IF_ERROR(CheckSingleThreaded());
  SANDBOX_RETURN_IF_ERROR(PivotInto(jail.root));
  SANDBOX_RETURN_IF_ERROR(LimitResources(jail, max_file_bytes));
  return DropPrivileges(jail);
}

std::string PathInJail(const std::string& host_path) {
  const size_t slash = host_path.rfind('/');
  return "/" + (slash == std::string::npos ? host_path : host_path.substr(slash + 1));
}

Result<uint64_t> JailFileSizeLimit(const VmmConfig& config) {
  // The console's cap, its closing line and a block written before the check.
  uint64_t limit = ConsoleSink::kFileLimitBytes + (1 << 20);
  for (const BlockConfig& block : config.block) {
    if (block.read_only) continue;
    struct stat info {};
    if (::stat(block.path.c_str(), &info) != 0) return ErrnoStatus("stat", block.path).Wrap("jail");
    limit = std::max(limit, static_cast<uint64_t>(info.st_size));
  }
  // The API's snapshot op writes all of guest RAM to a file it was given.
  if (config.api_socket) limit = std::max(limit, config.memory_mib << 20);
  return limit;
}

}  // namespace sandbox::vmm
