#include "agent/container/shared_fs_mount.h"

#include <sys/mount.h>
#include <unistd.h>

#include "common/base/file_util.h"

namespace sandbox::agent {

Result<std::unique_ptr<SharedFsMount>> SharedFsMount::Mount(const std::string& tag, const std::string& mount_point) {
  if (tag.empty() || tag.size() > kMaxTagLength) {
    return InvalidArgument("shared_fs.tag \"" + tag + "\": want 1 to 36 bytes");
  }
  if (!mount_point.starts_with("/") || mount_point.find("/..") != std::string::npos) {
    return InvalidArgument("shared_fs.mount_point \"" + mount_point + "\": want an absolute path without ..");
  }
  // 0711: a container's user-namespace root walks through it to its binds.
  SANDBOX_RETURN_IF_ERROR(MakeDirs(mount_point, 0711));
  // nodev: device nodes of the host are not the guest's to open.
  if (::mount(tag.c_str(), mount_point.c_str(), "virtiofs", MS_NODEV, nullptr) != 0) {
    return ErrnoStatus("mount", "virtiofs " + tag + " on " + mount_point).Wrap("shared_fs");
  }
  return std::unique_ptr<SharedFsMount>(new SharedFsMount(mount_point));
}

SharedFsMount::~SharedFsMount() {
  // MNT_DETACH: a process that outlived the container may hold a file open.
  (void)::umount2(mount_point_.c_str(), MNT_DETACH);
  (void)::rmdir(mount_point_.c_str());
}

Result<std::shared_ptr<SharedFsMount>> SharedFsMounts::Acquire(const std::string& tag,
                                                                const std::string& mount_point) {
  std::lock_guard lock(mutex_);
  const auto key = std::make_pair(tag, mount_point);
  Entry& entry = mounts_[key];
  if (!entry.mount) {
    Result<std::unique_ptr<SharedFsMount>> mounted = SharedFsMount::Mount(tag, mount_point);
    if (!mounted.ok()) {
      mounts_.erase(key);
      return mounted.status();
    }
    entry.mount = std::move(mounted).value();
  }
  ++entry.users;
  // The handle does not own the mount: its release counts down, and the last
  // one unmounts (the entry's destruction), under the lock.
  return std::shared_ptr<SharedFsMount>(entry.mount.get(), [this, key](SharedFsMount*) {
    std::lock_guard releasing(mutex_);
    const auto it = mounts_.find(key);
    if (it != mounts_.end() && --it->second.users == 0) mounts_.erase(it);
  });
}

}  // namespace sandbox::agent
