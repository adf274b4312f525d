#include "vmm/virtio/queue.h"

#include <atomic>
#include <bit>
#include <cstring>
#include <fmt/format.h>

namespace sandbox::vmm {
namespace {

// Descriptor flags (virtio 1.2, 2.7.5); <linux/virtio_ring.h> does not compile as C++.
constexpr uint16_t kDescriptorNext = 1;
constexpr uint16_t kDescriptorWrite = 2;
constexpr uint16_t kDescriptorIndirect = 4;

struct RawDescriptor {
  uint64_t address;
  uint32_t length;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(RawDescriptor) == 16);

constexpr uint64_t kAvailableHeader = 4;  // flags, idx
constexpr uint64_t kUsedHeader = 4;
constexpr uint64_t kUsedElement = 8;

// Walks one descriptor table (the queue's own or an indirect one).
class ChainBuilder {
 public:
  ChainBuilder(const GuestMemory& memory, DescriptorChain& chain) : memory_(memory), chain_(chain) {}

  Status Add(const RawDescriptor& descriptor) {
    const bool writable = descriptor.flags & kDescriptorWrite;
    if (!writable && chain_.writable_bytes > 0) return InvalidArgument("a device-readable buffer follows a writable one");
    if (!memory_.Contains(descriptor.address, descriptor.length)) {
      return InvalidArgument(fmt::format("buffer {:#x}+{:#x} is outside guest RAM", descriptor.address, descriptor.length));
    }
    chain_.buffers.push_back({descriptor.address, descriptor.length, writable});
    (writable ? chain_.writable_bytes : chain_.readable_bytes) += descriptor.length;
    return Status::Ok();
  }

