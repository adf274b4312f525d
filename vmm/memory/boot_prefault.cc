#include "vmm/memory/boot_prefault.h"

#include <algorithm>

namespace sandbox::vmm {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kStructPageBytes = 64;
constexpr uint64_t kPerCpuUnit = 2 * kMiB;
constexpr uint64_t kOtherEarlyAllocations = 2 * kMiB;

uint64_t PageUp(uint64_t value) { return (value + kPageSize - 1) / kPageSize * kPageSize; }

// [begin, end) clamped to [lowest, ...), as a range; nothing when empty.
void AddRange(std::vector<GuestRange>& ranges, uint64_t begin, uint64_t end, uint64_t lowest) {
  begin = std::max(begin, PageUp(lowest));
  if (begin < end) ranges.push_back({begin, end - begin});
}

}  // namespace

std::vector<GuestRange> BootPreFaultRanges(const std::vector<std::pair<uint64_t, uint64_t>>& layout, uint32_t vcpus,
                                           std::optional<GuestRange> initrd, uint64_t lowest) {
  std::vector<GuestRange> ranges;
  if (layout.empty()) return ranges;
  uint64_t ram = 0;
  for (const auto& [address, size] : layout) ram += size;
  const uint64_t early = PageUp(ram / kPageSize * kStructPageBytes) + vcpus * kPerCpuUnit + kOtherEarlyAllocations;
  const auto& [top_address, top_size] = layout.back();
  const uint64_t top_end = top_address + top_size;
  uint64_t below = top_end;
  if (initrd && initrd->size > 0) {
    const uint64_t initrd_end = PageUp(initrd->address + initrd->size);
    if (initrd->address >= top_address && initrd_end == top_end) {
      below = initrd->address - initrd->address % kPageSize;
    } else {
      AddRange(ranges, initrd->address - initrd->address % kPageSize, initrd_end, lowest);
    }
  }
  const uint64_t from = below - top_address > early ? below - early : top_address;
  AddRange(ranges, from, top_end, lowest);
  std::sort(ranges.begin(), ranges.end(), [](const GuestRange& a, const GuestRange& b) { return a.address < b.address; });
  return ranges;
}

}  // namespace sandbox::vmm
