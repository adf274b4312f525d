#include "vmm/vhost_user/frontend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/base/temp_dir.h"
#include "vmm/event_loop.h"
#include "vmm/vhost_user/testing/fake_backend.h"

namespace sandbox::vmm {
namespace {

using testing::FakeVhostUserBackend;
using namespace vhost_user;

template <class T>
T PayloadAs(const FakeVhostUserBackend::Message& message) {
  T value{};
  EXPECT_EQ(message.payload.size(), sizeof(T)) << "request " << message.request;
  std::memcpy(&value, message.payload.data(), std::min(sizeof(T), message.payload.size()));
  return value;
}

TEST(VhostUserFrontend, SessionSetupNegotiatesReplyAckOnly) {
  FakeVhostUserBackend backend({});
  Result<VhostUserFrontend> frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "test");
  ASSERT_TRUE(frontend.ok()) << frontend.status().message();
  EXPECT_EQ(frontend->backend_features() & kFeatureProtocolFeatures, 0u) << "a vhost-user bit, not a virtio one";
  EXPECT_EQ(backend.Requests(),
            (std::vector<uint32_t>{kGetFeatures, kGetProtocolFeatures, kSetProtocolFeatures, kSetOwner}));
  std::optional<FakeVhostUserBackend::Message> protocol = backend.Take(kSetProtocolFeatures);
  ASSERT_TRUE(protocol);
  EXPECT_EQ(PayloadAs<uint64_t>(*protocol), kProtocolFeatureReplyAck) << "MQ is offered but not wanted";
  std::optional<FakeVhostUserBackend::Message> owner = backend.Take(kSetOwner);
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->flags, kVersion | kFlagNeedReply) << "acknowledged once REPLY_ACK is on";
}

TEST(VhostUserFrontend, WithoutProtocolFeaturesNothingIsAcknowledged) {
  FakeVhostUserBackend backend({.features = 1ull << 32, .protocol_features = 0});
  Result<VhostUserFrontend> frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "test");
  ASSERT_TRUE(frontend.ok()) << frontend.status().message();
  ASSERT_TRUE(frontend->SetFeatures(1ull << 32).ok());
  // Nothing is answered, so a request that is (GET_VRING_BASE) orders the rest.
  ASSERT_TRUE(frontend->StopVring(0).ok());
  EXPECT_EQ(backend.Requests(), (std::vector<uint32_t>{kGetFeatures, kSetOwner, kSetFeatures, kGetVringBase}));
  std::optional<FakeVhostUserBackend::Message> features = backend.Take(kSetFeatures);
  ASSERT_TRUE(features);
  EXPECT_EQ(features->flags, kVersion);
  EXPECT_EQ(PayloadAs<uint64_t>(*features), 1ull << 32) << "no protocol-features bit to add";
}

TEST(VhostUserFrontend, SetFeaturesKeepsTheProtocolFeaturesBit) {
  FakeVhostUserBackend backend({});
  VhostUserFrontend frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "test").value();
  ASSERT_TRUE(frontend.SetFeatures(1ull << 32).ok());
  std::optional<FakeVhostUserBackend::Message> features = backend.Take(kSetFeatures);
  ASSERT_TRUE(features);
  EXPECT_EQ(PayloadAs<uint64_t>(*features), (1ull << 32) | kFeatureProtocolFeatures);
}

TEST(VhostUserFrontend, MemoryTableSharesTheMemfdAndRingsLandOnGuestBytes) {
  FakeVhostUserBackend backend({});
  VhostUserFrontend frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "test").value();
  GuestMemory memory = GuestMemory::Create(GuestMemory::kMmioGapStart + (1 << 20)).value();  // two regions
  ASSERT_EQ(memory.regions().size(), 2u);
  ASSERT_TRUE(frontend.SetMemoryTable(memory).ok());
  std::optional<FakeVhostUserBackend::Message> table = backend.Take(kSetMemTable);
  ASSERT_TRUE(table);
  ASSERT_EQ(table->fds.size(), 2u);
  ASSERT_EQ(table->payload.size(), 8 + 2 * sizeof(vhost_user::MemoryRegion)) << "only the regions in use are sent";
  struct stat ours {}, theirs {};
  ASSERT_EQ(::fstat(memory.memfd(), &ours), 0);
  ASSERT_EQ(::fstat(table->fds[1].get(), &theirs), 0);
  EXPECT_EQ(ours.st_ino, theirs.st_ino) << "the guest's memfd itself";
  MemoryTable sent;
  std::memcpy(&sent, table->payload.data(), table->payload.size());
  EXPECT_EQ(sent.region_count, 2u);
  EXPECT_EQ(sent.regions[1].guest_address, GuestMemory::kMmioGapEnd);
  EXPECT_EQ(sent.regions[1].mmap_offset, GuestMemory::kMmioGapStart);

  // A ring in the high region: the back-end finds the guest's bytes through
  // the address it is given.
  const uint64_t descriptors = GuestMemory::kMmioGapEnd + 0x1000;
  const uint8_t pattern[4] = {0xde, 0xad, 0xbe, 0xef};
  ASSERT_TRUE(memory.Write(descriptors, pattern).ok());
  EventFd kick = EventFd::Create().value();
  EventFd call = EventFd::Create().value();
  ASSERT_TRUE(frontend
                  .StartVring(memory, 1, {.size = 64, .descriptor_table = descriptors, .available_ring = 0x2000,
                                          .used_ring = 0x3000},
                              kick.fd(), call.fd())
                  .ok());
  EXPECT_EQ(backend.Requests(),
            (std::vector<uint32_t>{kGetFeatures, kGetProtocolFeatures, kSetProtocolFeatures, kSetOwner, kSetMemTable,
                                   kSetVringNum, kSetVringBase, kSetVringAddr, kSetVringKick, kSetVringCall,
                                   kSetVringEnable}));
  std::optional<FakeVhostUserBackend::Message> address = backend.Take(kSetVringAddr);
  ASSERT_TRUE(address);
  const auto ring = PayloadAs<VringAddress>(*address);
  EXPECT_EQ(ring.index, 1u);
  std::optional<std::vector<uint8_t>> seen = backend.ReadFrontendAddress(ring.descriptor, 4);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, std::vector<uint8_t>(pattern, pattern + 4));
  std::optional<FakeVhostUserBackend::Message> kick_message = backend.Take(kSetVringKick);
  ASSERT_TRUE(kick_message);
  EXPECT_EQ(PayloadAs<uint64_t>(*kick_message), 1u) << "ring index, with a valid fd";
  ASSERT_EQ(kick_message->fds.size(), 1u);
  std::optional<FakeVhostUserBackend::Message> enable = backend.Take(kSetVringEnable);
  ASSERT_TRUE(enable);
  EXPECT_EQ(PayloadAs<VringState>(*enable).num, 1u);

  Result<uint32_t> stopped = frontend.StopVring(1);
  ASSERT_TRUE(stopped.ok()) << stopped.status().message();
  EXPECT_EQ(*stopped, 7u);
}

