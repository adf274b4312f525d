#include "vmm/memory/boot_prefault.h"

#include <gtest/gtest.h>

namespace sandbox::vmm {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kKernelEnd = 27 * kMiB;

// What the guest kernel did with 256 MiB, 1 vCPU and a 2.5 MiB initrd at
// 0xfd80000 (memblock=debug): struct pages at [248, 252) MiB, the per-CPU
// chunk at [246, 248) MiB, small tables in the hole above.
TEST(BootPreFaultTest, TheStructPagesAndPerCpuChunkBelowAnInitrdThatEndsRam) {
  const GuestRange initrd{0xfd8'0000, 0x27'f6be};
  const std::vector<GuestRange> ranges =
      BootPreFaultRanges(GuestMemory::LayoutFor(256 * kMiB), 1, {.kernel_end = kKernelEnd, .initrd = initrd});
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].address, 246 * kMiB);
  EXPECT_EQ(ranges[0].address + ranges[0].size, 256 * kMiB);
}

// An initrd that starts on a 2 MiB boundary leaves no hole for the small
// tables: they go below it, and the struct pages a whole 2 MiB lower.
TEST(BootPreFaultTest, AnAlignedInitrdPushesTheStructPagesDown) {
  const GuestRange initrd{254 * kMiB, 2 * kMiB};
  const std::vector<GuestRange> ranges =
      BootPreFaultRanges(GuestMemory::LayoutFor(256 * kMiB), 1, {.kernel_end = kKernelEnd, .initrd = initrd});
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].address, (252 - 4 - 2) * kMiB);
}

// Eight vCPUs' units share one 2 MiB chunk; the ninth needs another.
TEST(BootPreFaultTest, PerCpuChunksGrowByEightVcpus) {
  auto lowest_for = [](uint32_t vcpus) {
    return BootPreFaultRanges(GuestMemory::LayoutFor(256 * kMiB), vcpus, {.kernel_end = kKernelEnd}).at(0).address;
  };
  EXPECT_EQ(lowest_for(1), (254 - 4 - 2) * kMiB);
  EXPECT_EQ(lowest_for(8), (254 - 4 - 2) * kMiB);
  EXPECT_EQ(lowest_for(9), (254 - 4 - 4) * kMiB);
}

// Above the MMIO gap memblock allocates from the end of high RAM, while the
// initrd stays below initrd_addr_max: two ranges.
TEST(BootPreFaultTest, AnInitrdInLowRamIsItsOwnRangeWhenRamGoesAboveTheGap) {
  const uint64_t ram = 4096 * kMiB;
  const std::vector<std::pair<uint64_t, uint64_t>> layout = GuestMemory::LayoutFor(ram);
  ASSERT_EQ(layout.size(), 2u);
  const GuestRange initrd{GuestMemory::kMmioGapStart - 0x10'0000, 0xf'e010};  // whole pages: 0xff000
  const std::vector<GuestRange> ranges = BootPreFaultRanges(layout, 2, {.kernel_end = kKernelEnd, .initrd = initrd});
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].address, initrd.address);
  EXPECT_EQ(ranges[0].size, 0xf'f000u);
  const uint64_t high_end = layout[1].first + layout[1].second;
  EXPECT_EQ(ranges[1].address + ranges[1].size, high_end);
  EXPECT_EQ(ranges[1].size, (2 + 64 + 2) * kMiB);  // the hole for small tables, struct pages, per-CPU
}

// Small RAM: the range stops at the kernel's end (its text is shared with
// the file and must not be copied by a pre-fault), page-aligned.
TEST(BootPreFaultTest, NothingBelowTheKernel) {
  const std::vector<GuestRange> ranges =
      BootPreFaultRanges(GuestMemory::LayoutFor(32 * kMiB), 64, {.kernel_end = kKernelEnd + 100});
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].address, kKernelEnd + 4096);
  EXPECT_EQ(ranges[0].address + ranges[0].size, 32 * kMiB);
  EXPECT_TRUE(BootPreFaultRanges(GuestMemory::LayoutFor(16 * kMiB), 1, {.kernel_end = kKernelEnd}).empty());
  EXPECT_TRUE(BootPreFaultRanges({}, 1, {.kernel_end = 0}).empty());
}

// The kernel past its text (the vmlinux's layout: text to 24 MiB, the end
// at 28.1 MiB) is a range of its own, in whole pages, below the others.
TEST(BootPreFaultTest, TheKernelPastItsTextIsARangeOfItsOwn) {
  const uint64_t text_end = 24 * kMiB;
  const uint64_t kernel_end = 0x1c1'7e10;
  const LoadedBootImage image{.kernel_end = kernel_end, .kernel_data = GuestRange{text_end, kernel_end - text_end}};
  const std::vector<GuestRange> ranges = BootPreFaultRanges(GuestMemory::LayoutFor(256 * kMiB), 1, image);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].address, text_end);
  EXPECT_EQ(ranges[0].address + ranges[0].size, 0x1c1'8000u);
  EXPECT_EQ(ranges[1].address, (254 - 4 - 2) * kMiB);
}

// percpu_alloc=page: the per-CPU pages go in the small allocations' hole,
// and the struct pages are the next 2 MiB-aligned block below it.
TEST(BootPreFaultTest, PerCpuPagesNeedNoChunkOfTheirOwn) {
  const GuestRange initrd{0xfd8'0000, 0x27'f6be};
  const LoadedBootImage image{.kernel_end = kKernelEnd, .initrd = initrd, .per_cpu_embedded = false};
  const std::vector<GuestRange> ranges = BootPreFaultRanges(GuestMemory::LayoutFor(256 * kMiB), 1, image);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].address, 248 * kMiB);
}

TEST(BootPreFaultTest, TheLastPercpuAllocOnTheCommandLineCounts) {
  EXPECT_TRUE(EmbedsPerCpuChunk(""));
  EXPECT_TRUE(EmbedsPerCpuChunk("console=ttyS0 quiet"));
  EXPECT_FALSE(EmbedsPerCpuChunk("console=ttyS0 percpu_alloc=page quiet"));
  EXPECT_FALSE(EmbedsPerCpuChunk("percpu_alloc=page"));
  EXPECT_TRUE(EmbedsPerCpuChunk("percpu_alloc=page percpu_alloc=embed"));
  EXPECT_TRUE(EmbedsPerCpuChunk("xpercpu_alloc=page percpu_alloc=pages"));
}

}  // namespace
}  // namespace sandbox::vmm
