// virtio-blk (device type 2) backed by a host file: read, write, flush and
// get-id; read-only disks refuse writes; every request is checked against the
// disk's capacity.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "common/base/unique_fd.h"
#include "vmm/virtio/device.h"

namespace sandbox::vmm {

class BlockDevice : public VirtioDevice {
 public:
  static constexpr uint64_t kSectorSize = 512;

  // Opens (and flock()s) `path`; its size must be a non-zero multiple of 512.
  static Result<std::shared_ptr<BlockDevice>> Open(const std::string& id, const std::string& path, bool read_only);

  uint32_t device_type() const override { return 2; }
  const char* name() const override { return "blk"; }
  uint64_t offered_features() const override;
  size_t queue_count() const override { return 1; }
  void ProcessQueue(size_t index) override;

  uint64_t capacity_sectors() const { return config_.capacity; }

 protected:
  std::span<const uint8_t> config_bytes() const override;

 private:
  struct Config {
    uint64_t capacity;
    uint32_t size_max;
    uint32_t seg_max;
  } __attribute__((packed));

  BlockDevice() = default;
  uint32_t HandleRequest(const DescriptorChain& chain);
  uint8_t Transfer(bool write, uint64_t sector, ChainCursor& data, uint64_t length);

  std::string id_;
  std::string path_;
  bool read_only_ = false;
  UniqueFd fd_;
  Config config_{};
};

}  // namespace sandbox::vmm
