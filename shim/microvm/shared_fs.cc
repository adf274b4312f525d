#include "shim/microvm/shared_fs.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

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


// What the helper child runs between fork and exec: only system calls on
// strings prepared before the fork.
struct BindStep {
  std::string source;
  std::string target;
  bool read_only;
  bool recursive;
};

// Async-signal-safe (the shim is multithreaded): pieces written as they
// are, no allocation, no locale.
[[noreturn]] void FailInChild(const char* what, const std::string& path) {
  const int error = errno;
  const char* const description = ::strerrordesc_np(error);
  for (const char* piece : {"sandbox-rt: virtiofsd helper: ", what, " ", path.c_str(), ": ",
                            description != nullptr ? description : "unknown error", "\n"}) {
    (void)!::write(STDERR_FILENO, piece, std::strlen(piece));
  }
  ::_exit(1);
}

// Makes the mount point of each share under `shared_dir` (directories for
// directories, empty files for files), with `under` directories first.
Result<std::vector<BindStep>> MakeShareTargets(const std::vector<SharedMount>& shares, const std::string& shared_dir) {
  std::vector<BindStep> steps;
  for (const SharedMount& share : shares) {
    if (!share.under.empty()) SANDBOX_RETURN_IF_ERROR(MakeDirs(shared_dir + "/" + share.under, 0711));
    const std::string target = shared_dir + "/" + ShareName(share);
    if (share.directory) {
      if (::mkdir(target.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", target);
    } else {
      UniqueFd file(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
      if (!file.valid()) return ErrnoStatus("create", target);
    }
    steps.push_back({share.source, target, share.read_only, share.recursive});
  }
  return steps;
}

// virtiofsd's mount namespace and its root directory (shared_dir, after its
// pivot_root). Entering takes both: setns alone lands in the namespace's
// root mount, which is not virtiofsd's root when the shim itself runs
// chrooted (as in the test host).
struct VirtiofsdView {
  UniqueFd ns;
  UniqueFd root;
  // In the helper child: only system calls.
  void EnterInChild() const {
    if (::setns(ns.get(), CLONE_NEWNS) != 0) FailInChild("setns into virtiofsd's mount namespace", "");
    if (::fchdir(root.get()) != 0 || ::chroot(".") != 0) FailInChild("chroot into virtiofsd's root", "");
  }
};

Result<VirtiofsdView> OpenVirtiofsdView(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  VirtiofsdView view{.ns = UniqueFd(::open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC)),
                     .root = UniqueFd(::open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC))};
  if (!view.ns.valid()) return ErrnoStatus("open", proc + "/ns/mnt").Wrap("virtiofsd's mount namespace");
  if (!view.root.valid()) return ErrnoStatus("open", proc + "/root").Wrap("virtiofsd's mount namespace");
  return view;
}

// A helper child (setns needs a single thread) that runs `body`, which
// enters `view` when it needs to and _exits with 0 or reports through
// FailInChild; its stderr comes back as the error.
template <typename Body>
Status RunInHelperChild(const std::string& what, Body body) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", what);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", what);
  if (pid == 0) {
    ::dup2(write_end.get(), STDERR_FILENO);
    body();
    ::_exit(0);
  }
  write_end.Reset();
  std::string error;
  char buffer[512];
  ssize_t got;
  while ((got = ::read(read_end.get(), buffer, sizeof(buffer))) > 0) error.append(buffer, static_cast<size_t>(got));
  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited != pid) return ErrnoStatus("waitpid", what);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  while (!error.empty() && error.back() == '\n') error.pop_back();
  return Internal(what + ": " + (error.empty() ? "the helper died" : error));
}

// virtiofsd's root is shared_dir. (Appended, not "/" + name: GCC 12 at -O3
// warns falsely on that.)
std::string PathInsideVirtiofsd(const SharedMount& share) {
  std::string path = "/";
  path.append(ShareName(share));
  return path;
}

}  // namespace

Status AddSharesToVirtiofsd(pid_t virtiofsd_pid, const std::vector<SharedMount>& shares, const std::string& shared_dir) {
  SANDBOX_ASSIGN_OR_RETURN(const VirtiofsdView view, OpenVirtiofsdView(virtiofsd_pid));
  Result<std::vector<BindStep>> made = MakeShareTargets(shares, shared_dir);
  if (!made.ok()) {
    (void)RemoveSharesFromVirtiofsd(-1, shares, shared_dir);  // what was made so far
    return made.status();
  }
  const std::vector<BindStep>& steps = *made;
  // Inside virtiofsd's namespace its root is shared_dir: targets are relative to it.
  std::vector<std::string> inside;
  for (const SharedMount& share : shares) inside.push_back(PathInsideVirtiofsd(share));
  std::vector<int> trees(steps.size(), -1);  // allocated before the fork: the child only makes system calls
  Status added = RunInHelperChild("sharing with the pod's virtiofsd", [&] {
    for (size_t i = 0; i < steps.size(); ++i) {
      const BindStep& step = steps[i];
      const unsigned recursive = step.recursive ? AT_RECURSIVE : 0;
      const int tree = ::open_tree(AT_FDCWD, step.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | recursive);
      if (tree < 0) FailInChild("open_tree", step.source);
      struct mount_attr read_only {};
      read_only.attr_set = MOUNT_ATTR_RDONLY;
      if (step.read_only && ::mount_setattr(tree, "", AT_EMPTY_PATH | recursive, &read_only, sizeof(read_only)) != 0) {
        FailInChild("read-only mount_setattr of", step.source);
      }
      trees[i] = tree;
    }
    view.EnterInChild();
    for (size_t i = 0; i < trees.size(); ++i) {
      if (::move_mount(trees[i], "", AT_FDCWD, inside[i].c_str(), MOVE_MOUNT_F_EMPTY_PATH) == 0) continue;
      const int error = errno;
      for (size_t done = 0; done < i; ++done) (void)::umount2(inside[done].c_str(), MNT_DETACH);
      errno = error;
      FailInChild("move_mount onto", steps[i].target);
    }
  });
  if (!added.ok()) (void)RemoveSharesFromVirtiofsd(-1, shares, shared_dir);
  return added;
}

