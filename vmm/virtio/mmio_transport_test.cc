#include "vmm/virtio/mmio_transport.h"

#include <gtest/gtest.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "vmm/virtio/devices/rng.h"
#include "vmm/virtio/testing/queue_driver.h"

namespace sandbox::vmm {
namespace {

using testing::kWrite;
using testing::QueueDriver;

// Plays the guest driver against a transport with a virtio-rng behind it.
class MmioTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = GuestMemory::CreateForTest(0, 1 << 20).value();
    loop_ = EventLoop::Create().value();
    transport_ = MmioTransport::Create(std::make_shared<RngDevice>(), *memory_, *loop_, 0xd0000000, 5).value();
  }

  uint32_t Read(uint64_t offset) {
    uint32_t value = 0;
    transport_->Read(offset, {reinterpret_cast<uint8_t*>(&value), 4});
    return value;
  }
  void Write(uint64_t offset, uint32_t value) { transport_->Write(offset, {reinterpret_cast<uint8_t*>(&value), 4}); }

  // The driver's side of initialisation, with the queue areas of QueueDriver.
  void Initialise(uint64_t descriptor_table = QueueDriver::kDescriptors, uint32_t features_high = 1) {
    Write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    Write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    Write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    Write(VIRTIO_MMIO_DRIVER_FEATURES, features_high);  // VERSION_1
    Write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    Write(VIRTIO_MMIO_QUEUE_SEL, 0);
    Write(VIRTIO_MMIO_QUEUE_NUM, 16);
    Write(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<uint32_t>(descriptor_table));
    Write(VIRTIO_MMIO_QUEUE_DESC_HIGH, static_cast<uint32_t>(descriptor_table >> 32));
    Write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, QueueDriver::kAvailable);
    Write(VIRTIO_MMIO_QUEUE_USED_LOW, QueueDriver::kUsed);
    Write(VIRTIO_MMIO_QUEUE_READY, 1);
    Write(VIRTIO_MMIO_STATUS, Read(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
  }

  std::optional<GuestMemory> memory_;
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<MmioTransport> transport_;
};

TEST_F(MmioTransportTest, IdentifiesItself) {
  EXPECT_EQ(Read(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976u);
  EXPECT_EQ(Read(VIRTIO_MMIO_VERSION), 2u);
  EXPECT_EQ(Read(VIRTIO_MMIO_DEVICE_ID), 4u);
  Write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  EXPECT_EQ(Read(VIRTIO_MMIO_DEVICE_FEATURES) & 1, 1u) << "VERSION_1";
  EXPECT_EQ(Read(VIRTIO_MMIO_QUEUE_NUM_MAX), Virtqueue::kMaxSize);
  Write(VIRTIO_MMIO_QUEUE_SEL, 7);
  EXPECT_EQ(Read(VIRTIO_MMIO_QUEUE_NUM_MAX), 0u) << "no such queue";
  EXPECT_EQ(transport_->KernelCommandLineDevice(), "virtio_mmio.device=4K@0xd0000000:5");
}

TEST_F(MmioTransportTest, ServesTheDeviceOnceLive) {
  Initialise();
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
  Virtqueue mirror;  // the driver's view of the same rings
  QueueDriver driver(*memory_, mirror);
  const uint64_t buffer = driver.Allocate(32);
  driver.SetChain(0, {{buffer, 32, kWrite}});
  driver.Publish(0);
  transport_->NotifyQueue(0);
  EXPECT_EQ(driver.UsedIndex(), 1);
  EXPECT_EQ(driver.Used(0).second, 32u);
  EXPECT_EQ(Read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_INT_VRING);
  Write(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
  EXPECT_EQ(Read(VIRTIO_MMIO_INTERRUPT_STATUS), 0u);
}

// A device that offers fewer entries on its first queue than the transport's most.
class SmallQueueRng : public RngDevice {
 public:
  uint16_t max_queue_size(size_t index) const override { return index == 0 ? 8 : Virtqueue::kMaxSize; }
};

TEST_F(MmioTransportTest, OffersTheDevicesQueueSizeAndRefusesALargerOne) {
  transport_ = MmioTransport::Create(std::make_shared<SmallQueueRng>(), *memory_, *loop_, 0xd0000000, 5).value();
  EXPECT_EQ(Read(VIRTIO_MMIO_QUEUE_NUM_MAX), 8u);
  Initialise();  // asks for 16
  EXPECT_NE(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u) << "16 entries where 8 are offered";
}

TEST_F(MmioTransportTest, RefusesFeaturesWithoutVersion1) {
  Initialise(QueueDriver::kDescriptors, /*features_high=*/0);
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK, 0u);
  EXPECT_NE(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u) << "DRIVER_OK without FEATURES_OK";
}

// Found by vmm_device_fuzz: a notification for a queue the device lacks.
TEST_F(MmioTransportTest, ANotificationPastTheQueuesIsIgnored) {
  Initialise();
  transport_->NotifyQueue(1);
  transport_->NotifyQueue(3);
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
}

TEST_F(MmioTransportTest, QueueOutsideMemoryNeedsResetAndResetRecovers) {
  Initialise(/*descriptor_table=*/0xffff'ffff'0000ull);
  EXPECT_NE(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
  EXPECT_NE(Read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG, 0u);
  transport_->NotifyQueue(0);  // ignored: the device is not live
  Write(VIRTIO_MMIO_STATUS, 0);
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS), 0u);
  Initialise();
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u) << "re-initialised after a reset";
  EXPECT_NE(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK, 0u);
}

TEST_F(MmioTransportTest, BrokenRingNeedsReset) {
  Initialise();
  Virtqueue mirror;
  QueueDriver driver(*memory_, mirror);
  driver.SetAvailableIndex(1000);
  transport_->NotifyQueue(0);
  EXPECT_NE(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
}

TEST_F(MmioTransportTest, IgnoresBadWidthsOffsetsAndLateQueueChanges) {
  uint8_t byte = 0xff;
  transport_->Read(VIRTIO_MMIO_MAGIC_VALUE, {&byte, 1});
  EXPECT_EQ(byte, 0) << "1-byte register read";
  uint8_t wide[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  transport_->Write(VIRTIO_MMIO_STATUS, wide);
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS), 0u) << "8-byte register write";
  transport_->Write(VIRTIO_MMIO_STATUS + 2, {wide, 4});
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS), 0u) << "misaligned write";
  EXPECT_EQ(Read(0x0c8), 0u) << "unknown register";
  Write(VIRTIO_MMIO_QUEUE_NOTIFY, 99);  // no such queue: logged
  Initialise();
  Write(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);  // the queue is live: ignored
  Virtqueue mirror;
  QueueDriver driver(*memory_, mirror);
  const uint64_t buffer = driver.Allocate(8);
  driver.SetChain(0, {{buffer, 8, kWrite}});
  driver.Publish(0);
  transport_->NotifyQueue(0);
  EXPECT_EQ(driver.UsedIndex(), 1) << "still uses the table it was given";
  uint8_t config[4] = {9, 9, 9, 9};
  transport_->Read(VIRTIO_MMIO_CONFIG + 0x800, config);
  EXPECT_EQ(config[0], 0) << "rng has no configuration space";
}

}  // namespace
}  // namespace sandbox::vmm
