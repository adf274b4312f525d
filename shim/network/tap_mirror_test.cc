#include "shim/network/tap_mirror.h"

#include <gtest/gtest.h>
#include <linux/if_tun.h>

#include "common/net/link.h"
#include "common/net/netns_test_util.h"
#include "common/net/tap.h"
#include "common/net/tc_mirror.h"
#include "common/net/testing/parked_netns.h"
#include "common/net/testing/test_frames.h"
#include "shim/network/pod_netns_test_util.h"
#include "shim/network/pod_network.h"

namespace sandbox::shim {
namespace {

using TapMirrorTest = net::testing::PrivateNetnsTest;
using testing::ExpectOk;
using testing::InNetnsAt;
using testing::LinkIndex;
using testing::MakePodVeth;

net::MirrorState Mirror(net::NetlinkSocket& socket, const std::string& name) {
  const Result<net::MirrorState> state = net::InspectMirror(socket, LinkIndex(socket, name));
  EXPECT_TRUE(state.ok()) << state.status().message();
  return state.value_or(net::MirrorState{});
}

bool LinkExists(net::NetlinkSocket& socket, const std::string& name) {
  const Result<net::LinkInfo> link = net::FindLinkByName(socket, name);
  EXPECT_TRUE(link.ok() || link.status().code() == StatusCode::kNotFound)
      << link.status().message();
  return link.ok();
}

// A pod namespace with eth0 (10.1.0.2/24, MTU 1400) whose peer is peer0,
// and its configuration as ReadPodNetworkIn gives it.
class PodNamespace {
 public:
  PodNamespace() {
    InNetnsAt(path(), [](net::NetlinkSocket& socket) {
      MakePodVeth(socket, "eth0", "peer0", 1400, "10.1.0.2/24");
    });
    Result<net::NetworkConfig> config = ReadPodNetworkIn(path());
    EXPECT_TRUE(config.ok()) << config.status().message();
    if (config.ok()) config_ = std::move(*config);
  }
  const std::string& path() const { return parked_.path(); }
  const net::NetworkConfig& config() const { return config_; }

