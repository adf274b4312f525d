#include "vmm/virtio/devices/fs.h"

#include <gtest/gtest.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <poll.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "vmm/vhost_user/testing/fake_backend.h"
#include "vmm/virtio/mmio_transport.h"

namespace sandbox::vmm {
namespace {

using testing::FakeVhostUserBackend;
using namespace vhost_user;

bool Readable(int fd, int timeout_ms) {
  pollfd event{fd, POLLIN, 0};
  return ::poll(&event, 1, timeout_ms) == 1;
}

// Plays the guest driver against the transport, with the fake back-end
// behind the device and the event loop running.
class FsDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = GuestMemory::CreateForTest(0, 1 << 20).value();
    loop_ = EventLoop::Create().value();
    VhostUserFrontend frontend = VhostUserFrontend::Start(backend_.TakeFrontendEnd(), "fake").value();
    device_ = FsDevice::Create("shared", std::move(frontend), *loop_, [this] { lost_ = true; }).value();
    transport_ = MmioTransport::Create(device_, *memory_, *loop_, 0xd0000000, 5).value();
    loop_thread_ = std::thread([this] { loop_->Run(); });
  }
  void TearDown() override {
    loop_->Stop();
    loop_thread_.join();
  }

  uint32_t Read(uint64_t offset) {
    uint32_t value = 0;
    transport_->Read(offset, {reinterpret_cast<uint8_t*>(&value), 4});
    return value;
  }
  void Write(uint64_t offset, uint32_t value) { transport_->Write(offset, {reinterpret_cast<uint8_t*>(&value), 4}); }

  void Initialise() {
    Write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    Write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    Write(VIRTIO_MMIO_DRIVER_FEATURES, 1);  // VERSION_1
    Write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    for (uint32_t queue = 0; queue < 2; ++queue) {
      Write(VIRTIO_MMIO_QUEUE_SEL, queue);
      Write(VIRTIO_MMIO_QUEUE_NUM, 16);
      Write(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x10000 * (queue + 1));
      Write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x10000 * (queue + 1) + 0x1000);
      Write(VIRTIO_MMIO_QUEUE_USED_LOW, 0x10000 * (queue + 1) + 0x2000);
      Write(VIRTIO_MMIO_QUEUE_READY, 1);
    }
    Write(VIRTIO_MMIO_STATUS, Read(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
  }

  FakeVhostUserBackend backend_{{}};
  std::optional<GuestMemory> memory_;
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<FsDevice> device_;
  std::shared_ptr<MmioTransport> transport_;
  std::thread loop_thread_;
  std::atomic<bool> lost_{false};
};

TEST_F(FsDeviceTest, IdentifiesItselfWithTheTag) {
  EXPECT_EQ(Read(VIRTIO_MMIO_DEVICE_ID), 26u);
  Write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
  EXPECT_EQ(Read(VIRTIO_MMIO_DEVICE_FEATURES), (1u << 28) | (1u << 29)) << "indirect and event index";
  Write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
  EXPECT_EQ(Read(VIRTIO_MMIO_DEVICE_FEATURES), 1u) << "VERSION_1, and no vhost-user bit";
  char tag[36] = {};
  transport_->Read(VIRTIO_MMIO_CONFIG, {reinterpret_cast<uint8_t*>(tag), sizeof(tag)});
  EXPECT_STREQ(tag, "shared");
  EXPECT_EQ(Read(VIRTIO_MMIO_CONFIG + 36), 1u) << "one request queue";
}

TEST_F(FsDeviceTest, DriverOkHandsBothQueuesToTheBackend) {
  Initialise();
  EXPECT_EQ(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
  const std::vector<uint32_t> requests = backend_.Requests();
  const std::vector<uint32_t> ring = {kSetVringNum, kSetVringBase, kSetVringAddr, kSetVringKick, kSetVringCall,
                                      kSetVringEnable};
  std::vector<uint32_t> expected = {kGetFeatures, kGetProtocolFeatures, kSetProtocolFeatures, kSetOwner, kSetFeatures,
                                    kSetMemTable};
  expected.insert(expected.end(), ring.begin(), ring.end());
  expected.insert(expected.end(), ring.begin(), ring.end());
  EXPECT_EQ(requests, expected);
  std::optional<FakeVhostUserBackend::Message> features = backend_.Take(kSetFeatures);
  ASSERT_TRUE(features);
  uint64_t negotiated = 0;
  std::memcpy(&negotiated, features->payload.data(), sizeof(negotiated));
  EXPECT_EQ(negotiated, (1ull << 32) | kFeatureProtocolFeatures) << "what the driver chose";
}

TEST_F(FsDeviceTest, KicksReachTheBackendAndItsCallsInterruptTheGuest) {
  Initialise();
  std::optional<FakeVhostUserBackend::Message> call = backend_.Take(kSetVringCall);  // the last: queue 1
  std::optional<FakeVhostUserBackend::Message> kick = backend_.Take(kSetVringKick);
  ASSERT_TRUE(call && kick);
  ASSERT_EQ(kick->fds.size(), 1u);
  ASSERT_EQ(call->fds.size(), 1u);

  transport_->NotifyQueue(1);  // what the guest's QueueNotify write does
  ASSERT_TRUE(Readable(kick->fds[0].get(), 1000)) << "the back-end's kick fd";

  EXPECT_EQ(Read(VIRTIO_MMIO_INTERRUPT_STATUS), 0u);
  const uint64_t one = 1;
  ASSERT_EQ(::write(call->fds[0].get(), &one, sizeof(one)), 8);
  ASSERT_TRUE(Readable(transport_->interrupt_fd(), 1000)) << "the guest's irqfd";
  EXPECT_EQ(Read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_INT_VRING);
}

TEST_F(FsDeviceTest, ResetStopsTheRings) {
  Initialise();
  Write(VIRTIO_MMIO_STATUS, 0);
  std::vector<uint32_t> requests = backend_.Requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[requests.size() - 2], kGetVringBase);
  EXPECT_EQ(requests.back(), kGetVringBase);
  Initialise();
  EXPECT_NE(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK, 0u) << "set up again after the reset";
}

TEST_F(FsDeviceTest, ASnapshotNeedsAShareTheGuestNeverUsed) {
  Initialise();
  SnapshotWriter unused;
  ASSERT_TRUE(transport_->SaveState(unused, "virtio0").ok());
  // The request queue's available ring idx: one request posted.
  ASSERT_TRUE(memory_->WriteObject<uint16_t>(0x20000 + 0x1000 + 2, 1).ok());
  SnapshotWriter used;
  Status refused = transport_->SaveState(used, "virtio0");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("virtio-fs \"shared\": the guest has used the share (1 request(s) on queue 1)"),
            std::string::npos)
      << refused.message();
}

