#include "vmm/virtio/devices/net.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <optional>
#include <thread>

#include "vmm/virtio/mmio_transport.h"
#include "vmm/virtio/testing/queue_driver.h"
#include "vmm/virtio/testing/tap.h"

namespace sandbox::vmm {
namespace {

using testing::kNext;
using testing::kWrite;
using testing::QueueDriver;

constexpr size_t kRxQueue = 0;
constexpr size_t kTxQueue = 1;
constexpr MacAddress kMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr uint64_t kPlainFeatures = kVirtioFeatureVersion1 | kNetFeatureMac | kNetFeatureMtu | kNetFeatureStatus;
constexpr uint64_t kOutOfRange = 0xffff'ffff'0000ull;
constexpr auto kWaitLimit = std::chrono::seconds(5);

// A virtio_net_hdr_v1 (with a recognisable checksum request) and a frame.
std::vector<uint8_t> Packet(size_t frame_length, uint8_t seed) {
  std::vector<uint8_t> packet(NetDevice::kHeaderSize + frame_length);
  packet[0] = 1;  // NEEDS_CSUM
  packet[6] = 34;  // csum_start
  packet[8] = 16;  // csum_offset
  packet[10] = 0xef;  // num_buffers: the TAP leaves it alone, the device sets it
  packet[11] = 0xbe;
  for (size_t i = NetDevice::kHeaderSize; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(seed + i);
  return packet;
}

// What the guest should find: the packet with num_buffers set.
std::vector<uint8_t> WithNumBuffers(std::vector<uint8_t> packet, uint16_t count) {
  std::memcpy(packet.data() + 10, &count, sizeof(count));
  return packet;
}

// CPU time this process used so far: a spinning event loop shows up here.
std::chrono::microseconds CpuTime() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto total = [](const timeval& time) { return time.tv_sec * 1'000'000 + time.tv_usec; };
  return std::chrono::microseconds(total(usage.ru_utime) + total(usage.ru_stime));
}

// The device on one end of a SOCK_SEQPACKET socketpair standing in for the
// TAP (frames keep their boundaries); the test is the host network on the
// other end and the guest driver on one queue. The event loop runs on its
// own thread, as in the VMM, so test code takes the device mutex.
class NetDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    host_ = UniqueFd(fds[0]);
    loop_ = EventLoop::Create().value();
    auto device = NetDevice::Create(UniqueFd(fds[1]), kMac, 1500, *loop_, [this](int, uint64_t features) {
      configured_features_ = features;
      return Status::Ok();
    });
    ASSERT_TRUE(device.ok()) << device.status().message();
    device_ = *device;
    loop_thread_ = std::thread([this] { loop_->Run(); });
  }

  void TearDown() override {
    loop_->Stop();
    loop_thread_.join();
  }

  // Activates the device with `features`; the test drives queue `index`
  // (QueueDriver lays out one queue; the other stays unready).
  QueueDriver& Activate(uint64_t features, size_t index) {
    driver_.emplace(memory_, queues_[index]);
    ActiveQueues active{.memory = &memory_, .queues = &queues_, .features = features};
    active.signal_used = [this] { ++interrupts_; };
    active.fail = [this](const Status& why) { failure_ = why.message(); };
    std::lock_guard lock(device_->mutex());
    EXPECT_TRUE(device_->Activate(active).ok());
    return *driver_;
  }

  void Kick(size_t index) {
    std::lock_guard lock(device_->mutex());
    device_->ProcessQueue(index);
  }

  uint16_t UsedIndex() {
    std::lock_guard lock(device_->mutex());
    return driver_->UsedIndex();
  }