 private:
  net::testing::ParkedNetns parked_;
  net::NetworkConfig config_;
};

TEST_F(TapMirrorTest, MirrorsTheInterfaceIntoATap) {
  PodNamespace pod;
  ASSERT_EQ(pod.config().interfaces.size(), 1u);
  Result<PodTaps> taps = MirrorPodNetwork(pod.path(), pod.config());
  ASSERT_TRUE(taps.ok()) << taps.status().message();
  ASSERT_EQ(taps->size(), 1u);
  const PodTap& tap = (*taps)[0];
  EXPECT_EQ(tap.tap_name, "sbxtap0");
  EXPECT_EQ(tap.interface.name, "eth0");
  const Result<unsigned> flags = net::TapFlags(tap.fd.get());
  ASSERT_TRUE(flags.ok()) << flags.status().message();
  EXPECT_NE(*flags & IFF_VNET_HDR, 0u);

  UniqueFd packet;
  int peer_index = 0;
  InNetnsAt(pod.path(), [&](net::NetlinkSocket& socket) {
    const Result<net::LinkInfo> link = net::FindLinkByName(socket, "sbxtap0");
    ASSERT_TRUE(link.ok()) << link.status().message();
    EXPECT_EQ(link->mtu, 1400u);
    EXPECT_TRUE(link->up);
    EXPECT_EQ(Mirror(socket, "eth0").redirect_index, link->index);
    EXPECT_EQ(Mirror(socket, "sbxtap0").redirect_index, LinkIndex(socket, "eth0"));
    peer_index = LinkIndex(socket, "peer0");
    packet = net::testing::TestPacketSocket(peer_index);
  });
  // What the pod's peer (the host side of a CNI veth) sends reaches the
  // VMM's fd, after the virtio-net header.
  const auto send = [&] { return net::testing::SendTestFrame(packet.get(), peer_index); };
  EXPECT_TRUE(net::testing::SendUntilReceived(send, tap.fd.get(), net::kVirtioNetHeaderSize));
}

TEST_F(TapMirrorTest, UnmirrorRemovesTheMirrorAndIsIdempotent) {
  PodNamespace pod;
  Result<PodTaps> taps = MirrorPodNetwork(pod.path(), pod.config());
  ASSERT_TRUE(taps.ok()) << taps.status().message();
  taps->clear();  // sandbox-vmm exited: the TAP is gone, eth0's side is not
  InNetnsAt(pod.path(), [](net::NetlinkSocket& socket) {
    EXPECT_FALSE(LinkExists(socket, "sbxtap0"));
    EXPECT_TRUE(Mirror(socket, "eth0").ingress_qdisc);
  });

  ExpectOk(UnmirrorPodNetwork(pod.path(), {"eth0"}));
  InNetnsAt(pod.path(), [](net::NetlinkSocket& socket) {
    const net::MirrorState state = Mirror(socket, "eth0");
    EXPECT_FALSE(state.ingress_qdisc);
    EXPECT_FALSE(state.redirect_index.has_value());
  });
  ExpectOk(UnmirrorPodNetwork(pod.path(), {"eth0"}));
  ExpectOk(UnmirrorPodNetwork(pod.path(), {"gone0", "eth0"}));
  ExpectOk(UnmirrorPodNetwork("/nonexistent/netns", {"eth0"}));
  // A file that is no namespace (a pod netns whose bind mount is gone).
  ExpectOk(UnmirrorPodNetwork("/proc/self/exe", {"eth0"}));
}

// sandbox-vmm died without its fd being closed (here: we still hold it).
TEST_F(TapMirrorTest, UnmirrorDeletesATapLeftBehind) {
  PodNamespace pod;
  Result<PodTaps> taps = MirrorPodNetwork(pod.path(), pod.config());
  ASSERT_TRUE(taps.ok()) << taps.status().message();
  ExpectOk(UnmirrorPodNetwork(pod.path(), {"eth0"}));
  InNetnsAt(pod.path(), [](net::NetlinkSocket& socket) {
    EXPECT_FALSE(LinkExists(socket, "sbxtap0"));
    EXPECT_FALSE(Mirror(socket, "eth0").ingress_qdisc);
  });
}

TEST_F(TapMirrorTest, UnmirrorLeavesSomeoneElsesIngressQdisc) {
  PodNamespace pod;
  net::Tap other;  // held open to the end of the test
  InNetnsAt(pod.path(), [&](net::NetlinkSocket& socket) {
    Result<net::Tap> opened = net::OpenTap("other0");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    other = std::move(*opened);
    ExpectOk(net::MirrorLinks(socket, LinkIndex(socket, "eth0"), LinkIndex(socket, "other0")));
  });
  ExpectOk(UnmirrorPodNetwork(pod.path(), {"eth0"}));
  InNetnsAt(pod.path(), [](net::NetlinkSocket& socket) {
    EXPECT_TRUE(LinkExists(socket, "other0"));
    EXPECT_EQ(Mirror(socket, "eth0").redirect_index, LinkIndex(socket, "other0"));
  });
}

TEST_F(TapMirrorTest, FailureMidwayLeavesNothingBehind) {
  PodNamespace pod;
  net::Tap squatter;  // as if a second sandbox held sbxtap1
  InNetnsAt(pod.path(), [&](net::NetlinkSocket& socket) {
    MakePodVeth(socket, "eth1", "peer1", 1500, "10.2.0.2/24");
    Result<net::Tap> opened = net::OpenTap("sbxtap1");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    squatter = std::move(*opened);
  });
  const Result<net::NetworkConfig> config = ReadPodNetworkIn(pod.path());
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->interfaces.size(), 2u);

  const Result<PodTaps> taps = MirrorPodNetwork(pod.path(), *config);
  ASSERT_FALSE(taps.ok());
  EXPECT_EQ(taps.status().code(), StatusCode::kAlreadyExists);
  const std::string& message = taps.status().message();
  EXPECT_NE(message.find(pod.path()), std::string::npos) << message;
  EXPECT_NE(message.find("interface eth1 -> TAP sbxtap1"), std::string::npos) << message;
  InNetnsAt(pod.path(), [](net::NetlinkSocket& socket) {
    EXPECT_FALSE(LinkExists(socket, "sbxtap0"));
    EXPECT_FALSE(Mirror(socket, "eth0").ingress_qdisc);
    EXPECT_FALSE(Mirror(socket, "eth1").ingress_qdisc);
  });
}

TEST(TapMirror, MissingNamespaceIsNamed) {
  const Result<PodTaps> taps = MirrorPodNetwork("/nonexistent/netns", net::NetworkConfig{});
  ASSERT_FALSE(taps.ok());
  EXPECT_EQ(taps.status().code(), StatusCode::kNotFound);
  EXPECT_NE(taps.status().message().find("/nonexistent/netns"), std::string::npos)
      << taps.status().message();
}

TEST(TapMirror, TapNames) {
  EXPECT_EQ(PodTapName(0), "sbxtap0");
  EXPECT_EQ(PodTapName(12), "sbxtap12");
}

}  // namespace
}  // namespace sandbox::shim