 private:
  const GuestMemory& memory_;
  DescriptorChain& chain_;
};

Result<RawDescriptor> ReadDescriptor(const GuestMemory& memory, uint64_t table, uint32_t index) {
  auto descriptor = memory.ReadObject<RawDescriptor>(table + uint64_t{index} * sizeof(RawDescriptor));
  if (!descriptor.ok()) return InvalidArgument(fmt::format("descriptor {} is outside guest RAM", index));
  return descriptor;
}

}  // namespace

Status Virtqueue::Validate(const GuestMemory& memory) const {
  if (size == 0 || size > max_size || !std::has_single_bit(size)) {
    return InvalidArgument(fmt::format("queue size {} is not a power of two up to {}", size, max_size));
  }
  struct Area {
    const char* name;
    uint64_t address;
    uint64_t length;
    uint64_t alignment;
  };
  const Area areas[] = {
      {"descriptor table", descriptor_table, uint64_t{size} * sizeof(RawDescriptor), 16},
      {"available ring", available_ring, kAvailableHeader + 2ull * size + 2, 2},
      {"used ring", used_ring, kUsedHeader + kUsedElement * size + 2, 4},
  };
  for (const Area& area : areas) {
    if (area.address % area.alignment != 0) {
      return InvalidArgument(fmt::format("{} at {:#x} is not {}-byte aligned", area.name, area.address, area.alignment));
    }
    if (!memory.Contains(area.address, area.length)) {
      return InvalidArgument(fmt::format("{} at {:#x}+{:#x} is outside guest RAM", area.name, area.address, area.length));
    }
  }
  return Status::Ok();
}

void Virtqueue::Reset() {
  size = max_size;
  ready = false;
  descriptor_table = available_ring = used_ring = 0;
  next_available_ = next_used_ = 0;
  indirect_allowed_ = false;
}

Virtqueue::State Virtqueue::SaveState() const {
  return {descriptor_table, available_ring, used_ring, size, next_available_, next_used_, ready, indirect_allowed_, {}};
}

void Virtqueue::RestoreState(const State& state) {
  descriptor_table = state.descriptor_table;
  available_ring = state.available_ring;
  used_ring = state.used_ring;
  size = state.size;
  next_available_ = state.next_available;
  next_used_ = state.next_used;
  ready = state.ready != 0;
  indirect_allowed_ = state.indirect_allowed != 0;
}

Result<DescriptorChain> Virtqueue::ReadChain(const GuestMemory& memory, uint16_t head) const {
  DescriptorChain chain;
  chain.head = head;
  ChainBuilder builder(memory, chain);
  uint32_t index = head;
  // A chain visits each descriptor at most once, so more than `size` steps means a loop.
  for (uint32_t steps = 0;; ++steps) {
    if (index >= size) return InvalidArgument(fmt::format("descriptor index {} is beyond the queue size {}", index, size));
    if (steps >= size) return InvalidArgument("descriptor chain is longer than the queue (a loop?)");
    SANDBOX_ASSIGN_OR_RETURN(RawDescriptor descriptor, ReadDescriptor(memory, descriptor_table, index));
    if (descriptor.flags & kDescriptorIndirect) {
      if (!indirect_allowed_) return InvalidArgument("indirect descriptor without the negotiated feature");
      if (descriptor.flags & kDescriptorNext) return InvalidArgument("indirect descriptor with a next flag");
      if (descriptor.length == 0 || descriptor.length % sizeof(RawDescriptor) != 0 ||
          descriptor.length / sizeof(RawDescriptor) > size) {
        return InvalidArgument(fmt::format("indirect table length {} is not a multiple of 16 up to the queue size",
                                           descriptor.length));
      }
      if (!memory.Contains(descriptor.address, descriptor.length)) {
        return InvalidArgument(fmt::format("indirect table {:#x}+{:#x} is outside guest RAM", descriptor.address,
                                           descriptor.length));
      }
      const uint32_t entries = descriptor.length / sizeof(RawDescriptor);
      uint32_t inner = 0;
      for (uint32_t inner_steps = 0;; ++inner_steps) {
        if (inner_steps >= entries) return InvalidArgument("indirect chain loops");
        SANDBOX_ASSIGN_OR_RETURN(RawDescriptor entry, ReadDescriptor(memory, descriptor.address, inner));
        if (entry.flags & kDescriptorIndirect) return InvalidArgument("nested indirect descriptor");
        SANDBOX_RETURN_IF_ERROR(builder.Add(entry));
        if (!(entry.flags & kDescriptorNext)) break;
        inner = entry.next;
        if (inner >= entries) return InvalidArgument(fmt::format("indirect next {} is beyond the table's {} entries", inner, entries));
      }
      return chain;  // an indirect descriptor is the whole chain
    }
    SANDBOX_RETURN_IF_ERROR(builder.Add(descriptor));
    if (!(descriptor.flags & kDescriptorNext)) return chain;
    index = descriptor.next;
  }
}

Result<std::optional<PoppedChain>> Virtqueue::Pop(const GuestMemory& memory) {
  SANDBOX_ASSIGN_OR_RETURN(uint16_t available_index, memory.ReadObject<uint16_t>(available_ring + 2));
  if (available_index == next_available_) return std::optional<PoppedChain>();
  if (static_cast<uint16_t>(available_index - next_available_) > size) {
    return InvalidArgument(fmt::format("available index {} ran {} entries ahead of the device (queue size {})",
                                       available_index, static_cast<uint16_t>(available_index - next_available_), size));
  }
  // The ring entry must be read after the index that published it.
  std::atomic_thread_fence(std::memory_order_acquire);
  SANDBOX_ASSIGN_OR_RETURN(uint16_t head, memory.ReadObject<uint16_t>(available_ring + kAvailableHeader +
                                                                      2ull * (next_available_ % size)));
  ++next_available_;
  PoppedChain popped;
  popped.head = head;
  auto chain = ReadChain(memory, head);
  if (chain.ok()) {
    popped.chain = std::move(chain).value();
  } else {
    popped.error = chain.status();
  }
  return std::optional<PoppedChain>(std::move(popped));
}

Status Virtqueue::PushUsed(const GuestMemory& memory, uint16_t head, uint32_t written_length) {
  if (head >= size) return InvalidArgument(fmt::format("used head {} is beyond the queue size {}", head, size));
  const uint64_t element = used_ring + kUsedHeader + kUsedElement * (next_used_ % size);
  const uint32_t used_element[2] = {head, written_length};
  SANDBOX_RETURN_IF_ERROR(memory.WriteObject(element, used_element));
  ++next_used_;
  // The element must be visible before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  return memory.WriteObject(used_ring + 2, next_used_);
}

ChainCursor::ChainCursor(const GuestMemory& memory, const DescriptorChain& chain, Direction direction)
    : memory_(memory) {
  const bool writable = direction == Direction::kWritable;
  for (const DescriptorBuffer& buffer : chain.buffers) {
    if (buffer.device_writable == writable) buffers_.push_back(buffer);
  }
  remaining_ = writable ? chain.writable_bytes : chain.readable_bytes;
}

Result<std::vector<std::span<uint8_t>>> ChainCursor::Take(uint64_t length) {
  if (length > remaining_) {
    return InvalidArgument(fmt::format("request needs {} more bytes, the chain has {}", length, remaining_));
  }
  std::vector<std::span<uint8_t>> spans;
  while (length > 0) {
    const DescriptorBuffer& buffer = buffers_[index_];
    const uint64_t chunk = std::min<uint64_t>(length, buffer.length - offset_);
    SANDBOX_ASSIGN_OR_RETURN(std::span<uint8_t> view, memory_.Translate(buffer.address + offset_, chunk));
    if (chunk > 0) spans.push_back(view);
    offset_ += chunk;
    length -= chunk;
    remaining_ -= chunk;
    consumed_ += chunk;
    if (offset_ == buffer.length) {
      ++index_;
      offset_ = 0;
    }
  }
  return spans;
}

size_t ChainCursor::CopyOut(std::span<uint8_t> out) {
  auto spans = Take(std::min<uint64_t>(out.size(), remaining_));
  if (!spans.ok()) return 0;
  size_t copied = 0;
  for (std::span<uint8_t> span : *spans) {
    std::memcpy(out.data() + copied, span.data(), span.size());
    copied += span.size();
  }
  return copied;
}

size_t ChainCursor::CopyIn(std::span<const uint8_t> data) {
  auto spans = Take(std::min<uint64_t>(data.size(), remaining_));
  if (!spans.ok()) return 0;
  size_t copied = 0;
  for (std::span<uint8_t> span : *spans) {
    std::memcpy(span.data(), data.data() + copied, span.size());
    copied += span.size();
  }
  return copied;
}

}  // namespace sandbox::vmm
