// The interface between a virtio transport and a device's logic. The
// transport owns the queues and the feature/status handshake; a device says
// what it offers, serves its configuration space and consumes its queues.
//
// Threading: every call into a device is made with device.mutex() held, from
// a vCPU thread (configuration, activation, reset) or the event loop (queue
// notifications, the device's own fds). A device's own event handlers take
// the same mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/snapshot/snapshot_file.h"
#include "vmm/virtio/queue.h"
#include "vmm/virtio/rate_limited_warnings.h"

#include <optional>

namespace sandbox::vmm {

inline constexpr uint64_t kVirtioFeatureVersion1 = 1ull << 32;
inline constexpr uint64_t kVirtioFeatureIndirectDescriptors = 1ull << 28;

// What an activated device works with; valid until Reset().
struct ActiveQueues {
  const GuestMemory* memory = nullptr;
  std::vector<Virtqueue>* queues = nullptr;
  uint64_t features = 0;  // negotiated
  std::function<void()> signal_used;  // raises the used-buffer interrupt
  std::function<void(const Status&)> fail;  // marks the device as needing a reset
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t device_type() const = 0;
  virtual const char* name() const = 0;
  virtual uint64_t offered_features() const = 0;  // including VERSION_1
  virtual size_t queue_count() const = 0;
  // QueueNumMax of queue `index` (at most Virtqueue::kMaxSize).
  virtual uint16_t max_queue_size(size_t /*index*/) const { return Virtqueue::kMaxSize; }
  // Out-of-range offsets read as zero and ignore writes.
  virtual void ReadConfig(uint64_t offset, std::span<uint8_t> data);
  virtual void WriteConfig(uint64_t /*offset*/, std::span<const uint8_t> /*data*/) {}

  // DRIVER_OK: the queues are validated and ready. Devices with more state
  // than the queues extend these two.
  virtual Status Activate(const ActiveQueues& active) {
    active_ = active;
    return Status::Ok();
  }
  virtual void ProcessQueue(size_t index) = 0;
  // The driver wrote 0 to status: drop everything tied to the old queues.
  virtual void Reset() { active_.reset(); }

  std::mutex& mutex() { return mutex_; }

  // Snapshots (vmm/snapshot), with mutex() held. A device says whether its
  // state can be saved now (by default no: the device kinds that can say
  // so), and saves and restores what it holds beyond its queues under
  // `prefix` (restored after Activate).
  virtual Status CheckSnapshotable() const {
    return Unimplemented(std::string("virtio-") + name() + " devices cannot be snapshotted yet");
  }
  virtual void SaveState(SnapshotWriter& /*out*/, const std::string& /*prefix*/) const {}
  virtual Status RestoreState(const SnapshotReader& /*in*/, const std::string& /*prefix*/) { return Status::Ok(); }
  // Chains of queue `index` the device popped but has not used yet, the
  // last ones it popped. The transport saves the queue as if they were never
  // popped (their avail-ring entries stay put: the driver cannot reuse a
  // chain in flight), so a restored device pops them again.
  virtual uint16_t ChainsHeld(size_t /*index*/) const { return 0; }

 protected:
  // Set between Activate() and Reset().
  std::optional<ActiveQueues> active_;

  // The configuration space as bytes, for the default ReadConfig.
  virtual std::span<const uint8_t> config_bytes() const { return {}; }

  // Takes every available chain of queue `index`: a well-formed one goes to
  // `handle`, which returns the number of bytes it wrote; a malformed one is
  // logged and returned with length 0. Signals the guest once at the end.
  // Returns false if the ring itself is broken (the device then needs a reset).
  bool DrainQueue(const ActiveQueues& active, size_t index,
                  const std::function<uint32_t(const DescriptorChain&)>& handle);

  // For what the guest can make happen at will (prefix "virtio"; messages
  // name the device).
  RateLimitedWarnings guest_warnings_{"virtio"};

 private:
  std::mutex mutex_;
};

}  // namespace sandbox::vmm
