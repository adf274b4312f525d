#include "vmm/memory/boot_prefault.h"

#include <algorithm>

#include "common/base/kernel_cmdline.h"

namespace sandbox::vmm {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kKiB = 1 << 10;
constexpr uint64_t kMiB = 1 << 20;
// memblock aligns the struct page array and the per-CPU first chunk to a
// PMD (both are mapped with 2 MiB pages).
constexpr uint64_t kPmd = 2 * kMiB;
constexpr uint64_t kStructPageBytes = 64;
// A CPU's first per-CPU unit (the kernel's static per-CPU data, about
// 180 KiB here, and room to grow) rounded up to a power of two: 256 KiB,
// eight to a 2 MiB chunk.
constexpr uint64_t kPerCpuUnit = 256 * kKiB;
// What memblock hands out before the struct pages (e820 copies, early page
// tables): a few KiB, just below the initrd or the top.
constexpr uint64_t kSmallAllocations = 64 * kKiB;

uint64_t AlignUp(uint64_t value, uint64_t alignment) { return (value + alignment - 1) / alignment * alignment; }
uint64_t AlignDown(uint64_t value, uint64_t alignment) { return value / alignment * alignment; }

// [begin, end) clamped to [lowest, ...), as a range; nothing when empty.
void AddRange(std::vector<GuestRange>& ranges, uint64_t begin, uint64_t end, uint64_t lowest) {
  begin = std::max(begin, AlignUp(lowest, kPageSize));
  if (begin < end) ranges.push_back({begin, end - begin});
}

}  // namespace

bool EmbedsPerCpuChunk(std::string_view cmdline) { return LastKernelParameter(cmdline, "percpu_alloc") != "page"; }

std::vector<GuestRange> BootPreFaultRanges(const std::vector<std::pair<uint64_t, uint64_t>>& layout, uint32_t vcpus,
                                           const LoadedBootImage& image) {
  std::vector<GuestRange> ranges;
  if (layout.empty()) return ranges;
  const uint64_t lowest = image.kernel_end;
  if (image.kernel_data && image.kernel_data->size > 0) {
    AddRange(ranges, AlignUp(image.kernel_data->address, kPageSize),
             AlignUp(image.kernel_data->address + image.kernel_data->size, kPageSize), 0);
  }
  const std::optional<GuestRange>& initrd = image.initrd;
  uint64_t ram = 0;
  for (const auto& [address, size] : layout) ram += size;
  const auto& [top_address, top_size] = layout.back();
  const uint64_t top_end = top_address + top_size;
  uint64_t below = top_end;
  if (initrd && initrd->size > 0) {
    const uint64_t initrd_begin = AlignDown(initrd->address, kPageSize);
    const uint64_t initrd_end = AlignUp(initrd->address + initrd->size, kPageSize);
    if (initrd_begin >= top_address && initrd_end == top_end) {
      below = initrd_begin;
    } else {
      AddRange(ranges, initrd_begin, initrd_end, lowest);
    }
  }
  const uint64_t struct_pages = AlignUp(ram / kPageSize * kStructPageBytes, kPmd);
  const uint64_t per_cpu = image.per_cpu_embedded ? AlignUp(uint64_t{vcpus} * kPerCpuUnit, kPmd) : 0;
  const uint64_t early = struct_pages + per_cpu;
  const uint64_t early_end = below - top_address > kSmallAllocations ? AlignDown(below - kSmallAllocations, kPmd) : 0;
  const uint64_t from = early_end >= top_address + early ? early_end - early : top_address;
  AddRange(ranges, from, top_end, lowest);
  std::sort(ranges.begin(), ranges.end(), [](const GuestRange& a, const GuestRange& b) { return a.address < b.address; });
  return ranges;
}

}  // namespace sandbox::vmm