TEST(VhostUserFrontend, RingsOutsideGuestRamAreNotHandedOver) {
  FakeVhostUserBackend backend({});
  VhostUserFrontend frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "test").value();
  GuestMemory memory = GuestMemory::CreateForTest(0, 1 << 20).value();
  EventFd kick = EventFd::Create().value();
  const Status started = frontend.StartVring(
      memory, 0, {.size = 256, .descriptor_table = (1 << 20) - 16, .available_ring = 0, .used_ring = 0x1000}, kick.fd(),
      kick.fd());
  EXPECT_FALSE(started.ok());
  EXPECT_EQ(backend.Requests().size(), 4u) << "nothing sent after the session setup";
}

TEST(VhostUserFrontend, RamMappedFromATemplateIsLeftOutOfTheTableAndHoldsNoRing) {
  TempDir dir = TempDir::CreateOrDie("frontend-test");
  const std::string path = dir.path() + "/memory";
  {
    UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(file.valid());
    ASSERT_EQ(::ftruncate(file.get(), 8 << 20), 0);
  }
  GuestMemory memory = GuestMemory::CopySnapshotFile(path, 8 << 20, {GuestRange{0x100000, 0x100000}}).value();
  FakeVhostUserBackend backend({});
  VhostUserFrontend frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "test").value();
  ASSERT_TRUE(frontend.SetMemoryTable(memory).ok());
  std::optional<FakeVhostUserBackend::Message> table = backend.Take(kSetMemTable);
  ASSERT_TRUE(table);
  MemoryTable sent;
  ASSERT_EQ(table->payload.size(), 8 + 2 * sizeof(vhost_user::MemoryRegion));
  std::memcpy(&sent, table->payload.data(), table->payload.size());
  EXPECT_EQ(sent.regions[0].guest_address, 0u);
  EXPECT_EQ(sent.regions[0].size, 0x100000u);
  EXPECT_EQ(sent.regions[1].guest_address, 0x200000u);
  EXPECT_EQ(sent.regions[1].mmap_offset, 0x200000u);
  EXPECT_EQ(sent.regions[1].size, (8u << 20) - 0x200000u);
  EventFd kick = EventFd::Create().value();
  const Status started = frontend.StartVring(
      memory, 0, {.size = 64, .descriptor_table = 0x180000, .available_ring = 0x2000, .used_ring = 0x3000},
      kick.fd(), kick.fd());
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("the back-end does not map"), std::string::npos) << started.message();
}

TEST(VhostUserFrontend, ARefusalNamesTheRequest) {
  FakeVhostUserBackend backend({.refuse = kSetMemTable});
  VhostUserFrontend frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "/run/fs.sock").value();
  GuestMemory memory = GuestMemory::CreateForTest(0, 1 << 20).value();
  const Status status = frontend.SetMemoryTable(memory);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/run/fs.sock: SET_MEM_TABLE: refused (status 1)"), std::string::npos)
      << status.message();
}

TEST(VhostUserFrontend, ABackendThatHangsUpIsAnError) {
  FakeVhostUserBackend backend({.hang_up = kGetProtocolFeatures});
  Result<VhostUserFrontend> frontend = VhostUserFrontend::Start(backend.TakeFrontendEnd(), "test");
  ASSERT_FALSE(frontend.ok());
  EXPECT_NE(frontend.status().message().find("GET_PROTOCOL_FEATURES: the back-end closed the connection"),
            std::string::npos)
      << frontend.status().message();
}

TEST(VhostUserFrontend, ConnectNamesAMissingSocket) {
  Result<VhostUserFrontend> frontend = VhostUserFrontend::Connect("/nonexistent/virtiofsd.sock");
  ASSERT_FALSE(frontend.ok());
  EXPECT_NE(frontend.status().message().find("/nonexistent/virtiofsd.sock"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::vmm
