// virtio-rng (device type 4): fills the guest's buffers from getrandom(2).
#pragma once

#include "vmm/virtio/device.h"

namespace sandbox::vmm {

class RngDevice : public VirtioDevice {
 public:
  static constexpr uint32_t kMaxBytesPerRequest = 64 * 1024;

  uint32_t device_type() const override { return 4; }
  const char* name() const override { return "rng"; }
  uint64_t offered_features() const override { return kVirtioFeatureVersion1 | kVirtioFeatureIndirectDescriptors; }
  size_t queue_count() const override { return 1; }
  void ProcessQueue(size_t index) override;
  // It holds nothing between requests (and no chain: each is served at once).
  Status CheckSnapshotable() const override { return Status::Ok(); }

 private:
  uint32_t Fill(const DescriptorChain& chain);
};

}  // namespace sandbox::vmm
