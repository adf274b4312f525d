#include "vmm/machine.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "vmm/snapshot/snapshot_file.h"

namespace sandbox::vmm {
namespace {

// A snapshot's state as Machine::WriteSnapshot heads it: 1 vCPU, 128 MiB and `devices` virtio devices.
// `text`: the kernel text it records, if any.
SnapshotReader SnapshotOf(uint64_t devices, std::optional<GuestRange> text = std::nullopt) {
  SnapshotWriter writer;
  writer.AddU64("machine/vcpus", 1);
  writer.AddU64("machine/memory_bytes", 128ull << 20);
  writer.AddU64("machine/virtio_devices", devices);
  if (text) writer.AddStruct("memory/kernel_text", *text);
  return SnapshotReader::Parse(writer.Serialize().value(), "test").value();
}

// A restore config with vsock, rng and `nics` NICs (the template's had one).
VmmConfig RestoreConfigWith(size_t nics) {
  VmmConfig config;
  config.restore = RestoreConfig{.state = "/t/vm.state", .memory = "/t/vm.mem"};
  config.vsock = VsockConfig{.guest_cid = 3, .uds_path = "/t/vsock"};
  config.rng = true;
  for (size_t i = 0; i < nics; ++i) {
    config.net.push_back({.tap_fd = static_cast<int>(3 + i), .mac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(i + 1)}});
  }
  return config;
}

TEST(CheckSnapshotFitsTest, TakesTheSnapshotsNumberOfNics) {
  const Status fits = CheckSnapshotFits(SnapshotOf(3), RestoreConfigWith(1));
  EXPECT_TRUE(fits.ok()) << fits.message();
}

TEST(CheckSnapshotFitsTest, RefusesANicMoreOrLess) {
  for (size_t nics : {0, 2}) {
    const Status refused = CheckSnapshotFits(SnapshotOf(3), RestoreConfigWith(nics));
    ASSERT_FALSE(refused.ok()) << nics;
    EXPECT_EQ(refused.message(), fmt::format("restore: this config has {} virtio devices ({} NICs), but the snapshot "
                                             "/t/vm.state has 3",
                                             2 + nics, nics));
  }
}

TEST(CheckSnapshotFitsTest, RefusesAnotherShapeByField) {
  VmmConfig config = RestoreConfigWith(1);
  config.vcpus = 2;
  EXPECT_EQ(CheckSnapshotFits(SnapshotOf(3), config).message(), "vcpus: 2, but the snapshot /t/vm.state has 1");
  config.vcpus = 1;
  config.memory_mib = 256;
  EXPECT_EQ(CheckSnapshotFits(SnapshotOf(3), config).message(),
            "memory_mib: 256, but the snapshot /t/vm.state has 128 MiB");
}

TEST(CheckSnapshotFitsTest, TheKernelTextMustBeWholePagesOfTheSnapshotsRam) {
  const VmmConfig config = RestoreConfigWith(1);
  const Status fits = CheckSnapshotFits(SnapshotOf(3, GuestRange{0x1000000, 0x800000}), config);
  EXPECT_TRUE(fits.ok()) << fits.message();
  for (const GuestRange text : {GuestRange{0x1000000, 0}, GuestRange{0x1000800, 0x1000}, GuestRange{0x1000000, 0x10},
                                GuestRange{(128ull << 20) - 0x1000, 0x2000}, GuestRange{~0ull << 12, 0x2000},
                                GuestRange{GuestMemory::kMmioGapEnd, 0x1000}}) {
    EXPECT_EQ(CheckSnapshotFits(SnapshotOf(3, text), config).message(),
              fmt::format("the snapshot /t/vm.state: its kernel text {:#x}+{:#x} is not whole pages of its RAM",
                          text.address, text.size));
  }
}

TEST(CheckSharedRangesTest, TakesWholePagesApartFromEachOtherAndTheKernelText) {
  constexpr uint64_t kRam = 128ull << 20;
  const GuestRange text{0x1000000, 0x800000};
  EXPECT_TRUE(CheckSharedRanges({}, kRam, text).ok());
  EXPECT_TRUE(CheckSharedRanges({{0x200000, 0x12e000}, {0x1c08000, 0x1f8000}}, kRam, text).ok());
  EXPECT_TRUE(CheckSharedRanges({{0x800000, 0x800000}}, kRam, text).ok()) << "ends where the text starts";
  EXPECT_EQ(CheckSharedRanges({{0x200000, 0x1000}, {0x201000, 0x800}}, kRam, text).message(),
            "shared_ranges: 0x201000+0x800 is not whole pages of guest RAM");
  EXPECT_EQ(CheckSharedRanges({{kRam, 0x1000}}, kRam, text).message(),
            fmt::format("shared_ranges: {:#x}+0x1000 is not whole pages of guest RAM", kRam));
  EXPECT_EQ(CheckSharedRanges({{0x1700000, 0x200000}}, kRam, text).message(),
            "shared_ranges: 0x1700000+0x200000 overlaps 0x1000000+0x800000 (another range or the kernel's text)");
  EXPECT_EQ(CheckSharedRanges({{0x3000, 0x2000}, {0x2000, 0x2000}}, kRam, std::nullopt).message(),
            "shared_ranges: 0x3000+0x2000 overlaps 0x2000+0x2000 (another range or the kernel's text)");
  std::vector<GuestRange> many;
  for (uint64_t i = 0; i <= kMaxSharedRanges; ++i) many.push_back({i * 0x2000, 0x1000});
  EXPECT_EQ(CheckSharedRanges(many, kRam, std::nullopt).message(),
            fmt::format("shared_ranges: {} ranges, at most {}", kMaxSharedRanges + 1, kMaxSharedRanges));
}

TEST(CheckSnapshotFitsTest, ChecksTheSnapshotsSharedRanges) {
  // The section as Machine::WriteSnapshot lays it out.
  struct Section {
    uint64_t count;
    GuestRange ranges[kMaxSharedRanges];
  };
  auto snapshot_with = [](Section section) {
    SnapshotWriter writer;
    writer.AddU64("machine/vcpus", 1);
    writer.AddU64("machine/memory_bytes", 128ull << 20);
    writer.AddU64("machine/virtio_devices", 3);
    writer.AddStruct("memory/kernel_text", GuestRange{0x1000000, 0x800000});
    writer.AddStruct("memory/shared_ranges", section);
    return SnapshotReader::Parse(writer.Serialize().value(), "test").value();
  };
  const VmmConfig config = RestoreConfigWith(1);
  Status fits = CheckSnapshotFits(snapshot_with({.count = 2, .ranges = {{0x200000, 0x1000}, {0x400000, 0x2000}}}), config);
  EXPECT_TRUE(fits.ok()) << fits.message();
  EXPECT_EQ(CheckSnapshotFits(snapshot_with({.count = 1, .ranges = {{0x1001000, 0x1000}}}), config).message(),
            "the snapshot /t/vm.state: shared_ranges: 0x1001000+0x1000 overlaps 0x1000000+0x800000 (another range "
            "or the kernel's text)");
  EXPECT_EQ(CheckSnapshotFits(snapshot_with({.count = kMaxSharedRanges + 1, .ranges = {}}), config).message(),
            fmt::format("the snapshot /t/vm.state: {} shared ranges, at most {}", kMaxSharedRanges + 1,
                        kMaxSharedRanges));
}

}  // namespace
}  // namespace sandbox::vmm
