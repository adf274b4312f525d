#include "common/net/tc_mirror.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/net/netns_test_util.h"
#include "common/net/tap.h"
#include "common/net/testing/test_frames.h"

namespace sandbox::net {
namespace {

using TcMirrorTest = testing::PrivateNetnsTest;
using testing::SendTestFrame;
using testing::SendUntilReceived;
using testing::TestFrame;
using testing::TestPacketSocket;

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
    const UniqueFd packet = TestPacketSocket(a);
    const std::vector<uint8_t> frame = TestFrame();

    const auto send_on_veth = [&packet, a = a] { return SendTestFrame(packet.get(), a); };
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
