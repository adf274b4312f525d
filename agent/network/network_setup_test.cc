// ApplyNetworkConfig against the kernel, each test in a private network
// namespace: a veth end stands in for the guest's virtio NIC.
#include "agent/network/network_setup.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/net/address.h"
#include "common/net/link.h"
#include "common/net/neighbour.h"
#include "common/net/netns_test_util.h"
#include "common/net/route.h"

namespace sandbox::agent {
namespace {

using net::NetlinkSocket;

class NetworkSetupTest : public net::testing::PrivateNetnsTest {
 protected:
  // A veth pair `name` <-> `name`-p, the peer up, `name` down with `mac`:
  // the guest NIC as the kernel probed it. Returns `name`'s index.
  static int MakeNic(NetlinkSocket& socket, const std::string& name, const char* mac) {
    const auto [nic, peer] = MakeVeth(socket, name, name + "-p");
    EXPECT_TRUE(net::SetLinkMac(socket, nic, net::MacAddress::Parse(mac).value()).ok());
    EXPECT_TRUE(net::SetLinkUp(socket, peer).ok());  // carrier for the NIC
    return nic;
  }
};

constexpr char kGuestMac[] = "02:00:00:00:01:01";
constexpr char kGatewayMac[] = "ee:ee:ee:ee:ee:ee";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

net::IpAddress Ip(const char* text) { return net::IpAddress::Parse(text).value(); }
net::IpPrefix Prefix(const char* text) { return net::IpPrefix::Parse(text).value(); }
net::MacAddress Mac(const char* text) { return net::MacAddress::Parse(text).value(); }

net::InterfaceConfig Interface(const char* name, const char* mac) {
  return {.name = name, .mac = Mac(mac), .mtu = 1500, .addresses = {}};
}

// eth0: 10.1.2.3/24 and fd00::3/64, MTU 1400; a default route through
// 10.1.2.1 (a permanent neighbour), an onlink route through 169.254.1.1 and
// an IPv6 default route.
net::NetworkConfig PodConfig() {
  net::NetworkConfig config;
  net::InterfaceConfig eth0 = Interface("eth0", kGuestMac);
  eth0.mtu = 1400;
  eth0.addresses = {Prefix("10.1.2.3/24"), Prefix("fd00::3/64")};
  config.interfaces = {eth0};
  config.routes.push_back(
      {.destination = Prefix("0.0.0.0/0"), .gateway = Ip("10.1.2.1"), .device = "eth0"});
  config.routes.push_back({.destination = Prefix("10.20.0.0/16"),
                           .gateway = Ip("169.254.1.1"),
                           .device = "eth0",
                           .onlink = true});
  config.routes.push_back(
      {.destination = Prefix("::/0"), .gateway = Ip("fd00::1"), .device = "eth0"});
  config.neighbours.push_back(
      {.address = Ip("10.1.2.1"), .mac = Mac(kGatewayMac), .device = "eth0"});
  return config;
}

const net::RouteInfo* FindRoute(const std::vector<net::RouteInfo>& routes,
                                const char* destination) {
  auto it = std::find_if(routes.begin(), routes.end(), [&](const net::RouteInfo& route) {
    return route.destination == Prefix(destination);
  });
  return it == routes.end() ? nullptr : &*it;
}

TEST_F(NetworkSetupTest, ConfiguresTheNicFoundByMac) {
  InNetns([](NetlinkSocket& socket) {
    const int nic = MakeNic(socket, "guest0", kGuestMac);
    ASSERT_GT(nic, 0);
    const Status applied = ApplyNetworkConfig(socket, PodConfig());
    ASSERT_TRUE(applied.ok()) << applied.ToString();

    Result<net::LinkInfo> link = net::FindLinkByName(socket, "eth0");
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    EXPECT_EQ(link->index, nic);
    EXPECT_EQ(link->mtu, 1400u);
    EXPECT_TRUE(link->up);
    EXPECT_EQ(link->mac, Mac(kGuestMac));
    EXPECT_EQ(net::FindLinkByName(socket, "guest0").status().code(), StatusCode::kNotFound);

    Result<std::vector<net::AddressInfo>> addresses = net::ListAddresses(socket, nic);
    ASSERT_TRUE(addresses.ok()) << addresses.status().ToString();
    auto has_address = [&](const char* prefix) {
      return std::any_of(
          addresses->begin(), addresses->end(),
          [&](const net::AddressInfo& address) { return address.prefix == Prefix(prefix); });
    };
    EXPECT_TRUE(has_address("10.1.2.3/24"));
    EXPECT_TRUE(has_address("fd00::3/64"));

    Result<std::vector<net::RouteInfo>> routes = net::ListRoutes(socket, AF_INET);
    ASSERT_TRUE(routes.ok()) << routes.status().ToString();
    const net::RouteInfo* default_route = FindRoute(*routes, "0.0.0.0/0");
    ASSERT_NE(default_route, nullptr);
    EXPECT_EQ(default_route->gateway, Ip("10.1.2.1"));
    EXPECT_EQ(default_route->output_index, nic);
    const net::RouteInfo* onlink_route = FindRoute(*routes, "10.20.0.0/16");
    ASSERT_NE(onlink_route, nullptr);
    EXPECT_EQ(onlink_route->gateway, Ip("169.254.1.1"));
    EXPECT_EQ(onlink_route->output_index, nic);
    Result<std::vector<net::RouteInfo>> routes6 = net::ListRoutes(socket, AF_INET6);
    ASSERT_TRUE(routes6.ok()) << routes6.status().ToString();
    const net::RouteInfo* default6 = FindRoute(*routes6, "::/0");
    ASSERT_NE(default6, nullptr);
    EXPECT_EQ(default6->gateway, Ip("fd00::1"));

    Result<std::vector<net::NeighbourInfo>> neighbours = net::ListNeighbours(socket, nic);
    ASSERT_TRUE(neighbours.ok()) << neighbours.status().ToString();
    auto gateway =
        std::find_if(neighbours->begin(), neighbours->end(),
                     [](const net::NeighbourInfo& n) { return n.address == Ip("10.1.2.1"); });
    ASSERT_NE(gateway, neighbours->end());
    EXPECT_EQ(gateway->mac, Mac(kGatewayMac));
    EXPECT_EQ(gateway->state, net::NeighbourState::kPermanent);
  });
}

TEST_F(NetworkSetupTest, AMacWithNoLinkIsAnErrorNamingIt) {
  InNetns([](NetlinkSocket& socket) {
    ASSERT_GT(MakeNic(socket, "guest0", kGuestMac), 0);
    net::NetworkConfig config = PodConfig();
    config.interfaces[0].mac = Mac("02:00:00:00:09:09");
    const Status applied = ApplyNetworkConfig(socket, config);
    ASSERT_FALSE(applied.ok());
    EXPECT_EQ(applied.code(), StatusCode::kNotFound);
    EXPECT_TRUE(Contains(applied.message(), "interface eth0 (MAC 02:00:00:00:09:09)"))
        << applied.message();
    EXPECT_TRUE(Contains(applied.message(), "guest0 " + std::string(kGuestMac)))
        << applied.message();
    // Nothing changed.
    EXPECT_TRUE(net::FindLinkByName(socket, "guest0").ok());
  });
}

// A VM restored from a template: its NIC still has the template's MAC, by
// which it is found, and takes the pod's.
TEST_F(NetworkSetupTest, ARestoredNicIsFoundByItsGuestMacAndGivenThePodsMac) {
  InNetns([](NetlinkSocket& socket) {
    constexpr char kTemplateMac[] = "02:5a:00:00:00:01";
    const int nic = MakeNic(socket, "guest0", kTemplateMac);
    ASSERT_GT(nic, 0);
    net::NetworkConfig config = PodConfig();
    config.interfaces[0].guest_mac = Mac(kTemplateMac);
    const Status applied = ApplyNetworkConfig(socket, config);
    ASSERT_TRUE(applied.ok()) << applied.ToString();
    Result<net::LinkInfo> link = net::FindLinkByName(socket, "eth0");
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    EXPECT_EQ(link->index, nic);
    EXPECT_EQ(link->mac, Mac(kGuestMac));
    EXPECT_TRUE(link->up);
  });
}

TEST_F(NetworkSetupTest, AGuestMacWithNoLinkIsAnErrorNamingBothMacs) {
  InNetns([](NetlinkSocket& socket) {
    ASSERT_GT(MakeNic(socket, "guest0", kGuestMac), 0);
    net::NetworkConfig config = PodConfig();
    config.interfaces[0].guest_mac = Mac("02:5a:00:00:00:07");
    const Status applied = ApplyNetworkConfig(socket, config);
    ASSERT_FALSE(applied.ok());
    EXPECT_EQ(applied.code(), StatusCode::kNotFound);
    EXPECT_TRUE(Contains(applied.message(), "interface eth0 (MAC " + std::string(kGuestMac) +
                                                ", in the guest still 02:5a:00:00:00:07)"))
        << applied.message();
    EXPECT_TRUE(net::FindLinkByName(socket, "guest0").ok());
  });
}

TEST_F(NetworkSetupTest, ANameTakenByAnotherLinkIsAnErrorNamingBoth) {
  InNetns([](NetlinkSocket& socket) {
    ASSERT_GT(MakeNic(socket, "guest0", kGuestMac), 0);
    ASSERT_GT(MakeNic(socket, "eth0", "02:00:00:00:02:02"), 0);  // not configured
    const Status applied = ApplyNetworkConfig(socket, PodConfig());
    ASSERT_FALSE(applied.ok());
    EXPECT_EQ(applied.code(), StatusCode::kAlreadyExists);
    EXPECT_TRUE(Contains(applied.message(),
                         "interface eth0 (MAC " + std::string(kGuestMac) + ") is link guest0"))
        << applied.message();
    EXPECT_TRUE(Contains(applied.message(), "link eth0 (ifindex")) << applied.message();
    EXPECT_TRUE(Contains(applied.message(), "already has the name eth0")) << applied.message();
  });
}

// The guest probed the NICs in another order than the host's: their names
// are swapped through temporary ones.
TEST_F(NetworkSetupTest, SwapsNamesOfConfiguredNics) {
  InNetns([](NetlinkSocket& socket) {
    const int first = MakeNic(socket, "eth1", "02:00:00:00:00:01");
    const int second = MakeNic(socket, "eth0", "02:00:00:00:00:02");
    net::NetworkConfig config;
    config.interfaces = {Interface("eth0", "02:00:00:00:00:01"),
                         Interface("eth1", "02:00:00:00:00:02")};
    const Status applied = ApplyNetworkConfig(socket, config);
    ASSERT_TRUE(applied.ok()) << applied.ToString();
    EXPECT_EQ(IndexOf(socket, "eth0"), first);
    EXPECT_EQ(IndexOf(socket, "eth1"), second);
  });
}

TEST_F(NetworkSetupTest, AnUnknownRouteDeviceChangesNothing) {
  InNetns([](NetlinkSocket& socket) {
    ASSERT_GT(MakeNic(socket, "guest0", kGuestMac), 0);
    net::NetworkConfig config = PodConfig();
    config.routes[1].device = "eth9";
    const Status applied = ApplyNetworkConfig(socket, config);
    EXPECT_EQ(applied.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(applied.message(),
                         "network.routes[1]: device \"eth9\" is not one of the interfaces"))
        << applied.message();
    EXPECT_TRUE(net::FindLinkByName(socket, "guest0").ok());
  });
}

// A route the kernel refuses stops the apply there, naming the route; what
// came before it stays applied.
TEST_F(NetworkSetupTest, AFailedRouteIsTheErrorAndStopsTheApply) {
  InNetns([](NetlinkSocket& socket) {
    const int nic = MakeNic(socket, "guest0", kGuestMac);
    net::NetworkConfig config = PodConfig();
    // 192.0.2.1 is not on eth0's network, and the route is not onlink.
    config.routes[1] = {
        .destination = Prefix("10.30.0.0/16"), .gateway = Ip("192.0.2.1"), .device = "eth0"};
    const Status applied = ApplyNetworkConfig(socket, config);
    ASSERT_FALSE(applied.ok());
    EXPECT_TRUE(Contains(applied.message(),
                         "network.routes[1]: RTM_NEWROUTE 10.30.0.0/16 via 192.0.2.1 on eth0"))
        << applied.message();
    Result<std::vector<net::RouteInfo>> routes = net::ListRoutes(socket, AF_INET);
    ASSERT_TRUE(routes.ok());
    EXPECT_NE(FindRoute(*routes, "0.0.0.0/0"), nullptr);  // routes[0]
    EXPECT_EQ(FindRoute(*routes, "10.30.0.0/16"), nullptr);
    Result<std::vector<net::NeighbourInfo>> neighbours = net::ListNeighbours(socket, nic);
    ASSERT_TRUE(neighbours.ok());
    EXPECT_FALSE(std::any_of(
        neighbours->begin(), neighbours->end(),
        [](const net::NeighbourInfo& n) { return n.state == net::NeighbourState::kPermanent; }));
  });
}

}  // namespace
}  // namespace sandbox::agent
