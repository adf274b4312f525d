#include "vmm/virtio/devices/balloon.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "vmm/virtio/testing/queue_driver.h"

namespace sandbox::vmm {
namespace {

using testing::kWrite;
using testing::QueueDriver;

constexpr uint64_t kRam = 4 << 20;

// The balloon activated in test memory with its three queues, each laid out
// by its own driver in its own part of RAM.
class BalloonDeviceTest : public ::testing::Test {
 protected:
  BalloonDeviceTest() : memory_(GuestMemory::CreateForTest(0, kRam).value()), queues_(3) {
    ActiveQueues active;
    active.memory = &memory_;
    active.queues = &queues_;
    active.features = device_.offered_features();
    active.signal_used = [this] { ++interrupts_; };
    active.fail = [this](const Status& why) { failure_ = why.message(); };
    EXPECT_TRUE(device_.Activate(active).ok());
    // The rings' pages, allocated up front: AllocatedBytes counts buffers only.
    for (uint64_t page = 0; page < 0x40000; page += 0x1000) EXPECT_TRUE(memory_.WriteObject(page, uint8_t{0}).ok());
  }

  // Publishes one chain on queue `index` (its rings at QueueDriver's offsets
  // moved up by 64 KiB * index) and runs the device on it; returns the used length.
  uint32_t Send(size_t index, std::vector<testing::TestDescriptor> chain) {
    const uint64_t base = 0x10000 * index;
    Virtqueue& queue = queues_[index];
    queue.size = 16;
    queue.descriptor_table = base + QueueDriver::kDescriptors;
    queue.available_ring = base + QueueDriver::kAvailable;
    queue.used_ring = base + QueueDriver::kUsed;
    queue.ready = true;
    for (size_t i = 0; i < chain.size(); ++i) {
      if (i + 1 < chain.size()) {
        chain[i].flags |= testing::kNext;
        chain[i].next = static_cast<uint16_t>(i + 1);
      }
      EXPECT_TRUE(memory_.WriteObject(queue.descriptor_table + 16 * i, chain[i]).ok());
    }
    EXPECT_TRUE(memory_.WriteObject(queue.available_ring + 4, uint16_t{0}).ok());
    EXPECT_TRUE(memory_.WriteObject(queue.available_ring + 2, uint16_t{1}).ok());
    device_.ProcessQueue(index);
    EXPECT_EQ(memory_.ReadObject<uint16_t>(queue.used_ring + 2).value(), 1) << "one chain used";
    return memory_.ReadObject<uint32_t>(queue.used_ring + 8).value();
  }

  // Pages of the memfd that hold data (not holes).
  uint64_t AllocatedBytes() const {
    struct stat info {};
    EXPECT_EQ(::fstat(memory_.memfd(), &info), 0);
    return static_cast<uint64_t>(info.st_blocks) * 512;
  }

  void Fill(uint64_t address, uint64_t length) {
    std::vector<uint8_t> bytes(length, 0xab);
    ASSERT_TRUE(memory_.Write(address, bytes).ok());
  }

  GuestMemory memory_;
  std::vector<Virtqueue> queues_;
  BalloonDevice device_;
  int interrupts_ = 0;
  std::string failure_;
};

TEST_F(BalloonDeviceTest, AReportedBlockGoesBackToTheHostAndReadsAsZeros) {
  Fill(0x200000, 0x20000);
  const uint64_t before = AllocatedBytes();
  EXPECT_EQ(Send(BalloonDevice::kReportingQueue, {{0x200000, 0x10000, kWrite}, {0x218000, 0x8000, kWrite}}), 0u);
  EXPECT_EQ(AllocatedBytes(), before - 0x18000);
  EXPECT_EQ(memory_.ReadObject<uint64_t>(0x200000).value(), 0u);
  EXPECT_EQ(memory_.ReadObject<uint8_t>(0x210000).value(), 0xab) << "not reported";
  EXPECT_EQ(device_.stats().reports, 1u);
  EXPECT_EQ(device_.stats().reported_bytes, 0x18000u);
  EXPECT_EQ(interrupts_, 1);
  EXPECT_TRUE(failure_.empty()) << failure_;
}

TEST_F(BalloonDeviceTest, OnlyWholePagesOfAReportAreDiscarded) {
  Fill(0x200000, 0x3000);
  Send(BalloonDevice::kReportingQueue, {{0x200800, 0x2000, kWrite}});
  EXPECT_EQ(memory_.ReadObject<uint8_t>(0x200800).value(), 0xab) << "a partial page stays";
  EXPECT_EQ(memory_.ReadObject<uint8_t>(0x201000).value(), 0);
  EXPECT_EQ(memory_.ReadObject<uint8_t>(0x202000).value(), 0xab);
  EXPECT_EQ(device_.stats().reported_bytes, 0x1000u);
}

TEST_F(BalloonDeviceTest, InflatedPagesAreDiscardedAndForeignOnesIgnored) {
  Fill(0x300000, 0x2000);
  const uint64_t pfns = 0x180000;
  // Two pages in RAM, one far outside it, one at the edge of its PFN range.
  const uint32_t list[] = {0x300, 0x301, 0x7fffffff, 0xffffffff};
  ASSERT_TRUE(memory_.WriteObject(pfns, list).ok());
  EXPECT_EQ(Send(BalloonDevice::kInflateQueue, {{pfns, sizeof(list), 0}}), 0u);
  EXPECT_EQ(memory_.ReadObject<uint64_t>(0x300000).value(), 0u);
  EXPECT_EQ(memory_.ReadObject<uint64_t>(0x301000).value(), 0u);
  EXPECT_TRUE(failure_.empty()) << "a bad page number is the guest's loss, not the device's";
  EXPECT_EQ(device_.stats().reports, 0u) << "inflation is not a report";
}

TEST_F(BalloonDeviceTest, ABlockOutsideRamIsReturnedUntouched) {
  Fill(0x200000, 0x1000);
  // The queue refuses the chain (it does not lie in RAM): used with length 0.
  EXPECT_EQ(Send(BalloonDevice::kReportingQueue, {{kRam - 0x1000, 0x2000, kWrite}}), 0u);
  EXPECT_EQ(memory_.ReadObject<uint8_t>(0x200000).value(), 0xab);
  EXPECT_EQ(device_.stats().reported_bytes, 0u);
}

TEST_F(BalloonDeviceTest, TheDriverWritesActualAndNothingElse) {
  const uint32_t pages = 42;
  device_.WriteConfig(4, {reinterpret_cast<const uint8_t*>(&pages), 4});
  device_.WriteConfig(0, {reinterpret_cast<const uint8_t*>(&pages), 4});  // num_pages: the device's
  uint32_t read[2] = {};
  device_.ReadConfig(0, {reinterpret_cast<uint8_t*>(read), sizeof(read)});
  EXPECT_EQ(read[0], 0u);
  EXPECT_EQ(read[1], 42u);
  SnapshotWriter writer;
  device_.SaveState(writer, "b");
  BalloonDevice restored;
  Result<std::string> bytes = writer.Serialize();
  ASSERT_TRUE(bytes.ok());
  Result<SnapshotReader> reader = SnapshotReader::Parse(*bytes, "test");
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ASSERT_TRUE(restored.RestoreState(*reader, "b").ok());
  restored.ReadConfig(4, {reinterpret_cast<uint8_t*>(read), 4});
  EXPECT_EQ(read[0], 42u);
}

}  // namespace
}  // namespace sandbox::vmm
