#include "common/net/tap.h"

#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include "common/net/netns_test_util.h"

namespace sandbox::net {
namespace {

using TapTest = testing::PrivateNetnsTest;

TEST_F(TapTest, OpensAVnetHeaderTapWithTheKernelsName) {
  InNetns([](NetlinkSocket& socket) {
    Result<Tap> tap = OpenTap("", 1400);
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    EXPECT_EQ(tap->name.rfind("tap", 0), 0u) << tap->name;
    const Result<unsigned> flags = TapFlags(tap->fd.get());
    ASSERT_TRUE(flags.ok()) << flags.status().message();
    EXPECT_NE(*flags & IFF_TAP, 0u);
    EXPECT_NE(*flags & IFF_NO_PI, 0u);
    EXPECT_NE(*flags & IFF_VNET_HDR, 0u);
    int header_size = 0;
    ASSERT_EQ(::ioctl(tap->fd.get(), TUNGETVNETHDRSZ, &header_size), 0);
    EXPECT_EQ(header_size, kVirtioNetHeaderSize);
    EXPECT_TRUE(TapSetOffload(tap->fd.get(), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6).ok());

    const Result<LinkInfo> link = FindLinkByName(socket, tap->name);
    ASSERT_TRUE(link.ok()) << link.status().message();
    EXPECT_EQ(link->kind, "tun");
    EXPECT_EQ(link->mtu, 1400u);

    // The interface lives as long as the fd.
    tap->fd.Reset();
    EXPECT_EQ(FindLinkByName(socket, tap->name).status().code(), StatusCode::kNotFound);
  });
}

TEST_F(TapTest, UsesTheGivenNameAndRejectsLongOnes) {
  InNetns([](NetlinkSocket&) {
    const Result<Tap> tap = OpenTap("tap-vm0");
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    EXPECT_EQ(tap->name, "tap-vm0");
    // A second TAP of that name would share the device: a different mode
    // (no IFF_MULTI_QUEUE) is refused.
    EXPECT_FALSE(OpenTap("tap-vm0").ok());
    EXPECT_EQ(OpenTap("a-name-too-long-for-linux").status().code(), StatusCode::kInvalidArgument);
  });
}

}  // namespace
}  // namespace sandbox::net
