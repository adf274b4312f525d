#include "agent/container/rootfs_mount.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sandbox::agent {
namespace {

Status MakeDirectory(const std::string& path, mode_t mode = 0700) {
  if (::mkdir(path.c_str(), mode) != 0) return ErrnoStatus("mkdir", path);
  return Status::Ok();
}

Status MountAt(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) {
  if (::mount(source.c_str(), target.c_str(), fstype.c_str(), flags, data.empty() ? nullptr : data.c_str()) != 0) {
    return ErrnoStatus("mount", fstype + " " + source + " on " + target);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<RootfsMount>> RootfsMount::Mount(const RootfsSource& source, const std::string& work_dir,
                                                         bool writable) {
  if (source.fstype != "erofs" && source.fstype != "ext4") {
    return InvalidArgument("rootfs_fstype \"" + source.fstype + "\": want erofs, ext4 or a directory");
  }
  if (!source.device.starts_with("/dev/")) {
    return InvalidArgument("rootfs_source \"" + source.device + "\": want a block device under /dev");
  }
  // Unmount() runs for whatever was mounted when a later step fails.
  std::unique_ptr<RootfsMount> mount(new RootfsMount(work_dir));
  // 0711 on the way to the rootfs: a container in a user namespace is set up
  // by a root that is not the owner, and must be able to walk the path.
  SANDBOX_RETURN_IF_ERROR(MakeDirectory(work_dir, 0711));
  const std::string lower = work_dir + "/lower";
  SANDBOX_RETURN_IF_ERROR(MakeDirectory(lower));
  SANDBOX_RETURN_IF_ERROR(MountAt(source.device, lower, source.fstype, MS_RDONLY | MS_NODEV, ""));
  if (!writable) {
    mount->path_ = lower;
    return mount;
  }
  const std::string scratch = work_dir + "/rw";
  SANDBOX_RETURN_IF_ERROR(MakeDirectory(scratch));
  SANDBOX_RETURN_IF_ERROR(MountAt("tmpfs", scratch, "tmpfs", MS_NODEV, "mode=0700"));
  SANDBOX_RETURN_IF_ERROR(MakeDirectory(scratch + "/upper"));
  SANDBOX_RETURN_IF_ERROR(MakeDirectory(scratch + "/work"));
  // The image's root directory mode and owner carry over to the overlay root.
  struct stat root {};
  if (::stat(lower.c_str(), &root) == 0) {
    (void)::chmod((scratch + "/upper").c_str(), root.st_mode & 07777);
    (void)::chown((scratch + "/upper").c_str(), root.st_uid, root.st_gid);
  }
  const std::string merged = work_dir + "/rootfs";
  SANDBOX_RETURN_IF_ERROR(MakeDirectory(merged, 0711));
  SANDBOX_RETURN_IF_ERROR(MountAt("overlay", merged, "overlay", 0,
                                  "lowerdir=" + lower + ",upperdir=" + scratch + "/upper,workdir=" + scratch + "/work"));
  mount->path_ = merged;
  return mount;
}

RootfsMount::~RootfsMount() { Unmount(); }

void RootfsMount::Unmount() {
  // Deepest first; MNT_DETACH because a process that outlived the container
  // may still hold a file open.
  for (const char* leaf : {"/rootfs", "/rw", "/lower"}) {
    const std::string path = work_dir_ + leaf;
    (void)::umount2(path.c_str(), MNT_DETACH);
  }
  for (const char* leaf : {"/rw/upper", "/rw/work", "/rootfs", "/rw", "/lower", ""}) {
    (void)::rmdir((work_dir_ + leaf).c_str());
  }
}

}  // namespace sandbox::agent
