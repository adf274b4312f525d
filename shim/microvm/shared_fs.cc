#include "shim/microvm/shared_fs.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/root_path.h"
#include "common/base/unique_fd.h"
#include "shim/microvm/host_process.h"

namespace sandbox::shim {
namespace {

bool HasOption(const oci::Mount& mount, const std::string& wanted) {
  return mount.options && std::find(mount.options->begin(), mount.options->end(), wanted) != mount.options->end();
}

bool IsBind(const oci::Mount& mount) {
  return (mount.type && *mount.type == "bind") || HasOption(mount, "bind") || HasOption(mount, "rbind");
}

// mount_setattr(2) (Linux 5.12), declared here: <linux/mount.h> clashes with
// glibc's <sys/mount.h>.
struct MountAttributes {
  uint64_t set = 0;
  uint64_t clear = 0;
  uint64_t propagation = 0;
  uint64_t userns_fd = 0;
};
constexpr uint64_t kMountAttributeReadOnly = 0x1;
constexpr unsigned kAtRecursive = 0x8000;

// What the helper child runs between fork and exec: only system calls on
// strings prepared before the fork.
struct BindStep {
  std::string source;
  std::string target;
  bool read_only;
  bool recursive;
};

[[noreturn]] void FailInChild(const char* what, const std::string& path) {
  const int error = errno;
  const std::string message = std::string("sandbox-rt: virtiofsd helper: ") + what + " " + path + ": " +
                              std::strerror(error) + "\n";
  (void)!::write(STDERR_FILENO, message.data(), message.size());
  ::_exit(1);
}

}  // namespace

Result<std::vector<SharedMount>> PlanSharedMounts(const oci::Spec& spec, const std::string& bundle) {
  std::vector<SharedMount> shares;
  for (size_t index = 0; spec.mounts && index < spec.mounts->size(); ++index) {
    const oci::Mount& mount = (*spec.mounts)[index];
    if (!IsBind(mount)) continue;
    const std::string field = "mounts[" + std::to_string(index) + "].source";
    if (!mount.source || mount.source->empty()) return InvalidArgument(field + ": a bind mount needs a source");
    SharedMount share{.index = index,
                      .source = mount.source->starts_with("/") ? *mount.source : bundle + "/" + *mount.source,
                      .read_only = HasOption(mount, "ro"),
                      .recursive = HasOption(mount, "rbind")};
    struct stat info {};
    if (::stat(share.source.c_str(), &info) != 0) return ErrnoStatus("stat", share.source).Wrap(field);
    share.directory = S_ISDIR(info.st_mode);
    shares.push_back(std::move(share));
  }
  return shares;
}

Status MakeMountpointsOfReadOnlyRoot(const oci::Spec& spec, const std::string& bundle, const SharedMount& root) {
  if (!spec.mounts) return Status::Ok();
  const UniqueFd root_fd(::open(root.source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return ErrnoStatus("open", root.source).Wrap("root.path");
  const std::vector<oci::Mount>& mounts = *spec.mounts;
  for (size_t index = 0; index < mounts.size(); ++index) {
    const std::string& destination = mounts[index].destination;
    const bool nested = std::any_of(mounts.begin(), mounts.begin() + static_cast<ptrdiff_t>(index),
                                    [&](const oci::Mount& earlier) { return IsAtOrUnder(destination, earlier.destination); });
    if (nested || OpenInRoot(root_fd.get(), destination, O_PATH).ok()) continue;
    bool file = false;
    if (IsBind(mounts[index]) && mounts[index].source) {
      const std::string& source = *mounts[index].source;
      struct stat info {};
      file = ::stat((source.starts_with("/") ? source : bundle + "/" + source).c_str(), &info) == 0 &&
             !S_ISDIR(info.st_mode);
    }
    auto made = MakeInRoot(root_fd.get(), destination, file);
    if (!made.ok()) return made.status().Wrap("mounts[" + std::to_string(index) + "].destination");
  }
  return Status::Ok();
}

std::string ShareName(const SharedMount& share) {
  return share.root ? kRootfsShareName : std::to_string(share.index);
}

std::string GuestRootfsPath() { return std::string(kGuestSharedDir) + "/" + kRootfsShareName; }

Result<SharedMount> PlanRootfsShare(const oci::Spec& spec, const std::string& bundle) {
  if (!spec.root || spec.root->path.empty()) return InvalidArgument("root.path: required");
  const std::string& path = spec.root->path;
  SharedMount share{.source = path.starts_with("/") ? path : bundle + "/" + path,
                    .read_only = spec.root->readonly.value_or(false),
                    .recursive = true,
                    .directory = true,
                    .root = true};
  struct stat info {};
  if (::stat(share.source.c_str(), &info) != 0) return ErrnoStatus("stat", share.source).Wrap("root.path");
  if (!S_ISDIR(info.st_mode)) return InvalidArgument("root.path: " + share.source + " is not a directory");
  return share;
}

Result<std::string> RewriteSourcesForGuest(const std::string& config_json, const std::vector<SharedMount>& shares) {
  nlohmann::json config = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) return Internal("the saved config.json is not a JSON object");
  for (const SharedMount& share : shares) {
    if (share.root) continue;
    nlohmann::json* mounts = config.contains("mounts") ? &config["mounts"] : nullptr;
    if (mounts == nullptr || !mounts->is_array() || share.index >= mounts->size()) {
      return Internal("the saved config.json has no mounts[" + std::to_string(share.index) + "]");
    }
    (*mounts)[share.index]["source"] = std::string(kGuestSharedDir) + "/" + std::to_string(share.index);
  }
  return config.dump();
}

Result<pid_t> SpawnVirtiofsd(const std::string& virtiofsd, const std::vector<SharedMount>& shares,
                             const std::string& shared_dir, int listener, const std::string& log_path) {
  if (!PathExists(virtiofsd)) {
    return FailedPrecondition("virtiofsd " + virtiofsd + " does not exist (Debian's qemu-system-common ships it; "
                              "set \"virtiofsd\" in the runtime config): host bind mounts need it");
  }
  // 0711: the share's root in the guest has this mode, and a container's
  // user-namespace root (not the owner) must walk through it to its rootfs.
  SANDBOX_RETURN_IF_ERROR(MakeDirs(shared_dir, 0711));
  std::vector<BindStep> steps;
  for (const SharedMount& share : shares) {
    const std::string target = shared_dir + "/" + ShareName(share);
    if (share.directory) {
      if (::mkdir(target.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", target);
    } else {
      UniqueFd file(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
      if (!file.valid()) return ErrnoStatus("create", target);
    }
    steps.push_back({share.source, target, share.read_only, share.recursive});
  }
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log.valid()) return ErrnoStatus("open", log_path);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const std::string fd_argument = "--fd=" + std::to_string(listener);
  const std::string source_argument = "source=" + shared_dir;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", "virtiofsd");
  if (pid != 0) return pid;

  BecomeHelperOf(parent, null.get(), log.get());
  if (::unshare(CLONE_NEWNS) != 0) FailInChild("unshare(CLONE_NEWNS)", "");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) FailInChild("make-rprivate", "/");
  for (const BindStep& step : steps) {
    if (::mount(step.source.c_str(), step.target.c_str(), nullptr, MS_BIND | (step.recursive ? MS_REC : 0), nullptr) != 0) {
      FailInChild("bind mount", step.source);
    }
    if (!step.read_only) continue;
    MountAttributes attributes{.set = kMountAttributeReadOnly};
    if (::syscall(SYS_mount_setattr, AT_FDCWD, step.target.c_str(), step.recursive ? kAtRecursive : 0u, &attributes,
                  sizeof(attributes)) == 0) {
      continue;
    }
    // Before Linux 5.12: read-only for the top mount only.
    if (errno != ENOSYS ||
        ::mount(nullptr, step.target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      FailInChild("read-only remount of", step.target);
    }
  }
  if (::fcntl(listener, F_SETFD, 0) != 0) FailInChild("fcntl", "the vhost-user listener");
  // cache=auto: the guest caches for a second at most, so host changes show
  // up as they would over NFS; writes go straight through to the host.
  ::execl(virtiofsd.c_str(), "virtiofsd", fd_argument.c_str(), "-o", source_argument.c_str(), "-o", "cache=auto",
          nullptr);
  FailInChild("exec", virtiofsd);
}

}  // namespace sandbox::shim
