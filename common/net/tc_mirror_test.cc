#include "common/net/tc_mirror.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <string_view>

#include "common/net/netns_test_util.h"
#include "common/net/tap.h"

namespace sandbox::net {
namespace {

using TcMirrorTest = testing::PrivateNetnsTest;

// An experimental ethertype (IEEE 802 local): nothing else sends it.
constexpr uint16_t kTestEtherType = 0x88b5;
constexpr std::string_view kMarker = "sandbox-net-mirror";

std::vector<uint8_t> TestFrame(std::string_view marker) {
  std::vector<uint8_t> frame(60, 0);   // the Ethernet minimum, without FCS
  std::memset(frame.data(), 0xff, 6);  // broadcast
  const uint8_t source[6] = {2, 0, 0, 0, 0, 0x55};
  std::memcpy(frame.data() + 6, source, sizeof(source));
  frame[12] = kTestEtherType >> 8;
  frame[13] = kTestEtherType & 0xff;
  std::memcpy(frame.data() + 14, marker.data(), marker.size());
  return frame;
}

bool HasMarker(const uint8_t* frame, size_t size) {
  return size >= 14 + kMarker.size() && frame[12] == (kTestEtherType >> 8) &&
         frame[13] == (kTestEtherType & 0xff) &&
         std::memcmp(frame + 14, kMarker.data(), kMarker.size()) == 0;
}

// An AF_PACKET socket on `index` that sees only test frames.
UniqueFd PacketSocket(int index) {
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kTestEtherType)));
  EXPECT_TRUE(fd.valid()) << std::strerror(errno);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(kTestEtherType);
  address.sll_ifindex = index;
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);
  return fd;
}

// Reads frames from `fd` for up to `timeout_ms` until one carries the
// marker after `skip` leading bytes (the TAP's virtio-net header).
bool ReceiveMarked(int fd, size_t skip, int timeout_ms) {
  uint8_t buffer[2048];
  for (int frames = 0; frames < 100; ++frames) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, timeout_ms) != 1) return false;
    const ssize_t size = ::read(fd, buffer, sizeof(buffer));
    if (size < 0) return false;
    if (static_cast<size_t>(size) > skip && HasMarker(buffer + skip, size - skip)) return true;
  }
  return false;
}

// Sends with `send` until a marked frame arrives on `fd`, for up to 5 s: a
// link just set up drops what it transmits until the kernel's linkwatch
// work has activated its qdisc, which happens asynchronously.
bool SendUntilReceived(const std::function<bool()>& send, int fd, size_t skip) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (!send()) return false;
    if (ReceiveMarked(fd, skip, 100)) return true;
  }
  return false;
}

TEST_F(TcMirrorTest, MirrorsAndRemoves) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    Result<Tap> tap = OpenTap("tap0");
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    const int tap_index = IndexOf(socket, "tap0");
    const Status mirror = MirrorLinks(socket, b, tap_index);
    ASSERT_TRUE(mirror.ok()) << mirror.message();

    Result<MirrorState> state = InspectMirror(socket, b);
    ASSERT_TRUE(state.ok()) << state.status().message();
    EXPECT_TRUE(state->ingress_qdisc);
    EXPECT_EQ(state->redirect_index, tap_index);
    state = InspectMirror(socket, tap_index);
    ASSERT_TRUE(state.ok()) << state.status().message();
    EXPECT_EQ(state->redirect_index, b);
    state = InspectMirror(socket, a);
    ASSERT_TRUE(state.ok()) << state.status().message();
    EXPECT_FALSE(state->ingress_qdisc);
    EXPECT_FALSE(state->redirect_index.has_value());

    // A second mirror fails without undoing the first.
    const Status again = MirrorLinks(socket, b, tap_index);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
    EXPECT_NE(again.message().find("RTM_NEWQDISC ingress on vb"), std::string::npos)
        << again.message();
    EXPECT_EQ(InspectMirror(socket, b)->redirect_index, tap_index);

    ASSERT_TRUE(RemoveMirror(socket, b).ok());
    ASSERT_TRUE(RemoveMirror(socket, tap_index).ok());
    for (const int index : {b, tap_index}) {
      state = InspectMirror(socket, index);
      ASSERT_TRUE(state.ok()) << state.status().message();
      EXPECT_FALSE(state->ingress_qdisc);
      EXPECT_FALSE(state->redirect_index.has_value());
    }
    EXPECT_FALSE(RemoveMirror(socket, b).ok());
  });
}

TEST_F(TcMirrorTest, FailedMirrorLeavesNothingBehind) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    const Status status = MirrorLinks(socket, a, 9999);  // no such peer
    EXPECT_FALSE(status.ok());
    EXPECT_FALSE(InspectMirror(socket, a)->ingress_qdisc);
    (void)b;
  });
}

// veth va <-> vb, vb mirrored to a TAP: a frame sent on va comes out of the
// TAP fd, and one written to the TAP fd arrives on va.
TEST_F(TcMirrorTest, PassesTrafficBothWays) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    Result<Tap> tap = OpenTap("tap0");
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    const int tap_index = IndexOf(socket, "tap0");
    for (const int index : {a, b, tap_index}) ASSERT_TRUE(SetLinkUp(socket, index).ok());
    ASSERT_TRUE(MirrorLinks(socket, b, tap_index).ok());
    const UniqueFd packet = PacketSocket(a);
    const std::vector<uint8_t> frame = TestFrame(kMarker);

    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = a;
    to.sll_halen = 6;
    const auto send_on_veth = [&] {
      const ssize_t sent = ::sendto(packet.get(), frame.data(), frame.size(), 0,
                                    reinterpret_cast<const sockaddr*>(&to), sizeof(to));
      EXPECT_EQ(sent, static_cast<ssize_t>(frame.size())) << std::strerror(errno);
      return sent == static_cast<ssize_t>(frame.size());
    };
    EXPECT_TRUE(SendUntilReceived(send_on_veth, tap->fd.get(), kVirtioNetHeaderSize))
        << "va -> TAP";

    // A zeroed virtio-net header: no checksum offload, no GSO.
    std::vector<uint8_t> with_header(kVirtioNetHeaderSize + frame.size(), 0);
    std::memcpy(with_header.data() + kVirtioNetHeaderSize, frame.data(), frame.size());
    const auto write_to_tap = [&] {
      const ssize_t written = ::write(tap->fd.get(), with_header.data(), with_header.size());
      EXPECT_EQ(written, static_cast<ssize_t>(with_header.size())) << std::strerror(errno);
      return written == static_cast<ssize_t>(with_header.size());
    };
    EXPECT_TRUE(SendUntilReceived(write_to_tap, packet.get(), 0)) << "TAP -> va";
  });
}

}  // namespace
}  // namespace sandbox::net
