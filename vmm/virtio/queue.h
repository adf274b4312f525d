// A split virtqueue (virtio 1.2, 2.7) read from untrusted guest memory.
//
// Every descriptor chain is validated before a device sees it: each buffer
// lies inside guest RAM, indices are in range, the chain is no longer than the
// queue (which also catches loops), an indirect table is well-formed and not
// nested, and device-readable buffers come before device-writable ones.
// Descriptors are copied out of guest memory once, so the guest cannot change
// a chain after it was checked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "vmm/memory/guest_memory.h"

namespace sandbox::vmm {

struct DescriptorBuffer {
  uint64_t address = 0;
  uint32_t length = 0;
  bool device_writable = false;
};

struct DescriptorChain {
  uint16_t head = 0;
  std::vector<DescriptorBuffer> buffers;  // readable ones first
  uint64_t readable_bytes = 0;
  uint64_t writable_bytes = 0;
};

// The outcome of taking one entry of the available ring.
struct PoppedChain {
  uint16_t head = 0;
  // Set when the chain was well-formed; otherwise `error` says why. A broken
  // chain is still returned to the guest (used length 0) so it can recover.
  std::optional<DescriptorChain> chain;
  Status error;
};

class Virtqueue {
 public:
  static constexpr uint16_t kMaxSize = 256;

  // The most entries the device offers for this queue (QueueNumMax), set by
  // the transport from the device; never the driver's to write.
  uint16_t max_size = kMaxSize;

  // Driver-written configuration (through the transport).
  uint16_t size = kMaxSize;
  bool ready = false;
  uint64_t descriptor_table = 0;
  uint64_t available_ring = 0;
  uint64_t used_ring = 0;

  // Whether the indirect-descriptor feature was negotiated.
  void set_indirect_allowed(bool allowed) { indirect_allowed_ = allowed; }

  // Checks the size and that the three areas lie in guest RAM, aligned.
  Status Validate(const GuestMemory& memory) const;
  void Reset();

  // Everything a snapshot keeps of a queue: the driver's configuration and
  // the device's place in both rings (the rings themselves are guest RAM).
  struct State {
    uint64_t descriptor_table, available_ring, used_ring;
    uint16_t size, next_available, next_used;
    uint8_t ready, indirect_allowed;
    uint8_t padding[5];
  };
  State SaveState() const;
  void RestoreState(const State& state);

  // The next available chain, or nullopt when the ring is empty. An error
  // means the ring itself is broken (the device should need a reset).
  Result<std::optional<PoppedChain>> Pop(const GuestMemory& memory);
  Status PushUsed(const GuestMemory& memory, uint16_t head, uint32_t written_length);

 private:
  Result<DescriptorChain> ReadChain(const GuestMemory& memory, uint16_t head) const;

  bool indirect_allowed_ = false;
  uint16_t next_available_ = 0;
  uint16_t next_used_ = 0;
};

// Walks the readable or the writable buffers of a chain, in order.
class ChainCursor {
 public:
  enum class Direction { kReadable, kWritable };
  ChainCursor(const GuestMemory& memory, const DescriptorChain& chain, Direction direction);

  // Host views of the next `length` bytes (for direct I/O); fails if the
  // chain has fewer.
  Result<std::vector<std::span<uint8_t>>> Take(uint64_t length);
  // Copies up to out.size() bytes out of readable buffers; returns how many.
  size_t CopyOut(std::span<uint8_t> out);
  // Copies up to data.size() bytes into writable buffers; returns how many.
  size_t CopyIn(std::span<const uint8_t> data);
  uint64_t remaining() const { return remaining_; }
  uint64_t consumed() const { return consumed_; }

 private:
  const GuestMemory& memory_;
  std::vector<DescriptorBuffer> buffers_;
  size_t index_ = 0;
  uint64_t offset_ = 0;
  uint64_t remaining_ = 0;
  uint64_t consumed_ = 0;
};

}  // namespace sandbox::vmm