  bool WaitForUsed(uint16_t count) {
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    while (UsedIndex() < count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  // Posts one rx chain of `sizes` writable buffers at descriptor `first`; returns their addresses.
  std::vector<uint64_t> PostRxChain(uint16_t first, const std::vector<uint32_t>& sizes) {
    std::vector<uint64_t> addresses;
    std::vector<testing::TestDescriptor> chain;
    for (uint32_t size : sizes) {
      addresses.push_back(driver_->Allocate(size));
      chain.push_back({addresses.back(), size, kWrite});
    }
    std::lock_guard lock(device_->mutex());
    driver_->SetChain(first, chain);
    driver_->Publish(first);
    return addresses;
  }

  void SendFromHost(const std::vector<uint8_t>& packet) {
    ASSERT_EQ(::send(host_.get(), packet.data(), packet.size(), 0), static_cast<ssize_t>(packet.size()));
  }

  // The next frame the device wrote to the "TAP", or nothing within `limit`.
  std::optional<std::vector<uint8_t>> ReceiveOnHost(std::chrono::milliseconds limit = kWaitLimit) {
    pollfd readable{host_.get(), POLLIN, 0};
    if (::poll(&readable, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
    std::vector<uint8_t> packet(NetDevice::kHeaderSize + NetDevice::kMaxFrameSize + 1);
    const ssize_t got = ::recv(host_.get(), packet.data(), packet.size(), MSG_DONTWAIT);
    if (got < 0) return std::nullopt;
    packet.resize(static_cast<size_t>(got));
    return packet;
  }

  std::string Failure() {
    std::lock_guard lock(device_->mutex());
    return failure_;
  }

  GuestMemory memory_ = GuestMemory::CreateForTest(0, 4 << 20).value();
  std::vector<Virtqueue> queues_ = std::vector<Virtqueue>(2);
  std::optional<QueueDriver> driver_;
  UniqueFd host_;
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<NetDevice> device_;
  std::thread loop_thread_;
  std::atomic<int> interrupts_{0};
  std::string failure_;
  uint64_t configured_features_ = 0;
};

TEST_F(NetDeviceTest, ConfigSpaceHoldsMacLinkStatusOnePairAndMtu) {
  std::vector<uint8_t> config(12);
  device_->ReadConfig(0, config);
  EXPECT_EQ(config, (std::vector<uint8_t>{0x02, 0, 0, 0, 0, 0x01, 1, 0, 1, 0, 0xdc, 0x05}));  // mtu 1500
  const std::vector<uint8_t> junk(12, 0xff);
  device_->WriteConfig(0, junk);
  std::vector<uint8_t> again(12);
  device_->ReadConfig(0, again);
  EXPECT_EQ(again, config) << "read-only for the guest";
  EXPECT_EQ(device_->device_type(), 1u);
  EXPECT_EQ(device_->queue_count(), 2u);
}

TEST_F(NetDeviceTest, OffersTheNetFeaturesWithoutControlQueue) {
  const uint64_t offered = device_->offered_features();
  for (uint64_t feature : {kVirtioFeatureVersion1, kNetFeatureMac, kNetFeatureMtu, kNetFeatureStatus,
                           kNetFeatureMergeableRxBuffers, kNetFeatureCsum, kNetFeatureGuestCsum, kNetFeatureHostTso4,
                           kNetFeatureHostTso6, kNetFeatureGuestTso4, kNetFeatureGuestTso6}) {
    EXPECT_TRUE(offered & feature) << std::hex << feature;
  }
  EXPECT_FALSE(offered & (1ull << 17)) << "control queue";
  EXPECT_FALSE(offered & (1ull << 22)) << "multiqueue";
}

TEST_F(NetDeviceTest, ActivationConfiguresTheTapWithTheNegotiatedFeatures) {
  const uint64_t features = kPlainFeatures | kNetFeatureGuestCsum | kNetFeatureGuestTso4;
  Activate(features, kRxQueue);
  EXPECT_EQ(configured_features_, features);
}

TEST(TapOffloadFlagsTest, FollowWhatTheGuestCanReceive) {
  EXPECT_EQ(TapOffloadFlags(kPlainFeatures), 0u);
  EXPECT_EQ(TapOffloadFlags(kNetFeatureGuestTso4), 0u) << "TSO without checksum offload";
  EXPECT_EQ(TapOffloadFlags(kNetFeatureGuestCsum | kNetFeatureGuestEcn), unsigned{TUN_F_CSUM}) << "ECN needs TSO";
  EXPECT_EQ(TapOffloadFlags(kNetFeatureGuestCsum | kNetFeatureGuestTso4 | kNetFeatureGuestTso6 | kNetFeatureGuestEcn),
            unsigned{TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN});
}

TEST_F(NetDeviceTest, TransmitsAFrameSplitOverDescriptorsWithItsHeader) {
  QueueDriver& driver = Activate(kPlainFeatures, kTxQueue);
  const std::vector<uint8_t> packet = Packet(200, 7);
  // The header itself is split, and so is the frame.
  const std::vector<size_t> pieces = {5, 27, packet.size() - 32};
  std::vector<testing::TestDescriptor> chain;
  size_t offset = 0;
  for (size_t piece : pieces) {
    const uint64_t address = driver.Allocate(static_cast<uint32_t>(piece));
    driver.WriteBytes(address, std::vector<uint8_t>(packet.begin() + offset, packet.begin() + offset + piece));
    chain.push_back({address, static_cast<uint32_t>(piece), 0});
    offset += piece;
  }
  driver.SetChain(0, chain);
  driver.Publish(0);
  Kick(kTxQueue);
  EXPECT_EQ(ReceiveOnHost(), packet);
  ASSERT_EQ(UsedIndex(), 1);
  EXPECT_EQ(driver.Used(0), (std::pair<uint32_t, uint32_t>{0, 0}));
  EXPECT_GT(interrupts_, 0);
}

TEST_F(NetDeviceTest, ReturnsHostileTxChainsEmptyAndGoesOn) {
  QueueDriver& driver = Activate(kPlainFeatures, kTxQueue);
  const uint64_t frame = driver.Allocate(64);
  const uint64_t writable = driver.Allocate(16);
  driver.SetChain(0, {{frame, 64, 0}, {writable, 16, kWrite}});  // a write-only descriptor in tx
  const uint32_t oversized = NetDevice::kHeaderSize + NetDevice::kMaxFrameSize + 1;
  driver.SetChain(2, {{driver.Allocate(oversized), oversized, 0}});
  driver.SetChain(3, {{kOutOfRange, 100, 0}});
  driver.SetDescriptor(4, {frame, 64, kNext, 4});  // loops onto itself
  driver.SetChain(5, {{frame, 8, 0}});  // shorter than the header
  const std::vector<uint8_t> packet = Packet(60, 1);
  const uint64_t good = driver.Allocate(static_cast<uint32_t>(packet.size()));
  driver.WriteBytes(good, packet);
  driver.SetChain(6, {{good, static_cast<uint32_t>(packet.size()), 0}});
  for (uint16_t head : {0, 2, 3, 4, 5, 6}) driver.Publish(head);
  Kick(kTxQueue);
  ASSERT_EQ(UsedIndex(), 6);
  for (uint16_t i = 0; i < 6; ++i) EXPECT_EQ(driver.Used(i).second, 0u) << i;
  EXPECT_EQ(ReceiveOnHost(), packet) << "only the good frame reaches the TAP";
  EXPECT_FALSE(ReceiveOnHost(std::chrono::milliseconds(100)).has_value());
  EXPECT_EQ(Failure(), "");
}

TEST_F(NetDeviceTest, ReceivesAFrameIntoOneBuffer) {
  QueueDriver& driver = Activate(kPlainFeatures, kRxQueue);
  const uint64_t buffer = PostRxChain(0, {2048})[0];
  Kick(kRxQueue);
  const std::vector<uint8_t> packet = Packet(100, 3);
  SendFromHost(packet);
  ASSERT_TRUE(WaitForUsed(1));
  EXPECT_EQ(driver.Used(0), (std::pair<uint32_t, uint32_t>{0, static_cast<uint32_t>(packet.size())}));
  EXPECT_EQ(driver.ReadBytes(buffer, packet.size()), WithNumBuffers(packet, 1));
  EXPECT_GT(interrupts_, 0);
}

TEST_F(NetDeviceTest, ReceivesAFrameIntoAChainOfSeveralDescriptors) {
  QueueDriver& driver = Activate(kPlainFeatures, kRxQueue);
  const std::vector<uint64_t> buffers = PostRxChain(0, {12, 100, 1500});
  Kick(kRxQueue);
  const std::vector<uint8_t> packet = Packet(300, 9);
  SendFromHost(packet);
  ASSERT_TRUE(WaitForUsed(1));
  EXPECT_EQ(driver.Used(0).second, packet.size());
  std::vector<uint8_t> received = driver.ReadBytes(buffers[0], 12);
  for (const auto& [address, length] : {std::pair{buffers[1], 100}, std::pair{buffers[2], 200}}) {
    const std::vector<uint8_t> piece = driver.ReadBytes(address, length);
    received.insert(received.end(), piece.begin(), piece.end());
  }
  EXPECT_EQ(received, WithNumBuffers(packet, 1));
}

TEST_F(NetDeviceTest, MergesAFrameAcrossBuffersAndCountsThem) {
  QueueDriver& driver = Activate(kPlainFeatures | kNetFeatureMergeableRxBuffers, kRxQueue);
  std::vector<uint64_t> buffers;
  for (uint16_t head = 0; head < 8; ++head) buffers.push_back(PostRxChain(head, {500})[0]);
  Kick(kRxQueue);
  const std::vector<uint8_t> packet = Packet(1188, 5);  // 1200 bytes with the header
  SendFromHost(packet);
  ASSERT_TRUE(WaitForUsed(3));
  EXPECT_EQ(driver.Used(0), (std::pair<uint32_t, uint32_t>{0, 500}));
  EXPECT_EQ(driver.Used(1), (std::pair<uint32_t, uint32_t>{1, 500}));
  EXPECT_EQ(driver.Used(2), (std::pair<uint32_t, uint32_t>{2, 200}));
  std::vector<uint8_t> received;
  for (size_t i = 0; i < 3; ++i) {
    const std::vector<uint8_t> piece = driver.ReadBytes(buffers[i], i < 2 ? 500 : 200);
    received.insert(received.end(), piece.begin(), piece.end());
  }
  EXPECT_EQ(received, WithNumBuffers(packet, 3));
  // The rest wait for the next frame, which starts in the fourth buffer.
  const std::vector<uint8_t> next = Packet(20, 6);
  SendFromHost(next);
  ASSERT_TRUE(WaitForUsed(4));
  EXPECT_EQ(driver.Used(3), (std::pair<uint32_t, uint32_t>{3, static_cast<uint32_t>(next.size())}));
  EXPECT_EQ(driver.ReadBytes(buffers[3], next.size()), WithNumBuffers(next, 1));
}

TEST_F(NetDeviceTest, MergeableFrameWaitsUntilTheBuffersCanHoldAFullFrame) {
  QueueDriver& driver = Activate(kPlainFeatures | kNetFeatureMergeableRxBuffers, kRxQueue);
  PostRxChain(0, {1000});  // less than a 1500-byte MTU frame
  Kick(kRxQueue);
  const std::vector<uint8_t> packet = Packet(50, 2);
  SendFromHost(packet);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(UsedIndex(), 0);
  PostRxChain(1, {1000});
  Kick(kRxQueue);
  ASSERT_TRUE(WaitForUsed(1));
  EXPECT_EQ(driver.Used(0), (std::pair<uint32_t, uint32_t>{0, static_cast<uint32_t>(packet.size())}));
}

TEST_F(NetDeviceTest, AFrameWaitsForRxBuffersWithoutSpinningThenArrives) {
  QueueDriver& driver = Activate(kPlainFeatures, kRxQueue);
  const std::vector<uint8_t> packet = Packet(100, 4);
  SendFromHost(packet);
  const auto cpu_before = CpuTime();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LT(CpuTime() - cpu_before, std::chrono::milliseconds(100)) << "the event loop spins";
  EXPECT_EQ(UsedIndex(), 0);
  const uint64_t buffer = PostRxChain(0, {2048})[0];
  Kick(kRxQueue);
  ASSERT_TRUE(WaitForUsed(1));
  EXPECT_EQ(driver.ReadBytes(buffer, packet.size()), WithNumBuffers(packet, 1));
}

TEST_F(NetDeviceTest, ReturnsUnusableRxBuffersEmptyAndUsesTheNextOne) {
  QueueDriver& driver = Activate(kPlainFeatures, kRxQueue);
  const uint64_t readable = driver.Allocate(2048);
  {
    std::lock_guard lock(device_->mutex());
    driver.SetChain(0, {{readable, 2048, 0}});  // device-readable
    driver.SetChain(1, {{readable, 8, kWrite}});  // smaller than the header
    driver.SetChain(2, {{kOutOfRange, 2048, kWrite}});
    driver.SetDescriptor(3, {readable, 2048, static_cast<uint16_t>(kWrite | kNext), 3});  // a loop
    for (uint16_t head = 0; head < 4; ++head) driver.Publish(head);
  }
  const uint64_t buffer = PostRxChain(4, {2048})[0];
  Kick(kRxQueue);
  ASSERT_EQ(UsedIndex(), 4);
  for (uint16_t i = 0; i < 4; ++i) EXPECT_EQ(driver.Used(i), (std::pair<uint32_t, uint32_t>{i, 0}));
  const std::vector<uint8_t> packet = Packet(100, 8);
  SendFromHost(packet);
  ASSERT_TRUE(WaitForUsed(5));
  EXPECT_EQ(driver.Used(4), (std::pair<uint32_t, uint32_t>{4, static_cast<uint32_t>(packet.size())}));
  EXPECT_EQ(driver.ReadBytes(buffer, packet.size()), WithNumBuffers(packet, 1));
  EXPECT_EQ(Failure(), "");
}

TEST_F(NetDeviceTest, AClosedTapStopsReceivingWithoutSpinning) {
  Activate(kPlainFeatures, kRxQueue);
  PostRxChain(0, {2048});
  Kick(kRxQueue);
  host_.Reset();
  const auto cpu_before = CpuTime();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LT(CpuTime() - cpu_before, std::chrono::milliseconds(100)) << "the event loop spins";
  EXPECT_EQ(UsedIndex(), 0);
  EXPECT_EQ(Failure(), "");
}

TEST_F(NetDeviceTest, HeldRxChainsAreCountedForASnapshot) {
  Activate(kPlainFeatures, kRxQueue);
  for (uint16_t head = 0; head < 3; ++head) PostRxChain(head, {2048});
  Kick(kRxQueue);
  std::lock_guard lock(device_->mutex());
  EXPECT_EQ(device_->ChainsHeld(kRxQueue), 3);
  EXPECT_EQ(device_->ChainsHeld(kTxQueue), 0) << "tx chains are used as they are popped";
  const Status snapshotable = device_->CheckSnapshotable();
  EXPECT_TRUE(snapshotable.ok()) << snapshotable.message();
}

TEST_F(NetDeviceTest, AnUnusableRxBufferBeforeTheHeldOnesAllowsASnapshot) {
  QueueDriver& driver = Activate(kPlainFeatures, kRxQueue);
  {
    std::lock_guard lock(device_->mutex());
    driver.SetChain(0, {{driver.Allocate(2048), 2048, 0}});  // device-readable: returned at once
    driver.Publish(0);
  }
  PostRxChain(1, {2048});
  Kick(kRxQueue);
  ASSERT_EQ(UsedIndex(), 1);
  std::lock_guard lock(device_->mutex());
  EXPECT_EQ(device_->ChainsHeld(kRxQueue), 1);
  EXPECT_TRUE(device_->CheckSnapshotable().ok());
}

// Rewound past a held chain, the returned one behind it would be popped and returned twice.
TEST_F(NetDeviceTest, AnUnusableRxBufferBehindAHeldOneRefusesASnapshot) {
  QueueDriver& driver = Activate(kPlainFeatures, kRxQueue);
  PostRxChain(0, {2048});
  {
    std::lock_guard lock(device_->mutex());
    driver.SetChain(1, {{driver.Allocate(2048), 2048, 0}});
    driver.Publish(1);
  }
  Kick(kRxQueue);
  ASSERT_EQ(UsedIndex(), 1);
  std::lock_guard lock(device_->mutex());
  const Status refused = device_->CheckSnapshotable();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("unusable rx buffer after buffers the device still holds"), std::string::npos)
      << refused.message();
}

// ---- snapshots through the transport -----------------------------------------

constexpr MacAddress kCloneMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x42};

// A NIC behind its MMIO transport, driven through the registers as the
// guest does, on a socketpair "TAP"; the event loop runs on its own thread.
struct TransportNic {
  UniqueFd host;
  std::shared_ptr<NetDevice> device;
  std::shared_ptr<MmioTransport> transport;

  static TransportNic Create(const MacAddress& mac, const GuestMemory& memory, EventLoop& loop, uint64_t base) {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    TransportNic nic;
    nic.host = UniqueFd(fds[0]);
    nic.device =
        NetDevice::Create(UniqueFd(fds[1]), mac, 1500, loop, [](int, uint64_t) { return Status::Ok(); }).value();
    nic.transport = MmioTransport::Create(nic.device, memory, loop, base, 5).value();
    return nic;
  }

  uint32_t Read(uint64_t offset) {
    uint32_t value = 0;
    transport->Read(offset, {reinterpret_cast<uint8_t*>(&value), 4});
    return value;
  }
  void Write(uint64_t offset, uint32_t value) { transport->Write(offset, {reinterpret_cast<uint8_t*>(&value), 4}); }

  // The driver's initialisation: rx at QueueDriver's areas, tx (left empty) above them.
  void Initialise() {
    Write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    Write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    Write(VIRTIO_MMIO_DRIVER_FEATURES, static_cast<uint32_t>(kPlainFeatures));
    Write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    Write(VIRTIO_MMIO_DRIVER_FEATURES, static_cast<uint32_t>(kPlainFeatures >> 32));
    Write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    const uint64_t areas[2][3] = {{QueueDriver::kDescriptors, QueueDriver::kAvailable, QueueDriver::kUsed},
                                  {0x5000, 0x6000, 0x7000}};
    for (uint32_t queue = 0; queue < 2; ++queue) {
      Write(VIRTIO_MMIO_QUEUE_SEL, queue);
      Write(VIRTIO_MMIO_QUEUE_NUM, 16);
      Write(VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<uint32_t>(areas[queue][0]));
      Write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<uint32_t>(areas[queue][1]));
      Write(VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<uint32_t>(areas[queue][2]));
      Write(VIRTIO_MMIO_QUEUE_READY, 1);
    }
    Write(VIRTIO_MMIO_STATUS, Read(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
  }

  MacAddress ConfigMac() {
    MacAddress mac{};
    for (size_t i = 0; i < mac.size(); ++i) {
      uint8_t byte = 0;
      transport->Read(VIRTIO_MMIO_CONFIG + i, {&byte, 1});
      mac[i] = byte;
    }
    return mac;
  }
};

class NetSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_ = EventLoop::Create().value();
    loop_thread_ = std::thread([this] { loop_->Run(); });
  }
  void TearDown() override {
    loop_->Stop();
    loop_thread_.join();
  }

  uint16_t UsedIndex(NetDevice& device) {
    std::lock_guard lock(device.mutex());
    return driver_.UsedIndex();
  }
  bool WaitForUsed(NetDevice& device, uint16_t count) {
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    while (UsedIndex(device) < count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  GuestMemory memory_ = GuestMemory::CreateForTest(0, 4 << 20).value();
  Virtqueue mirror_;  // the driver's view of the rx ring
  QueueDriver driver_{memory_, mirror_};
  std::unique_ptr<EventLoop> loop_;
  std::thread loop_thread_;
};

// The template's device holds rx buffers; the clone's, on a new TAP, pops
// them again and fills the oldest first, after the used entries the
// template's guest saw.
TEST_F(NetSnapshotTest, AClonePopsTheHeldRxBuffersAgainOnItsOwnTap) {
  TransportNic original = TransportNic::Create(kMac, memory_, *loop_, 0xd0000000);
  original.Initialise();
  ASSERT_EQ(original.Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
  std::vector<uint64_t> buffers;
  {
    std::lock_guard lock(original.device->mutex());
    for (uint16_t head = 0; head < 3; ++head) {
      buffers.push_back(driver_.Allocate(2048));
      driver_.SetChain(head, {{buffers.back(), 2048, kWrite}});
      driver_.Publish(head);
    }
  }
  original.transport->NotifyQueue(kRxQueue);
  const std::vector<uint8_t> before = Packet(80, 1);
  ASSERT_EQ(::send(original.host.get(), before.data(), before.size(), 0), static_cast<ssize_t>(before.size()));
  ASSERT_TRUE(WaitForUsed(*original.device, 1));  // buffer 0 used, 1 and 2 held

  SnapshotWriter writer;
  const Status saved = original.transport->SaveState(writer, "virtio0");
  ASSERT_TRUE(saved.ok()) << saved.message();
  const SnapshotReader snapshot = SnapshotReader::Parse(writer.Serialize().value(), "test").value();
  // The template is gone (its TAP last: a closed peer would wake it); its guest memory stays.
  original.transport.reset();
  original.device.reset();
  original.host.Reset();

  TransportNic clone = TransportNic::Create(kCloneMac, memory_, *loop_, 0xd0001000);
  const Status restored = clone.transport->RestoreState(snapshot, "virtio0");
  ASSERT_TRUE(restored.ok()) << restored.message();
  EXPECT_NE(clone.Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK, 0u);
  EXPECT_EQ(clone.ConfigMac(), kCloneMac) << "the clone's config space has the restore config's MAC";
  EXPECT_EQ(UsedIndex(*clone.device), 1) << "restoring uses no buffer";
  {
    std::lock_guard lock(clone.device->mutex());
    EXPECT_EQ(clone.device->ChainsHeld(kRxQueue), 2);
  }
  const std::vector<uint8_t> after = Packet(120, 2);
  ASSERT_EQ(::send(clone.host.get(), after.data(), after.size(), 0), static_cast<ssize_t>(after.size()));
  ASSERT_TRUE(WaitForUsed(*clone.device, 2));
  EXPECT_EQ(driver_.Used(1), (std::pair<uint32_t, uint32_t>{1, static_cast<uint32_t>(after.size())}));
  EXPECT_EQ(driver_.ReadBytes(buffers[1], after.size()), WithNumBuffers(after, 1));
  EXPECT_EQ(clone.Read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0u);
}

// A frame already on the clone's TAP is received as the device is restored;
// the interrupt it raised must outlast the restore of the transport's registers.
TEST_F(NetSnapshotTest, AFrameWaitingOnTheClonesTapArrivesWithItsInterrupt) {
  TransportNic original = TransportNic::Create(kMac, memory_, *loop_, 0xd0000000);
  original.Initialise();
  uint64_t buffer = 0;
  {
    std::lock_guard lock(original.device->mutex());
    buffer = driver_.Allocate(2048);
    driver_.SetChain(0, {{buffer, 2048, kWrite}});
    driver_.Publish(0);
  }
  original.transport->NotifyQueue(kRxQueue);
  SnapshotWriter writer;
  ASSERT_TRUE(original.transport->SaveState(writer, "virtio0").ok());
  const SnapshotReader snapshot = SnapshotReader::Parse(writer.Serialize().value(), "test").value();
  original.transport.reset();
  original.device.reset();

  TransportNic clone = TransportNic::Create(kCloneMac, memory_, *loop_, 0xd0001000);
  const std::vector<uint8_t> waiting = Packet(60, 4);
  ASSERT_EQ(::send(clone.host.get(), waiting.data(), waiting.size(), 0), static_cast<ssize_t>(waiting.size()));
  const Status restored = clone.transport->RestoreState(snapshot, "virtio0");
  ASSERT_TRUE(restored.ok()) << restored.message();
  ASSERT_TRUE(WaitForUsed(*clone.device, 1));
  EXPECT_EQ(driver_.Used(0), (std::pair<uint32_t, uint32_t>{0, static_cast<uint32_t>(waiting.size())}));
  EXPECT_EQ(driver_.ReadBytes(buffer, waiting.size()), WithNumBuffers(waiting, 1));
  EXPECT_NE(clone.Read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING, 0u);
}

// ---- an unplugged NIC --------------------------------------------------------

class UnpluggedNetDeviceTest : public NetDeviceTest {
 protected:
  void SetUp() override {
    loop_ = EventLoop::Create().value();
    auto device = NetDevice::CreateUnplugged(kMac, 9000, *loop_);
    ASSERT_TRUE(device.ok()) << device.status().message();
    device_ = *device;
    loop_thread_ = std::thread([this] { loop_->Run(); });
  }
};

TEST_F(UnpluggedNetDeviceTest, IsANicWithItsLinkUp) {
  std::vector<uint8_t> config(12);
  device_->ReadConfig(0, config);
  EXPECT_EQ(config, (std::vector<uint8_t>{0x02, 0, 0, 0, 0, 0x01, 1, 0, 1, 0, 0x28, 0x23}));  // mtu 9000
}

TEST_F(UnpluggedNetDeviceTest, TakesEveryTxFrameAndDropsIt) {
  QueueDriver& driver = Activate(kPlainFeatures, kTxQueue);
  // Frames of the largest size, far more than a socket buffer holds.
  const std::vector<uint8_t> packet = Packet(NetDevice::kMaxFrameSize, 3);
  const uint64_t frame = driver.Allocate(static_cast<uint32_t>(packet.size()));
  driver.WriteBytes(frame, packet);
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    {
      std::lock_guard lock(device_->mutex());
      for (uint16_t head = 0; head < 16; ++head) {
        driver.SetChain(head, {{frame, static_cast<uint32_t>(packet.size()), 0}});
        driver.Publish(head);
      }
    }
    Kick(kTxQueue);
  }
  ASSERT_EQ(UsedIndex(), kRounds * 16);
  for (uint16_t i = 0; i < 16; ++i) EXPECT_EQ(driver.Used(i).second, 0u);
  EXPECT_EQ(Failure(), "");
  std::lock_guard lock(device_->mutex());
  EXPECT_EQ(device_->unplugged_tx_dropped(), uint64_t{kRounds * 16});
}

TEST_F(UnpluggedNetDeviceTest, NeverFillsRxBuffersAndDoesNotSpin) {
  Activate(kPlainFeatures, kRxQueue);  // no TAP to configure: TUNSETVNETHDRSZ would fail on a socket
  PostRxChain(0, {2048});
  Kick(kRxQueue);
  const auto cpu_before = CpuTime();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LT(CpuTime() - cpu_before, std::chrono::milliseconds(100)) << "the event loop spins";
  EXPECT_EQ(UsedIndex(), 0);
  EXPECT_EQ(Failure(), "");
  std::lock_guard lock(device_->mutex());
  EXPECT_EQ(device_->ChainsHeld(kRxQueue), 1);
}

// ---- a real TAP ------------------------------------------------------------



// ETHTOOL_GTSO / ETHTOOL_GTXCSUM on `name`, through a socket of this thread's namespace.
bool EthtoolFlag(const char* name, uint32_t command) {
  UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ethtool_value value{};
  value.cmd = command;
  ifreq request{};
  std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  request.ifr_data = reinterpret_cast<char*>(&value);
  return ::ioctl(socket.get(), SIOCETHTOOL, &request) == 0 && value.data != 0;
}

TEST(NetDeviceTapTest, ActivationSetsTheVnetHeaderSizeAndOffloadsOnARealTap) {
  const std::string outside = testing::InFreshNetworkNamespace([] {
    Result<UniqueFd> tap = testing::OpenTap("sbnet0", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    const int fd = tap->get();
    auto loop = EventLoop::Create().value();
    auto device = NetDevice::Create(std::move(tap).value(), kMac, 1500, *loop);
    ASSERT_TRUE(device.ok()) << device.status().message();
    GuestMemory memory = GuestMemory::CreateForTest(0, 1 << 20).value();
    std::vector<Virtqueue> queues(2);
    ActiveQueues active{.memory = &memory, .queues = &queues,
                        .features = kPlainFeatures | kNetFeatureGuestCsum | kNetFeatureGuestTso4 | kNetFeatureGuestTso6};
    active.signal_used = [] {};
    active.fail = [](const Status&) {};
    std::lock_guard lock((*device)->mutex());
    const Status activated = (*device)->Activate(active);
    ASSERT_TRUE(activated.ok()) << activated.message();
    int header_size = 0;
    ASSERT_EQ(::ioctl(fd, TUNGETVNETHDRSZ, &header_size), 0);
    EXPECT_EQ(header_size, 12);
    EXPECT_TRUE(EthtoolFlag("sbnet0", ETHTOOL_GTSO));
    EXPECT_TRUE(EthtoolFlag("sbnet0", ETHTOOL_GTXCSUM));
    // A guest that takes no offloads gets whole, checksummed frames.
    (*device)->Reset();
    active.features = kPlainFeatures;
    ASSERT_TRUE((*device)->Activate(active).ok());
    EXPECT_FALSE(EthtoolFlag("sbnet0", ETHTOOL_GTSO));
    EXPECT_FALSE(EthtoolFlag("sbnet0", ETHTOOL_GTXCSUM));
  });
  EXPECT_EQ(outside, "") << "a network namespace of its own (needs root)";
}

// Brings `name` up; it carries no address, and with IPv6 off in the
// namespace the kernel sends nothing of its own through it.
bool BringUp(const char* name) {
  UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  if (::ioctl(socket.get(), SIOCGIFFLAGS, &request) != 0) return false;
  request.ifr_flags |= IFF_UP;
  return ::ioctl(socket.get(), SIOCSIFFLAGS, &request) == 0;
}

constexpr uint16_t kTestEtherType = 0x88b5;  // IEEE local experimental

// A broadcast Ethernet frame of the test EtherType.
std::vector<uint8_t> TestFrame(size_t payload, uint8_t seed) {
  std::vector<uint8_t> frame(14 + payload, 0xff);
  std::copy(kMac.begin(), kMac.end(), frame.begin() + 6);
  frame[12] = kTestEtherType >> 8;
  frame[13] = kTestEtherType & 0xff;
  for (size_t i = 14; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(seed + i);
  return frame;
}

TEST(NetDeviceTapTest, CarriesFramesBothWaysThroughARealTap) {
  const std::string outside = testing::InFreshNetworkNamespace([] {
    // /proc/sys/net shows this thread's namespace; without IPv6 the file is absent, and so is its traffic.
    if (UniqueFd sysctl(::open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC)); sysctl.valid()) {
      ASSERT_EQ(::write(sysctl.get(), "1", 1), 1);
    }
    Result<UniqueFd> tap = testing::OpenTap("sbnet0", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    ASSERT_TRUE(BringUp("sbnet0"));
    // The kernel side of the TAP: a packet socket for the test EtherType only.
    UniqueFd packets(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kTestEtherType)));
    ASSERT_TRUE(packets.valid());
    sockaddr_ll link{.sll_family = AF_PACKET, .sll_protocol = htons(kTestEtherType),
                     .sll_ifindex = static_cast<int>(if_nametoindex("sbnet0"))};
    ASSERT_EQ(::bind(packets.get(), reinterpret_cast<sockaddr*>(&link), sizeof(link)), 0);
    auto loop = EventLoop::Create().value();
    std::shared_ptr<NetDevice> device = NetDevice::Create(std::move(tap).value(), kMac, 1500, *loop).value();
    std::thread loop_thread([&] { loop->Run(); });
    const uint64_t features = kPlainFeatures | kNetFeatureMergeableRxBuffers;

    // Guest -> host: the header goes to the TAP, the frame comes out of the interface.
    GuestMemory tx_memory = GuestMemory::CreateForTest(0, 1 << 20).value();
    std::vector<Virtqueue> tx_queues(2);
    QueueDriver tx(tx_memory, tx_queues[kTxQueue]);
    ActiveQueues active{.memory = &tx_memory, .queues = &tx_queues, .features = features};
    active.signal_used = [] {};
    active.fail = [](const Status& why) { ADD_FAILURE() << why.message(); };
    const std::vector<uint8_t> sent = TestFrame(100, 1);
    std::vector<uint8_t> packet(NetDevice::kHeaderSize, 0);
    packet.insert(packet.end(), sent.begin(), sent.end());
    const uint64_t address = tx.Allocate(static_cast<uint32_t>(packet.size()));
    tx.WriteBytes(address, packet);
    tx.SetChain(0, {{address, 20, 0}, {address + 20, static_cast<uint32_t>(packet.size() - 20), 0}});
    tx.Publish(0);
    {
      std::lock_guard lock(device->mutex());
      ASSERT_TRUE(device->Activate(active).ok());
      device->ProcessQueue(kTxQueue);
    }
    std::vector<uint8_t> captured(2048);
    pollfd readable{packets.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&readable, 1, 5000), 1);
    captured.resize(static_cast<size_t>(std::max<ssize_t>(0, ::recv(packets.get(), captured.data(), captured.size(), 0))));
    EXPECT_EQ(captured, sent);

    // Host -> guest: a frame sent on the interface lands in the rx buffers behind a vnet header.
    GuestMemory rx_memory = GuestMemory::CreateForTest(0, 1 << 20).value();
    std::vector<Virtqueue> rx_queues(2);
    QueueDriver rx(rx_memory, rx_queues[kRxQueue]);
    active.memory = &rx_memory;
    active.queues = &rx_queues;
    std::vector<uint64_t> buffers;
    {
      std::lock_guard lock(device->mutex());
      device->Reset();
      for (uint16_t head = 0; head < 2; ++head) {
        buffers.push_back(rx.Allocate(1024));
        rx.SetChain(head, {{buffers.back(), 1024, kWrite}});
        rx.Publish(head);
      }
      ASSERT_TRUE(device->Activate(active).ok());
    }
    const std::vector<uint8_t> received = TestFrame(60, 2);
    sockaddr_ll to = link;
    to.sll_halen = 6;
    std::fill_n(to.sll_addr, 6, 0xff);
    ASSERT_EQ(::sendto(packets.get(), received.data(), received.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(received.size()));
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    auto used = [&] {
      std::lock_guard lock(device->mutex());
      return rx.UsedIndex();
    };
    while (used() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(used(), 1);
    EXPECT_EQ(rx.Used(0).second, NetDevice::kHeaderSize + received.size());
    const std::vector<uint8_t> header = rx.ReadBytes(buffers[0], NetDevice::kHeaderSize);
    EXPECT_EQ(header[1], 0) << "not a GSO frame";
    EXPECT_EQ(header[10] | header[11] << 8, 1) << "num_buffers";
    EXPECT_EQ(rx.ReadBytes(buffers[0] + NetDevice::kHeaderSize, received.size()), received);
    loop->Stop();
    loop_thread.join();
    device.reset();
  });
  EXPECT_EQ(outside, "") << "a network namespace of its own (needs root)";
}

}  // namespace
}  // namespace sandbox::vmm
