#include "vmm/virtio/devices/blk.h"

#include <gtest/gtest.h>
#include <linux/virtio_blk.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "vmm/virtio/devices/rng.h"
#include "vmm/virtio/testing/queue_driver.h"

namespace sandbox::vmm {
namespace {

using testing::kWrite;
using testing::QueueDriver;

struct RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

// A device activated on one queue in test memory, driven like a guest would.
class DeviceHarness {
 public:
  explicit DeviceHarness(VirtioDevice& device)
      : memory_(GuestMemory::CreateForTest(0, 4 << 20).value()), queues_(1), driver_(memory_, queues_[0]) {
    ActiveQueues active;
    active.memory = &memory_;
    active.queues = &queues_;
    active.features = device.offered_features();
    active.signal_used = [this] { ++interrupts_; };
    active.fail = [this](const Status& why) { failure_ = why.message(); };
    EXPECT_TRUE(device.Activate(active).ok());
  }

  GuestMemory memory_;
  std::vector<Virtqueue> queues_;
  QueueDriver driver_;
  int interrupts_ = 0;
  std::string failure_;
};

class BlockDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.emplace(TempDir::CreateOrDie("/tmp/blk-test-"));
    path_ = dir_->path() + "/disk.img";
    std::string contents(8 * 512, '\0');
    for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i / 512 + 'a');
    ASSERT_TRUE(WriteFileAtomic(path_, contents).ok());
  }

  std::shared_ptr<BlockDevice> Open(bool read_only) {
    auto device = BlockDevice::Open("disk0", path_, read_only);
    EXPECT_TRUE(device.ok()) << device.status().message();
    return *device;
  }

  // Sends one request; returns {status byte, used length} and the data buffer address.
  std::pair<uint8_t, uint32_t> Request(DeviceHarness& harness, VirtioDevice& device, uint32_t type, uint64_t sector,
                                       uint32_t data_length, bool data_writable, uint64_t* data_address = nullptr) {
    QueueDriver& driver = harness.driver_;
    const uint64_t header = driver.Allocate(16);
    const uint64_t data = driver.Allocate(data_length);
    const uint64_t status = driver.Allocate(1);
    RequestHeader request{type, 0, sector};
    EXPECT_TRUE(harness.memory_.WriteObject(header, request).ok());
    EXPECT_TRUE(harness.memory_.WriteObject(status, uint8_t{0xee}).ok());
    std::vector<testing::TestDescriptor> chain = {{header, 16, 0}};
    if (data_length > 0) chain.push_back({data, data_length, static_cast<uint16_t>(data_writable ? kWrite : 0)});
    chain.push_back({status, 1, kWrite});
    driver.SetChain(static_cast<uint16_t>(next_head_), chain);
    driver.Publish(static_cast<uint16_t>(next_head_));
    next_head_ += static_cast<int>(chain.size());
    const uint16_t before = driver.UsedIndex();
    device.ProcessQueue(0);
    EXPECT_EQ(driver.UsedIndex(), before + 1);
    if (data_address) *data_address = data;
    return {harness.memory_.ReadObject<uint8_t>(status).value(), driver.Used(before).second};
  }

  std::optional<TempDir> dir_;
  std::string path_;
  int next_head_ = 0;
};

TEST_F(BlockDeviceTest, ReadsSectors) {
  auto device = Open(true);
  EXPECT_EQ(device->capacity_sectors(), 8u);
  DeviceHarness harness(*device);
  uint64_t data = 0;
  auto [status, used] = Request(harness, *device, VIRTIO_BLK_T_IN, 2, 1024, true, &data);
  EXPECT_EQ(status, VIRTIO_BLK_S_OK);
  EXPECT_EQ(used, 1025u);
  EXPECT_EQ(harness.driver_.ReadBytes(data, 1)[0], 'c');
  EXPECT_EQ(harness.driver_.ReadBytes(data + 512, 1)[0], 'd');
  EXPECT_GT(harness.interrupts_, 0);
}

TEST_F(BlockDeviceTest, WritesSectors) {
  auto device = Open(false);
  DeviceHarness harness(*device);
  const uint64_t data = harness.driver_.Allocate(0);
  harness.driver_.WriteBytes(data + 16, std::vector<uint8_t>(512, 'Z'));  // where Request puts the data
  auto [status, used] = Request(harness, *device, VIRTIO_BLK_T_OUT, 7, 512, false);
  EXPECT_EQ(status, VIRTIO_BLK_S_OK);
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(ReadFile(path_).value().substr(7 * 512, 1), "Z");
}

