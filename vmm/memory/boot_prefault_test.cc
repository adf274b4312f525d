#include "vmm/memory/boot_prefault.h"

#include <gtest/gtest.h>

namespace sandbox::vmm {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kKernelEnd = 27 * kMiB;

// 256 MiB: 4 MiB of struct pages, one 2 MiB per-CPU unit, 2 MiB of other
// early allocations, below the initrd at the top.
TEST(BootPreFaultTest, TheTopOfRamBelowAnInitrdThatEndsIt) {
  const GuestRange initrd{256 * kMiB - 0x25'6000, 0x25'5e10};
  const std::vector<GuestRange> ranges =
      BootPreFaultRanges(GuestMemory::LayoutFor(256 * kMiB), 1, initrd, kKernelEnd);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].address, initrd.address - 8 * kMiB);
  EXPECT_EQ(ranges[0].address + ranges[0].size, 256 * kMiB);
}

TEST(BootPreFaultTest, EachVcpuAddsAPerCpuUnit) {
  const std::vector<GuestRange> ranges =
      BootPreFaultRanges(GuestMemory::LayoutFor(256 * kMiB), 4, std::nullopt, kKernelEnd);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].size, (4 + 4 * 2 + 2) * kMiB);
}

// Above the MMIO gap memblock allocates from the end of high RAM, while the
// initrd stays below initrd_addr_max: two ranges.
TEST(BootPreFaultTest, AnInitrdInLowRamIsItsOwnRangeWhenRamGoesAboveTheGap) {
  const uint64_t ram = 4096 * kMiB;
  const std::vector<std::pair<uint64_t, uint64_t>> layout = GuestMemory::LayoutFor(ram);
  ASSERT_EQ(layout.size(), 2u);
  const GuestRange initrd{GuestMemory::kMmioGapStart - 0x10'0000, 0xf'e010};  // whole pages: 0xff000
  const std::vector<GuestRange> ranges = BootPreFaultRanges(layout, 2, initrd, kKernelEnd);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].address, initrd.address);
  EXPECT_EQ(ranges[0].size, 0xf'f000u);
  const uint64_t high_end = layout[1].first + layout[1].second;
  EXPECT_EQ(ranges[1].size, (64 + 2 * 2 + 2) * kMiB);
  EXPECT_EQ(ranges[1].address + ranges[1].size, high_end);
}

// Small RAM: the range stops at the kernel's end (its text is shared with
// the file and must not be copied by a pre-fault), page-aligned.
TEST(BootPreFaultTest, NothingBelowTheKernel) {
  const std::vector<GuestRange> ranges =
      BootPreFaultRanges(GuestMemory::LayoutFor(32 * kMiB), 8, std::nullopt, kKernelEnd + 100);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0].address, kKernelEnd + 4096);
  EXPECT_EQ(ranges[0].address + ranges[0].size, 32 * kMiB);
  EXPECT_TRUE(BootPreFaultRanges(GuestMemory::LayoutFor(16 * kMiB), 1, std::nullopt, kKernelEnd).empty());
  EXPECT_TRUE(BootPreFaultRanges({}, 1, std::nullopt, 0).empty());
}

}  // namespace
}  // namespace sandbox::vmm
