// libFuzzer target: a hostile guest controls every byte of the memory a
// virtqueue lives in, plus the queue's configuration. Popping chains, copying
// through them and pushing used entries must never touch memory outside the
// guest's RAM (ASan checks) nor loop forever.
#include <cstdint>
#include <cstring>
#include <vector>

#include "vmm/memory/guest_memory.h"
#include "vmm/virtio/queue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sandbox::vmm;
  constexpr uint64_t kMemorySize = 64 * 1024;
  static GuestMemory memory = GuestMemory::CreateForTest(0x10000, kMemorySize).value();
  if (size < 16) return 0;
  // The first 16 bytes configure the queue; the rest is the guest's RAM.
  Virtqueue queue;
  uint16_t raw_size;
  std::memcpy(&raw_size, data, 2);
  queue.size = raw_size;
  uint16_t offsets[3];
  std::memcpy(offsets, data + 2, 6);
  queue.descriptor_table = 0x10000 + (offsets[0] % kMemorySize);
  queue.available_ring = 0x10000 + (offsets[1] % kMemorySize);
  queue.used_ring = 0x10000 + (offsets[2] % kMemorySize);
  queue.set_indirect_allowed(data[8] & 1);
  auto ram = memory.Translate(0x10000, kMemorySize).value();
  std::memset(ram.data(), 0, ram.size());
  std::memcpy(ram.data(), data + 16, std::min<size_t>(size - 16, ram.size()));
  if (!queue.Validate(memory).ok()) return 0;
  std::vector<uint8_t> scratch(4096);
  for (int round = 0; round < 64; ++round) {
    auto popped = queue.Pop(memory);
    if (!popped.ok() || !popped->has_value()) break;
    const PoppedChain& entry = **popped;
    uint32_t written = 0;
    if (entry.chain) {
      ChainCursor reader(memory, *entry.chain, ChainCursor::Direction::kReadable);
      reader.CopyOut(scratch);
      ChainCursor writer(memory, *entry.chain, ChainCursor::Direction::kWritable);
      written = static_cast<uint32_t>(writer.CopyIn(scratch));
    }
    (void)queue.PushUsed(memory, entry.head, written);
  }
  return 0;
}
