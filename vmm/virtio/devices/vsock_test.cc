#include "vmm/virtio/devices/vsock.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/base/unix_socket.h"
#include "vmm/virtio/testing/queue_driver.h"

namespace sandbox::vmm {
namespace {

using testing::QueueDriver;

constexpr uint64_t kGuestCid = 3;
constexpr size_t kTxQueue = 1;
constexpr auto kAcceptLimit = std::chrono::seconds(5);

// The device on a state dir as long as containerd's (/run/containerd/runc/k8s.io/<64-hex id>):
// longer than sun_path. Only the tx queue is driven; rx stays unready.
class VsockLongPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeDirs(dir_).ok());
    ASSERT_GT(uds_path_.size() + 5, sizeof(sockaddr_un::sun_path));
    loop_ = EventLoop::Create().value();
    Result<std::shared_ptr<VsockDevice>> device = VsockDevice::Create(kGuestCid, uds_path_, *loop_);
    ASSERT_TRUE(device.ok()) << device.status().message();
    device_ = *device;
    ActiveQueues active{.memory = &memory_, .queues = &queues_, .features = device_->offered_features()};
    active.signal_used = [] {};
    active.fail = [this](const Status& why) { failure_ = why.message(); };
    ASSERT_TRUE(device_->Activate(active).ok());
  }

  // The guest asks to connect from its port `guest_port` to host port `host_port`.
  void GuestConnects(uint32_t guest_port, uint32_t host_port) {
    virtio_vsock_hdr header{};
    header.src_cid = kGuestCid;
    header.dst_cid = VsockDevice::kHostCid;
    header.src_port = guest_port;
    header.dst_port = host_port;
    header.type = VIRTIO_VSOCK_TYPE_STREAM;
    header.op = VIRTIO_VSOCK_OP_REQUEST;
    header.buf_alloc = 64 * 1024;
    const uint64_t address = driver_.Allocate(sizeof(header));
    ASSERT_TRUE(memory_.WriteObject(address, header).ok());
    driver_.SetChain(0, {{address, sizeof(header), 0}});
    driver_.Publish(0);
    device_->ProcessQueue(kTxQueue);
  }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/vsock-test-");
  const std::string dir_ = temp_.path() + "/" + std::string(100, 'c');
  const std::string uds_path_ = dir_ + "/vsock";
  GuestMemory memory_ = GuestMemory::CreateForTest(0, 1 << 20).value();
  std::vector<Virtqueue> queues_ = std::vector<Virtqueue>(3);
  QueueDriver driver_{memory_, queues_[kTxQueue]};
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<VsockDevice> device_;
  std::string failure_;
};

TEST_F(VsockLongPathTest, OffersASmallReceiveQueue) {
  // The guest fills every receive entry it is offered with an 8 KiB buffer.
  EXPECT_EQ(device_->max_queue_size(0), 64u);
  EXPECT_EQ(device_->max_queue_size(kTxQueue), Virtqueue::kMaxSize);
}

TEST_F(VsockLongPathTest, HostConnectsToTheLongUdsPath) {
  EXPECT_TRUE(PathExists(uds_path_));
  Result<UniqueFd> host = ConnectUnix(uds_path_);
  EXPECT_TRUE(host.ok()) << host.status().message();
}

TEST_F(VsockLongPathTest, GuestConnectionsReachTheLongPortSocket) {
  Result<UniqueFd> listener = ListenUnix(uds_path_ + "_1025", 1);
  ASSERT_TRUE(listener.ok()) << listener.status().message();
  GuestConnects(5000, 1025);
  Result<UniqueFd> accepted = AcceptWithin(listener->get(), kAcceptLimit, "<uds_path>_1025");
  EXPECT_TRUE(accepted.ok()) << accepted.status().message();
  EXPECT_EQ(failure_, "");
}

TEST_F(VsockLongPathTest, AGuestThatPostsNoRxBuffersCannotGrowTheControlQueue) {
  // Datagram-type packets are refused with an RST each; rx is never readied.
  virtio_vsock_hdr header{};
  header.src_cid = kGuestCid;
  header.dst_cid = VsockDevice::kHostCid;
  header.dst_port = 1025;
  header.type = 2;  // VIRTIO_VSOCK_TYPE_SEQPACKET: not a stream
  const uint64_t address = driver_.Allocate(sizeof(header));
  for (uint32_t i = 0; i < 3 * VsockDevice::kMaxQueuedControl; ++i) {
    header.src_port = 10000 + i;
    ASSERT_TRUE(memory_.WriteObject(address, header).ok());
    driver_.SetChain(0, {{address, sizeof(header), 0}});
    driver_.Publish(0);
    device_->ProcessQueue(kTxQueue);
  }
  EXPECT_EQ(device_->queued_control(), VsockDevice::kMaxQueuedControl);
  EXPECT_EQ(failure_, "");
}

TEST_F(VsockLongPathTest, TheSocketIsRemovedWithTheDevice) {
  device_.reset();
  EXPECT_FALSE(PathExists(uds_path_));
}

}  // namespace
}  // namespace sandbox::vmm
