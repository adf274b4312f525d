#include "agent/container/rootfs_setup.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "agent/container/mount_options.h"
#include "common/base/root_path.h"
#include "common/base/unique_fd.h"

namespace sandbox::agent {
namespace {

Status MountError(const std::string& what, const std::string& target) { return ErrnoStatus(what, target); }

// A read-only rootfs directory (root.readonly over the shim's shared
// root.path, read-only for virtiofsd too: the shim makes the mount points it
// lacks before sharing it) cannot take one that resolves somewhere else.
Result<UniqueFd> OpenMountpoint(int root, const std::string& destination, bool file) {
  auto made = MakeInRoot(root, destination, file);
  if (made.ok() || made.status().message().find(std::strerror(EROFS)) == std::string::npos) return made;
  return FailedPrecondition(made.status().message() +
                            " (the rootfs is read-only, root.readonly: its mount points must exist in it)");
}

std::string FdPath(const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

unsigned long PropagationFlags(const std::string& name) {
  if (name == "private") return MS_PRIVATE;
  if (name == "rprivate") return MS_PRIVATE | MS_REC;
  if (name == "shared") return MS_SHARED;
  if (name == "rshared") return MS_SHARED | MS_REC;
  if (name == "slave") return MS_SLAVE;
  if (name == "rslave") return MS_SLAVE | MS_REC;
  if (name == "unbindable") return MS_UNBINDABLE;
  if (name == "runbindable") return MS_UNBINDABLE | MS_REC;
  return 0;
}

// Flags of the mount under `path` that a user namespace may not clear on a
// bind remount (they are locked when the mount came from a more privileged
// namespace); runc keeps them the same way.
unsigned long LockedFlags(const std::string& path) {
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0) return 0;
  unsigned long flags = 0;
  if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

Status MountOne(int root, const oci::Mount& mount, size_t index, bool user_namespace) {
  const std::string field = "mounts[" + std::to_string(index) + "]";
  SANDBOX_ASSIGN_OR_RETURN(MountPlan plan, ParseMountOptions(mount.options.value_or(oci::StringList{})));
  const std::string type = mount.type.value_or("");
  const std::string source = mount.source.value_or(type);
  const bool bind = plan.bind || type == "bind";
  struct stat source_info {};
  const bool file = bind && ::stat(source.c_str(), &source_info) == 0 && !S_ISDIR(source_info.st_mode);
  auto target = OpenMountpoint(root, mount.destination, file);
  if (!target.ok()) return target.status().Wrap(field + ".destination");
  if (bind) {
    if (::mount(source.c_str(), FdPath(*target).c_str(), nullptr, MS_BIND | (plan.recursive_bind ? MS_REC : 0),
                nullptr) != 0) {
      return MountError("bind mount " + source, field);
    }
  } else {
    const std::string fstype = type == "cgroup" ? "cgroup2" : type;
    if (::mount(source.c_str(), FdPath(*target).c_str(), fstype.c_str(), plan.flags,
                plan.data.empty() ? nullptr : plan.data.c_str()) != 0) {
      return MountError("mount " + fstype, field + " (" + mount.destination + ")");
    }
  }
  if (!bind && !plan.propagation && !plan.recursive_set && !plan.recursive_clear) return Status::Ok();
  // The new mount's root, for the calls that change it.
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd mounted, OpenMountpoint(root, mount.destination, file));
  if (plan.NeedsBindRemount()) {
    const unsigned long locked = user_namespace ? LockedFlags(FdPath(mounted)) : 0;
    if (::mount(nullptr, FdPath(mounted).c_str(), nullptr, MS_BIND | MS_REMOUNT | plan.flags | locked, nullptr) != 0) {
      return MountError("remount", field + " (" + mount.destination + ")");
    }
  }
  if (plan.propagation && ::mount(nullptr, FdPath(mounted).c_str(), nullptr, plan.propagation, nullptr) != 0) {
    return MountError("set propagation", field);
  }
  if (plan.recursive_set || plan.recursive_clear) {
    mount_attr attr{};
    attr.attr_set = plan.recursive_set;
    attr.attr_clr = plan.recursive_clear;
    if (::syscall(SYS_mount_setattr, mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
      return MountError("mount_setattr", field);
    }
  }
  return Status::Ok();
}

struct DefaultDevice {
  const char* name;
  unsigned major;
  unsigned minor;
};

Status MakeDevice(int root, const std::string& path, mode_t type, unsigned major, unsigned minor, mode_t mode,
                  uid_t uid, gid_t gid) {
  const size_t slash = path.rfind('/');
  const std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
  const std::string name = path.substr(slash + 1);
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd parent_fd, OpenMountpoint(root, parent, false));
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd parent_dir, OpenInRoot(root, parent, O_DIRECTORY | O_RDONLY));
  ::unlinkat(parent_dir.get(), name.c_str(), 0);
  if (::mknodat(parent_dir.get(), name.c_str(), type | mode, makedev(major, minor)) != 0) {
    return ErrnoStatus("mknod", path);
  }
  if (::fchownat(parent_dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoStatus("chown", path);
  // mknod is subject to the umask; the mode must be exactly as asked.
  if (::fchmodat(parent_dir.get(), name.c_str(), mode, 0) != 0) return ErrnoStatus("chmod", path);
  return Status::Ok();
}

// In a user namespace mknod is refused: the agent's own device node is
// bound onto an empty file instead, as runc does.
Status BindDevice(int root, const std::string& path, const std::string& source) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd target, OpenMountpoint(root, path, /*file=*/true));
  if (::mount(source.c_str(), FdPath(target).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoStatus("bind mount", source + " on " + path + " (no mknod in a user namespace)");
  }
  return Status::Ok();
}

Status CreateDevices(int root, const oci::Spec& spec, bool dev_mounted, bool user_namespace) {
  if (dev_mounted) {
    // The runtime spec's default devices and /dev symlinks, on the /dev the config mounted.
    static constexpr DefaultDevice kDefaults[] = {{"null", 1, 3},    {"zero", 1, 5}, {"full", 1, 7},
                                                  {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (const DefaultDevice& device : kDefaults) {
      const std::string path = std::string("dev/") + device.name;
      SANDBOX_RETURN_IF_ERROR(user_namespace ? BindDevice(root, path, std::string("/dev/") + device.name)
                                             : MakeDevice(root, path, S_IFCHR, device.major, device.minor, 0666, 0, 0));
    }
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd dev, OpenInRoot(root, "dev", O_DIRECTORY | O_RDONLY));
    const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"},
                                                         {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                                         {"pts/ptmx", "ptmx"}};
    for (const auto& [target, name] : links) {
      if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST) return ErrnoStatus("symlink", std::string("/dev/") + name);
    }
  }
  const auto& devices = spec.linux->devices;
  if (!devices) return Status::Ok();
  for (size_t i = 0; i < devices->size(); ++i) {
    const oci::Device& device = (*devices)[i];
    const std::string field = "linux.devices[" + std::to_string(i) + "]";
    mode_t type = 0;
    if (device.type == "c" || device.type == "u") type = S_IFCHR;
    if (device.type == "b") type = S_IFBLK;
    if (device.type == "p") type = S_IFIFO;
    if (type == 0) return InvalidArgument(field + ".type: must be c, u, b or p");
    if (user_namespace) {
      const Status bound = BindDevice(root, device.path, device.path);
      if (!bound.ok()) return bound.Wrap(field);
      continue;
    }
    const Status made = MakeDevice(root, device.path, type, static_cast<unsigned>(device.major.value_or(0)),
                                   static_cast<unsigned>(device.minor.value_or(0)), device.file_mode.value_or(0666) & 07777,
                                   device.uid.value_or(0), device.gid.value_or(0));
    if (!made.ok()) return made.Wrap(field);
  }
  return Status::Ok();
}

}  // namespace

Status PrepareRootfs(const oci::Spec& spec, const std::string& rootfs, bool user_namespace) {
  const std::string propagation_name = spec.linux->rootfs_propagation.value_or("rslave");
  const unsigned long propagation = PropagationFlags(propagation_name);
  if (propagation == 0) return InvalidArgument("linux.rootfsPropagation: unknown value \"" + propagation_name + "\"");
  // Nothing we mount may leak back to the agent's namespace.
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return ErrnoStatus("mount --make-rslave", "/");
  if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return ErrnoStatus("bind mount", "root.path " + rootfs);
  }
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus("open", "root.path " + rootfs);
  bool dev_mounted = false;
  if (spec.mounts) {
    for (size_t i = 0; i < spec.mounts->size(); ++i) {
      SANDBOX_RETURN_IF_ERROR(MountOne(root.get(), (*spec.mounts)[i], i, user_namespace));
      const std::string& destination = (*spec.mounts)[i].destination;
      if (destination == "/dev" || destination == "dev") dev_mounted = true;
    }
  }
  SANDBOX_RETURN_IF_ERROR(CreateDevices(root.get(), spec, dev_mounted, user_namespace));
  // rootfsPropagation applies to the container's root from now on.
  if (::mount(nullptr, rootfs.c_str(), nullptr, propagation, nullptr) != 0) {
    return ErrnoStatus("set propagation", "linux.rootfsPropagation");
  }
  return Status::Ok();
}

