// A test-only stand-in for a guest virtio driver: lays out a split virtqueue
// in test guest memory, publishes descriptor chains (well-formed or hostile)
// and reads back what the device put in the used ring.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "vmm/memory/guest_memory.h"
#include "vmm/virtio/queue.h"

namespace sandbox::vmm::testing {

struct TestDescriptor {
  uint64_t address = 0;
  uint32_t length = 0;
  uint16_t flags = 0;
  uint16_t next = 0;
};

inline constexpr uint16_t kNext = 1;
inline constexpr uint16_t kWrite = 2;
inline constexpr uint16_t kIndirect = 4;

class QueueDriver {
 public:
  // Queue areas at 0x1000 (descriptors), 0x3000 (available), 0x4000 (used);
  // buffers are handed out from 0x10000 upwards.
  static constexpr uint64_t kDescriptors = 0x1000;
  static constexpr uint64_t kAvailable = 0x3000;
  static constexpr uint64_t kUsed = 0x4000;
  static constexpr uint64_t kBuffers = 0x10000;

  QueueDriver(const GuestMemory& memory, Virtqueue& queue, uint16_t size = 16) : memory_(memory), queue_(queue) {
    queue_.size = size;
    queue_.descriptor_table = kDescriptors;
    queue_.available_ring = kAvailable;
    queue_.used_ring = kUsed;
    queue_.ready = true;
  }

  // Guest memory for a buffer of `length` bytes (16-byte aligned).
  uint64_t Allocate(uint32_t length) {
    const uint64_t address = next_buffer_;
    next_buffer_ += (length + 15) & ~15ull;
    return address;
  }

  void SetDescriptor(uint16_t index, const TestDescriptor& descriptor) {
    (void)memory_.WriteObject(kDescriptors + 16ull * index, descriptor);
  }
  // Writes `chain` into consecutive descriptors from `first`, linking them.
  void SetChain(uint16_t first, std::vector<TestDescriptor> chain) {
    for (size_t i = 0; i < chain.size(); ++i) {
      if (i + 1 < chain.size()) {
        chain[i].flags |= kNext;
        chain[i].next = static_cast<uint16_t>(first + i + 1);
      }
      SetDescriptor(static_cast<uint16_t>(first + i), chain[i]);
    }
  }
  // Puts `head` in the available ring and bumps its index.
  void Publish(uint16_t head) {
    (void)memory_.WriteObject(kAvailable + 4 + 2ull * (available_ % queue_.size), head);
    ++available_;
    (void)memory_.WriteObject(kAvailable + 2, available_);
  }
  void SetAvailableIndex(uint16_t index) {
    available_ = index;
    (void)memory_.WriteObject(kAvailable + 2, index);
  }

  uint16_t UsedIndex() const { return memory_.ReadObject<uint16_t>(kUsed + 2).value_or(0); }
  // The used element at ring position `position`: {head, length}.
  std::pair<uint32_t, uint32_t> Used(uint16_t position) const {
    const uint64_t element = kUsed + 4 + 8ull * (position % queue_.size);
    return {memory_.ReadObject<uint32_t>(element).value_or(~0u), memory_.ReadObject<uint32_t>(element + 4).value_or(~0u)};
  }

  std::vector<uint8_t> ReadBytes(uint64_t address, size_t length) const {
    std::vector<uint8_t> bytes(length);
    (void)memory_.Read(address, bytes);
    return bytes;
  }
  void WriteBytes(uint64_t address, const std::vector<uint8_t>& bytes) const { (void)memory_.Write(address, bytes); }

 private:
  const GuestMemory& memory_;
  Virtqueue& queue_;
  uint16_t available_ = 0;
  uint64_t next_buffer_ = kBuffers;
};

}  // namespace sandbox::vmm::testing