Status RemoveSharesFromVirtiofsd(pid_t virtiofsd_pid, const std::vector<SharedMount>& shares,
                                 const std::string& shared_dir) {
  Status detached = Status::Ok();
  if (virtiofsd_pid > 0) {
    std::vector<std::string> inside;
    for (const SharedMount& share : shares) inside.push_back(PathInsideVirtiofsd(share));
    Result<VirtiofsdView> view = OpenVirtiofsdView(virtiofsd_pid);
    // No namespace: virtiofsd is gone, and its mounts with it.
    if (view.ok()) {
      detached = RunInHelperChild("unsharing from the pod's virtiofsd", [&] {
        view->EnterInChild();
        for (const std::string& target : inside) {
          if (::umount2(target.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
            FailInChild("umount", target);
          }
        }
      });
    }
  }
  std::set<std::string> directories;
  for (const SharedMount& share : shares) {
    if (!share.under.empty()) directories.insert(shared_dir + "/" + share.under);
  }
  for (const std::string& directory : directories) (void)RemoveTree(directory);
  return detached;
}

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
  const std::string name = share.root ? kRootfsShareName : std::to_string(share.index);
  return share.under.empty() ? name : share.under + "/" + name;
}

std::string GuestRootfsPath(const SharedMount& root_share) {
  SharedMount root = root_share;
  root.root = true;
  return std::string(kGuestSharedDir) + "/" + ShareName(root);
}

std::string PodContainerShareDir(const std::string& id) { return "containers/" + id; }

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

Status RewriteSourcesForGuest(nlohmann::json& config, const std::vector<SharedMount>& shares) {
  for (const SharedMount& share : shares) {
    if (share.root) continue;
    nlohmann::json* mounts = config.contains("mounts") ? &config["mounts"] : nullptr;
    if (mounts == nullptr || !mounts->is_array() || share.index >= mounts->size()) {
      return Internal("the saved config.json has no mounts[" + std::to_string(share.index) + "]");
    }
    (*mounts)[share.index]["source"] = std::string(kGuestSharedDir) + "/" + ShareName(share);
  }
  return Status::Ok();
}

Result<pid_t> SpawnVirtiofsd(const std::string& virtiofsd, const std::vector<SharedMount>& shares,
                             const std::string& shared_dir, int listener, const std::string& log_path,
                             VirtiofsdNetwork network) {
  if (!PathExists(virtiofsd)) {
    return FailedPrecondition("virtiofsd " + virtiofsd + " does not exist (Debian's qemu-system-common ships it; "
                              "set \"virtiofsd\" in the runtime config): host bind mounts need it");
  }
  // 0711: the share's root in the guest has this mode, and a container's
  // user-namespace root (not the owner) must walk through it to its rootfs.
  SANDBOX_RETURN_IF_ERROR(MakeDirs(shared_dir, 0711));
  SANDBOX_ASSIGN_OR_RETURN(std::vector<BindStep> steps, MakeShareTargets(shares, shared_dir));
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log.valid()) return ErrnoStatus("open", log_path);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const std::string fd_argument = "--fd=" + std::to_string(listener);
  const std::string source_argument = "source=" + shared_dir;
  const UniqueFd parent = OpenOwnPidfd();
  // The namespaces virtiofsd's sandbox=namespace would make, made here: it
  // would make a second network namespace (a sandbox's costliest, about
  // 35 ms of CPU to make and more to tear down), and stay a second process.
  const pid_t pid = ForkIntoNamespaces(CLONE_NEWPID | CLONE_NEWNS |
                                       (network == VirtiofsdNetwork::kNewNamespace ? CLONE_NEWNET : 0));
  if (pid < 0) return ErrnoStatus("clone", "virtiofsd in new mount, pid and network namespaces (needs root)");
  if (pid != 0) return pid;

  BecomeHelperOf(parent.get(), null.get(), log.get());
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) FailInChild("make-rprivate", "/");
  // virtiofsd keeps /proc/self/fd open through its chroot: this /proc is
  // its pid namespace's, where no other process lives.
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) FailInChild("mount", "/proc");
  for (const BindStep& step : steps) {
    if (::mount(step.source.c_str(), step.target.c_str(), nullptr, MS_BIND | (step.recursive ? MS_REC : 0), nullptr) != 0) {
      FailInChild("bind mount", step.source);
    }
    if (!step.read_only) continue;
    // mount_setattr(2) and the new mount API: Linux 5.12 / 5.2, glibc 2.36.
    struct mount_attr attributes {};
    attributes.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(AT_FDCWD, step.target.c_str(), step.recursive ? AT_RECURSIVE : 0u, &attributes,
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
  // sandbox=chroot: virtiofsd chroots into shared_dir, in this mount
  // namespace, where a pod's later containers' shares are attached
  // (AddSharesToVirtiofsd); then it drops CAP_SYS_CHROOT with the rest and
  // loads its seccomp filter, as in sandbox=namespace.
  ::execl(virtiofsd.c_str(), "virtiofsd", fd_argument.c_str(), "-o", source_argument.c_str(), "-o", "cache=auto",
          "-o", "sandbox=chroot", nullptr);
  FailInChild("exec", virtiofsd);
}

}  // namespace sandbox::shim
