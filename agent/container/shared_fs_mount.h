// The sandbox's virtio-fs share (host bind mounts, see the shim's
// shared_fs.h): mounted by tag before the container is built, so the
// container's bind mounts can take their sources from it, and unmounted with
// the container.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/base/status.h"

namespace sandbox::agent {

class SharedFsMount {
 public:
  static constexpr size_t kMaxTagLength = 36;  // the virtio-fs config space

  // Mounts virtio-fs `tag` at `mount_point` (an absolute path, created if
  // missing). Errors name the field of the request.
  static Result<std::unique_ptr<SharedFsMount>> Mount(const std::string& tag, const std::string& mount_point);
  ~SharedFsMount();
  SharedFsMount(const SharedFsMount&) = delete;
  SharedFsMount& operator=(const SharedFsMount&) = delete;

 private:
  explicit SharedFsMount(std::string mount_point) : mount_point_(std::move(mount_point)) {}
  std::string mount_point_;
};

// The live shares by tag and mount point: a pod's containers use one mount,
// unmounted when the last of them goes. It must outlive what it hands out.
class SharedFsMounts {
 public:
  // The mount of `tag` at `mount_point`, made on first use (errors as
  // SharedFsMount::Mount's).
  Result<std::shared_ptr<SharedFsMount>> Acquire(const std::string& tag, const std::string& mount_point);

 private:
  struct Entry {
    std::unique_ptr<SharedFsMount> mount;
    size_t users = 0;
  };
  // Guards mounts_ and every mount and unmount made through it: a mount is
  // unmounted only when its count, kept here, reaches 0, so never under a
  // new user.
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Entry> mounts_;
};

}  // namespace sandbox::agent
