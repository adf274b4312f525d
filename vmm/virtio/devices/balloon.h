// virtio-balloon (device type 5) for free page reporting (virtio 1.2, 5.5.6.5):
// the guest hands blocks of its free RAM to the reporting queue and the
// device gives their host pages back (GuestMemory::Discard), so RAM a guest
// touched once and freed (its initramfs, its boot-time memory) stops costing
// the host, and stops being data a snapshot must keep. The balloon itself is
// never asked to inflate (its target stays 0); pages the guest puts in it all
// the same are discarded too.
#pragma once

#include <atomic>
#include <cstdint>

#include "vmm/virtio/device.h"

namespace sandbox::vmm {

class BalloonDevice : public VirtioDevice {
 public:
  // Without STATS_VQ or FREE_PAGE_HINT the reporting queue is the third.
  static constexpr size_t kInflateQueue = 0;
  static constexpr size_t kDeflateQueue = 1;
  static constexpr size_t kReportingQueue = 2;
  static constexpr uint64_t kFeatureReporting = 1ull << 5;  // VIRTIO_BALLOON_F_REPORTING
  static constexpr uint64_t kPfnShift = 12;                 // VIRTIO_BALLOON_PFN_SHIFT

  uint32_t device_type() const override { return 5; }
  const char* name() const override { return "balloon"; }
  uint64_t offered_features() const override { return kVirtioFeatureVersion1 | kFeatureReporting; }
  size_t queue_count() const override { return 3; }
  void WriteConfig(uint64_t offset, std::span<const uint8_t> data) override;
  void ProcessQueue(size_t index) override;
  // Each chain is served as it comes: nothing is held between requests.
  Status CheckSnapshotable() const override { return Status::Ok(); }
  void SaveState(SnapshotWriter& out, const std::string& prefix) const override;
  Status RestoreState(const SnapshotReader& in, const std::string& prefix) override;

  // What the guest has given back so far (for the API; any thread).
  struct Stats {
    uint64_t reports = 0;   // chains on the reporting queue
    uint64_t reported_bytes = 0;  // whole pages given back through them
  };
  Stats stats() const { return {reports_.load(), reported_bytes_.load()}; }

 protected:
  std::span<const uint8_t> config_bytes() const override {
    return {reinterpret_cast<const uint8_t*>(&config_), sizeof(config_)};
  }

 private:
  // struct virtio_balloon_config, little-endian.
  struct Config {
    uint32_t num_pages = 0;  // the target: never raised
    uint32_t actual = 0;     // written by the driver
    uint32_t free_page_hint_cmd_id = 0;
    uint32_t poison_val = 0;
  };
  static constexpr uint64_t kActualOffset = 4;

  uint32_t Report(const DescriptorChain& chain);
  uint32_t Inflate(const DescriptorChain& chain);
  // Discards [address, address + length), warning (rate-limited) when the
  // guest named memory that is not its RAM. Returns the bytes given back.
  uint64_t DiscardGuestRange(uint64_t address, uint64_t length, const char* queue);

  Config config_;
  std::atomic<uint64_t> reports_{0};
  std::atomic<uint64_t> reported_bytes_{0};
};

}  // namespace sandbox::vmm
