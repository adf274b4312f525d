// The container's root filesystem when the host attached it as a block
// device (an erofs or ext4 image of the bundle's rootfs on virtio-blk): the
// image mounted read-only and, when `writable`, an overlay over it whose
// upper layer is a tmpfs, so the setup can create mount points and the
// container can write without touching the image (its writes cost guest RAM
// and vanish with the container). Unmounted when the container is removed.
#pragma once

#include <memory>
#include <string>

#include "common/base/status.h"

namespace sandbox::agent {

struct RootfsSource {
  std::string device;  // "/dev/vda"
  std::string fstype;  // "erofs" or "ext4"
};

class RootfsMount {
 public:
  // Mounts under `work_dir` (created; must not exist yet).
  static Result<std::unique_ptr<RootfsMount>> Mount(const RootfsSource& source, const std::string& work_dir,
                                                   bool writable);
  ~RootfsMount();
  RootfsMount(const RootfsMount&) = delete;
  RootfsMount& operator=(const RootfsMount&) = delete;

  // The directory to use as the container's rootfs.
  const std::string& path() const { return path_; }

 private:
  explicit RootfsMount(std::string work_dir) : work_dir_(std::move(work_dir)) {}
  void Unmount();

  std::string work_dir_;
  std::string path_;
};

}  // namespace sandbox::agent