Status EnterRootfs(const std::string& rootfs, bool no_pivot) {
  if (::chdir(rootfs.c_str()) != 0) return ErrnoStatus("chdir", rootfs);
  if (!no_pivot) {
    if (::syscall(SYS_pivot_root, ".", ".") == 0) {
      // The old root is now stacked under "."; detach it.
      if (::umount2(".", MNT_DETACH) != 0) return ErrnoStatus("umount", "old root");
      if (::chdir("/") != 0) return ErrnoStatus("chdir", "/");
      return Status::Ok();
    }
    // EINVAL: the current root is the initramfs, which cannot be pivoted away.
    if (errno != EINVAL) return ErrnoStatus("pivot_root", rootfs);
  }
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) return ErrnoStatus("mount --move", rootfs);
  if (::chroot(".") != 0) return ErrnoStatus("chroot", rootfs);
  if (::chdir("/") != 0) return ErrnoStatus("chdir", "/");
  return Status::Ok();
}

Status FinishRootfs(const oci::Spec& spec) {
  const oci::Linux& linux = *spec.linux;
  for (const std::string& path : linux.readonly_paths.value_or(oci::StringList{})) {
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus("bind mount", "linux.readonlyPaths " + path);
    }
    if (::mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | MS_NOSUID | MS_NODEV, nullptr) != 0) {
      return ErrnoStatus("remount read-only", "linux.readonlyPaths " + path);
    }
  }
  for (const std::string& path : linux.masked_paths.value_or(oci::StringList{})) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus("stat", "linux.maskedPaths " + path);
    }
    const int masked = S_ISDIR(info.st_mode) ? ::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, "size=0k")
                                             : ::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr);
    if (masked != 0) return ErrnoStatus("mask", "linux.maskedPaths " + path);
  }
  if (spec.root->readonly.value_or(false)) {
    struct statvfs info {};
    if (::statvfs("/", &info) != 0) return ErrnoStatus("statvfs", "/");
    // A bind remount must repeat the flags it keeps.
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (::mount(nullptr, "/", nullptr, flags, nullptr) != 0) return ErrnoStatus("remount read-only", "root.readonly");
  }
  return Status::Ok();
}

}  // namespace sandbox::agent
