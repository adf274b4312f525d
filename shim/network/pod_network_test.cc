#include "shim/network/pod_network.h"

#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "common/net/address.h"
#include "common/net/link.h"
#include "common/net/neighbour.h"
#include "common/net/netns_test_util.h"
#include "common/net/route.h"
#include "common/net/tap.h"
#include "common/net/testing/parked_netns.h"
#include "shim/network/pod_netns_test_util.h"

namespace sandbox::shim {
namespace {

using PodNetworkTest = net::testing::PrivateNetnsTest;
using testing::ExpectOk;

net::IpPrefix Prefix(std::string_view text) {
  const Result<net::IpPrefix> prefix = net::IpPrefix::Parse(text);
  EXPECT_TRUE(prefix.ok()) << text;
  return prefix.value_or(net::IpPrefix{});
}

net::IpAddress Address(std::string_view text) {
  const Result<net::IpAddress> address = net::IpAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.value_or(net::IpAddress{});
}

net::MacAddress Mac(std::string_view text) {
  const Result<net::MacAddress> mac = net::MacAddress::Parse(text);
  EXPECT_TRUE(mac.ok()) << text;
  return mac.value_or(net::MacAddress{});
}

const net::RouteConfig* FindRoute(const net::NetworkConfig& config, std::string_view destination) {
  for (const net::RouteConfig& route : config.routes) {
    if (route.destination == Prefix(destination)) return &route;
  }
  return nullptr;
}

// A link of `kind` with no further attributes ("bridge", "dummy"), which
// common/net has no call for.
Status CreateLink(net::NetlinkSocket& socket, std::string_view name, std::string_view kind) {
  net::NetlinkMessage request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  request.AppendHeader(ifinfomsg{});
  request.AddString(IFLA_IFNAME, name);
  const size_t link_info = request.BeginNested(IFLA_LINKINFO);
  request.AddString(IFLA_INFO_KIND, kind);
  request.EndNested(link_info);
  return socket.Request(request, "RTM_NEWLINK " + std::string(kind) + " " + std::string(name));
}

// eth0 as a CNI plugin leaves it: v4 and v6 addresses, a default route via
// a gateway on its subnet, Calico-style routes via a scope-link 169.254.1.1,
// an onlink route and a permanent neighbour. Its peer has no address.
void ConfigurePodVeth(net::NetlinkSocket& socket) {
  const auto [eth0, peer0] = testing::MakePodVeth(socket, "eth0", "peer0", 1400, "10.1.0.2/24");
  ExpectOk(net::SetLinkMac(socket, eth0, Mac("02:00:00:00:00:01")));
  ExpectOk(net::AddAddress(socket, eth0, Prefix("fd00::2/64")));
  // The kernel adds one from the MAC too, but not necessarily at once.
  ExpectOk(net::AddAddress(socket, eth0, Prefix("fe80::5/64")));
  ExpectOk(net::AddRoute(socket, {Prefix("0.0.0.0/0"), Address("10.1.0.1"), eth0}));
  ExpectOk(net::AddRoute(socket, {Prefix("169.254.1.1/32"), std::nullopt, eth0}));
  ExpectOk(net::AddRoute(socket, {Prefix("10.2.0.0/16"), Address("169.254.1.1"), eth0}));
  ExpectOk(net::AddRoute(socket, {Prefix("10.3.0.0/16"), Address("192.168.77.1"), eth0,
                                  std::nullopt, /*onlink=*/true}));
  ExpectOk(net::AddRoute(socket, {Prefix("::/0"), Address("fd00::1"), eth0}));
  ExpectOk(net::AddNeighbour(socket, eth0, Address("10.1.0.1"), Mac("02:00:00:00:00:fe")));
  // On the interface without an address: not taken, so neither is this.
  ExpectOk(net::AddRoute(socket, {Prefix("10.9.0.0/16"), std::nullopt, peer0}));
}

void ExpectGatewayRoute(const net::NetworkConfig& config, std::string_view destination,
                        std::string_view gateway, bool onlink) {
  const net::RouteConfig* route = FindRoute(config, destination);
  ASSERT_NE(route, nullptr) << destination;
  EXPECT_EQ(route->gateway, Address(gateway)) << destination;
  EXPECT_EQ(route->device, "eth0") << destination;
  EXPECT_EQ(route->onlink, onlink) << destination;
}

TEST_F(PodNetworkTest, ReadsWhatTheCniPluginConfigured) {
  InNetns([](net::NetlinkSocket& socket) {
    ConfigurePodVeth(socket);
    const Result<net::NetworkConfig> config = ReadPodNetwork(socket);
    ASSERT_TRUE(config.ok()) << config.status().message();

    ASSERT_EQ(config->interfaces.size(), 1u);
    const net::InterfaceConfig& eth0 = config->interfaces[0];
    EXPECT_EQ(eth0.name, "eth0");
    EXPECT_EQ(eth0.mac, Mac("02:00:00:00:00:01"));
    EXPECT_EQ(eth0.mtu, 1400u);
    // fe80::5 is left out: the guest kernel makes its own from the MAC.
    EXPECT_EQ(eth0.addresses,
              (std::vector<net::IpPrefix>{Prefix("10.1.0.2/24"), Prefix("fd00::2/64")}));

    // The connected routes (10.1.0.0/24, fd00::/64, fe80::/64) are the
    // guest kernel's to make; 10.9.0.0/16 is on the skipped peer0.
    ASSERT_EQ(config->routes.size(), 5u);
    const net::RouteConfig& first = config->routes[0];
    EXPECT_EQ(first.destination, Prefix("169.254.1.1/32"));
    EXPECT_FALSE(first.gateway.has_value());
    EXPECT_EQ(first.device, "eth0");
    ExpectGatewayRoute(*config, "0.0.0.0/0", "10.1.0.1", /*onlink=*/false);
    ExpectGatewayRoute(*config, "10.2.0.0/16", "169.254.1.1", /*onlink=*/false);
    ExpectGatewayRoute(*config, "10.3.0.0/16", "192.168.77.1", /*onlink=*/true);
    ExpectGatewayRoute(*config, "::/0", "fd00::1", /*onlink=*/false);

    ASSERT_EQ(config->neighbours.size(), 1u);
    EXPECT_EQ(config->neighbours[0].address, Address("10.1.0.1"));
    EXPECT_EQ(config->neighbours[0].mac, Mac("02:00:00:00:00:fe"));
    EXPECT_EQ(config->neighbours[0].device, "eth0");
  });
}

TEST_F(PodNetworkTest, SkipsLoopbackAndInterfacesWithoutAddresses) {
  InNetns([](net::NetlinkSocket& socket) {
    ExpectOk(net::SetLinkUp(socket, IndexOf(socket, "lo")));  // 127.0.0.1, ::1
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    // Up, so the kernel may give them fe80:: addresses, which do not count.
    ExpectOk(net::SetLinkUp(socket, a));
    ExpectOk(net::SetLinkUp(socket, b));
    ExpectOk(net::AddRoute(socket, {Prefix("10.9.0.0/16"), std::nullopt, a}));
    const Result<net::NetworkConfig> config = ReadPodNetwork(socket);
    ASSERT_TRUE(config.ok()) << config.status().message();
    EXPECT_TRUE(config->interfaces.empty());
    EXPECT_TRUE(config->routes.empty());
    EXPECT_TRUE(config->neighbours.empty());
  });
}

TEST_F(PodNetworkTest, TakesATapWithAnAddress) {
  InNetns([](net::NetlinkSocket& socket) {
    Result<net::Tap> tap = net::OpenTap("cnitap0", 1300);
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    ExpectOk(net::AddAddress(socket, IndexOf(socket, "cnitap0"), Prefix("10.4.0.2/24")));
    const Result<net::NetworkConfig> config = ReadPodNetwork(socket);
    ASSERT_TRUE(config.ok()) << config.status().message();
    ASSERT_EQ(config->interfaces.size(), 1u);
    EXPECT_EQ(config->interfaces[0].name, "cnitap0");
    EXPECT_EQ(config->interfaces[0].mtu, 1300u);
  });
}

TEST_F(PodNetworkTest, RefusesAnAddressOnAnUnsupportedKind) {
  InNetns([](net::NetlinkSocket& socket) {
    const Status created = CreateLink(socket, "br0", "bridge");
    if (!created.ok()) GTEST_SKIP() << "no bridge support in this kernel: " << created.message();
    // Without an address it is not the pod's network: skipped.
    Result<net::NetworkConfig> config = ReadPodNetwork(socket);
    ASSERT_TRUE(config.ok()) << config.status().message();
    EXPECT_TRUE(config->interfaces.empty());

    ExpectOk(net::AddAddress(socket, IndexOf(socket, "br0"), Prefix("10.5.0.1/24")));
    config = ReadPodNetwork(socket);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find("pod interface br0"), std::string::npos)
        << config.status().message();
    EXPECT_NE(config.status().message().find("kind bridge"), std::string::npos)
        << config.status().message();
  });
}

TEST_F(PodNetworkTest, ReadsInANamespaceByPath) {
  net::testing::ParkedNetns parked;
  ASSERT_TRUE(parked.status().ok()) << parked.status().message();
  testing::InNetnsAt(parked.path(), ConfigurePodVeth);
  const Result<net::NetworkConfig> config = ReadPodNetworkIn(parked.path());
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->interfaces.size(), 1u);
  EXPECT_EQ(config->interfaces[0].name, "eth0");
  EXPECT_EQ(config->routes.size(), 5u);
}