TEST_F(BlockDeviceTest, ReadOnlyDiskRefusesWrites) {
  auto device = Open(true);
  EXPECT_TRUE(device->offered_features() & (1ull << VIRTIO_BLK_F_RO));
  DeviceHarness harness(*device);
  const std::string before = ReadFile(path_).value();
  auto [status, used] = Request(harness, *device, VIRTIO_BLK_T_OUT, 0, 512, false);
  EXPECT_EQ(status, VIRTIO_BLK_S_IOERR);
  EXPECT_EQ(ReadFile(path_).value(), before);
}

TEST_F(BlockDeviceTest, RefusesSectorsBeyondCapacity) {
  auto device = Open(false);
  DeviceHarness harness(*device);
  EXPECT_EQ(Request(harness, *device, VIRTIO_BLK_T_IN, 7, 1024, true).first, VIRTIO_BLK_S_IOERR);
  EXPECT_EQ(Request(harness, *device, VIRTIO_BLK_T_IN, ~0ull, 512, true).first, VIRTIO_BLK_S_IOERR);
  EXPECT_EQ(Request(harness, *device, VIRTIO_BLK_T_OUT, 8, 512, false).first, VIRTIO_BLK_S_IOERR);
  EXPECT_EQ(Request(harness, *device, VIRTIO_BLK_T_IN, 0, 100, true).first, VIRTIO_BLK_S_IOERR) << "not whole sectors";
}

TEST_F(BlockDeviceTest, AnswersGetIdFlushAndUnknownTypes) {
  auto device = Open(false);
  DeviceHarness harness(*device);
  uint64_t data = 0;
  EXPECT_EQ(Request(harness, *device, VIRTIO_BLK_T_GET_ID, 0, 20, true, &data).first, VIRTIO_BLK_S_OK);
  EXPECT_EQ(harness.driver_.ReadBytes(data, 6), (std::vector<uint8_t>{'d', 'i', 's', 'k', '0', 0}));
  EXPECT_EQ(Request(harness, *device, VIRTIO_BLK_T_FLUSH, 0, 0, false).first, VIRTIO_BLK_S_OK);
  EXPECT_EQ(Request(harness, *device, 99, 0, 0, false).first, VIRTIO_BLK_S_UNSUPP);
}

TEST_F(BlockDeviceTest, RequestWithoutStatusByteIsReturnedEmpty) {
  auto device = Open(false);
  DeviceHarness harness(*device);
  const uint64_t header = harness.driver_.Allocate(16);
  harness.driver_.SetChain(0, {{header, 16, 0}});
  harness.driver_.Publish(0);
  device->ProcessQueue(0);
  EXPECT_EQ(harness.driver_.UsedIndex(), 1);
  EXPECT_EQ(harness.driver_.Used(0).second, 0u);
}

TEST_F(BlockDeviceTest, OpenRejectsBadDisks) {
  EXPECT_FALSE(BlockDevice::Open("x", dir_->path() + "/none", false).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/odd.img", std::string(700, 'x')).ok());
  auto odd = BlockDevice::Open("x", dir_->path() + "/odd.img", false);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("multiple of 512"), std::string::npos);
  auto first = Open(false);
  auto second = BlockDevice::Open("x", path_, false);
  ASSERT_FALSE(second.ok()) << "two writers on one disk";
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
}

TEST(RngDeviceTest, FillsWritableBuffers) {
  RngDevice device;
  DeviceHarness harness(device);
  const uint64_t buffer = harness.driver_.Allocate(256);
  harness.driver_.SetChain(0, {{buffer, 256, kWrite}});
  harness.driver_.Publish(0);
  device.ProcessQueue(0);
  ASSERT_EQ(harness.driver_.UsedIndex(), 1);
  EXPECT_EQ(harness.driver_.Used(0).second, 256u);
  EXPECT_NE(harness.driver_.ReadBytes(buffer, 256), std::vector<uint8_t>(256, 0));
}

TEST(RngDeviceTest, MalformedChainIsReturnedAndTheDeviceGoesOn) {
  RngDevice device;
  DeviceHarness harness(device);
  harness.driver_.SetChain(0, {{0xffff'ffff'0000ull, 64, kWrite}});
  harness.driver_.Publish(0);
  const uint64_t buffer = harness.driver_.Allocate(16);
  harness.driver_.SetChain(1, {{buffer, 16, kWrite}});
  harness.driver_.Publish(1);
  device.ProcessQueue(0);
  ASSERT_EQ(harness.driver_.UsedIndex(), 2);
  EXPECT_EQ(harness.driver_.Used(0).second, 0u);
  EXPECT_EQ(harness.driver_.Used(1).second, 16u);
  EXPECT_TRUE(harness.failure_.empty());
}

}  // namespace
}  // namespace sandbox::vmm