// The ring's count wraps at 2^16: a share used 65536 times reads as unused
// there, but the device saw the guest's notifications.
TEST_F(FsDeviceTest, ANotifiedShareIsUsedWhateverItsRingSays) {
  Initialise();
  transport_->NotifyQueue(1);
  SnapshotWriter writer;
  Status refused = transport_->SaveState(writer, "virtio0");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("the guest has used the share"), std::string::npos) << refused.message();
}

TEST_F(FsDeviceTest, ARestoredShareTakesOverTheRingsWithItsTag) {
  Initialise();
  SnapshotWriter writer;
  ASSERT_TRUE(transport_->SaveState(writer, "virtio0").ok());
  const SnapshotReader snapshot = SnapshotReader::Parse(writer.Serialize().value(), "test").value();
  for (const std::string tag : {"shared", "other"}) {
    FakeVhostUserBackend backend({});
    VhostUserFrontend frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "fake").value();
    std::shared_ptr<FsDevice> device = FsDevice::Create(tag, std::move(frontend), *loop_, [] {}).value();
    std::shared_ptr<MmioTransport> transport = MmioTransport::Create(device, *memory_, *loop_, 0xd0001000, 6).value();
    Status restored = transport->RestoreState(snapshot, "virtio0");
    if (tag == "shared") {
      ASSERT_TRUE(restored.ok()) << restored.message();
      // The new back-end gets guest RAM and both rings, from index 0.
      EXPECT_TRUE(backend.Take(kSetMemTable));
      std::optional<FakeVhostUserBackend::Message> base = backend.Take(kSetVringBase);
      ASSERT_TRUE(base);
      uint32_t index_and_num[2] = {};
      std::memcpy(index_and_num, base->payload.data(), sizeof(index_and_num));
      EXPECT_EQ(index_and_num[1], 0u);
    } else {
      ASSERT_FALSE(restored.ok());
      EXPECT_NE(restored.message().find("fs: tag \"other\", but the snapshot's guest knows the share as \"shared\""),
                std::string::npos)
          << restored.message();
    }
  }
}

TEST_F(FsDeviceTest, ARefusedSetupNeedsReset) {
  FakeVhostUserBackend refusing({.refuse = kSetMemTable});
  VhostUserFrontend frontend = VhostUserFrontend::Start(refusing.TakeFrontendEnd(), "refusing").value();
  device_ = FsDevice::Create("shared", std::move(frontend), *loop_, nullptr).value();
  transport_ = MmioTransport::Create(device_, *memory_, *loop_, 0xd0000000, 5).value();
  Initialise();
  EXPECT_NE(Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
}

TEST_F(FsDeviceTest, ALostBackendIsReported) {
  backend_.HangUp();
  for (int i = 0; i < 100 && !lost_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(lost_);
}

TEST(FsDevice, RefusesBadTagsAndBackendsWithoutVersion1) {
  std::unique_ptr<EventLoop> loop = EventLoop::Create().value();
  FakeVhostUserBackend backend({});
  VhostUserFrontend frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "fake").value();
  EXPECT_EQ(FsDevice::Create(std::string(37, 'x'), std::move(frontend), *loop, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  FakeVhostUserBackend legacy({.features = 1ull << 28, .protocol_features = 0});
  VhostUserFrontend old = VhostUserFrontend::Start(legacy.TakeFrontendEnd(), "legacy").value();
  EXPECT_EQ(FsDevice::Create("tag", std::move(old), *loop, nullptr).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sandbox::vmm