TEST(PodNetwork, MissingNamespaceIsNamed) {
  const Result<net::NetworkConfig> config = ReadPodNetworkIn("/nonexistent/netns");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(config.status().message(),
            "reading the pod network in /nonexistent/netns: open /nonexistent/netns: No such "
            "file or directory");
}

TEST(PodNetwork, PrefixContains) {
  EXPECT_TRUE(PrefixContains(Prefix("10.1.0.2/24"), Address("10.1.0.200")));
  EXPECT_FALSE(PrefixContains(Prefix("10.1.0.2/24"), Address("10.1.1.1")));
  EXPECT_TRUE(PrefixContains(Prefix("10.16.0.0/12"), Address("10.31.255.255")));
  EXPECT_FALSE(PrefixContains(Prefix("10.16.0.0/12"), Address("10.32.0.0")));
  EXPECT_TRUE(PrefixContains(Prefix("0.0.0.0/0"), Address("192.0.2.1")));
  EXPECT_FALSE(PrefixContains(Prefix("0.0.0.0/0"), Address("fd00::1")));
  EXPECT_TRUE(PrefixContains(Prefix("169.254.1.1/32"), Address("169.254.1.1")));
  EXPECT_TRUE(PrefixContains(Prefix("fd00::2/64"), Address("fd00::ffff:1")));
  EXPECT_FALSE(PrefixContains(Prefix("fd00::2/64"), Address("fd00:0:0:1::1")));
}

}  // namespace
}  // namespace sandbox::shim
