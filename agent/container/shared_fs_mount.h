// The sandbox's virtio-fs share (host bind mounts, see the shim's
// shared_fs.h): mounted by tag before the container is built, so the
// container's bind mounts can take their sources from it, and unmounted with
// the container.
#pragma once

#include <memory>
#include <string>

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

}  // namespace sandbox::agent
