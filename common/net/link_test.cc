// Links, addresses, routes and neighbours against the kernel, each test in a
// private network namespace.
#include "common/net/link.h"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>

#include "common/net/address.h"
#include "common/net/neighbour.h"
#include "common/net/netns_test_util.h"
#include "common/net/route.h"

namespace sandbox::net {
namespace {

using testing::PrivateNetnsTest;
using LinkTest = PrivateNetnsTest;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(LinkTest, CreatesAndChangesAVethPair) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    ASSERT_GT(a, 0);
    ASSERT_GT(b, 0);
    Result<LinkInfo> link = FindLink(socket, a);
    ASSERT_TRUE(link.ok()) << link.status().message();
    EXPECT_EQ(link->name, "va");
    EXPECT_EQ(link->kind, "veth");
    EXPECT_FALSE(link->up);
    EXPECT_EQ(link->mtu, 1500u);

    const MacAddress mac = *MacAddress::Parse("02:00:00:00:00:0a");
    ASSERT_TRUE(SetLinkMtu(socket, a, 9000).ok());
    ASSERT_TRUE(SetLinkMac(socket, a, mac).ok());
    ASSERT_TRUE(RenameLink(socket, a, "eth0").ok());
    ASSERT_TRUE(SetLinkUp(socket, a).ok());
    link = FindLinkByName(socket, "eth0");
    ASSERT_TRUE(link.ok()) << link.status().message();
    EXPECT_EQ(link->index, a);
    EXPECT_EQ(link->mtu, 9000u);
    EXPECT_EQ(link->mac, mac);
    EXPECT_TRUE(link->up);

    const Result<std::vector<LinkInfo>> links = ListLinks(socket);
    ASSERT_TRUE(links.ok()) << links.status().message();
    ASSERT_EQ(links->size(), 3u);  // lo, eth0, vb
    const auto lo =
        std::find_if(links->begin(), links->end(), [](const LinkInfo& l) { return l.loopback; });
    ASSERT_NE(lo, links->end());
    EXPECT_EQ(lo->name, "lo");
    EXPECT_EQ(lo->kind, "");

    ASSERT_TRUE(DeleteLink(socket, b).ok());  // takes its peer along
    EXPECT_EQ(FindLink(socket, a).status().code(), StatusCode::kNotFound);
  });
}

TEST_F(LinkTest, ErrorsNameTheOperationAndLink) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    const Status rename = RenameLink(socket, a, "vb");
    EXPECT_EQ(rename.code(), StatusCode::kAlreadyExists);
    EXPECT_TRUE(Contains(rename.message(), "RTM_NEWLINK name vb on va: File exists"))
        << rename.message();

    const Status mtu = SetLinkMtu(socket, 9999, 1400);
    EXPECT_EQ(mtu.code(), StatusCode::kNotFound);
    EXPECT_TRUE(Contains(mtu.message(), "RTM_NEWLINK mtu 1400 on ifindex 9999: No such device"))
        << mtu.message();
    EXPECT_EQ(FindLinkByName(socket, "missing0").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(CreateVethPair(socket, "va", "vc").code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(CreateVethPair(socket, "a-name-too-long0", "vc").code(),
              StatusCode::kInvalidArgument);
    const Status address = AddAddress(socket, 9999, *IpPrefix::Parse("10.0.0.2/24"));
    EXPECT_TRUE(Contains(address.message(), "RTM_NEWADDR 10.0.0.2/24 on ifindex 9999: "))
        << address.message();
    EXPECT_EQ(FindLink(socket, b)->name, "vb");
  });
}

TEST_F(LinkTest, AddsAndListsAddresses) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    const IpPrefix v4 = *IpPrefix::Parse("10.0.0.2/24");
    const IpPrefix v6 = *IpPrefix::Parse("fd00::2/64");
    const IpPrefix link_local = *IpPrefix::Parse("fe80::2/64");
    for (const IpPrefix& prefix : {v4, v6, link_local}) {
      const Status status = AddAddress(socket, a, prefix);
      ASSERT_TRUE(status.ok()) << status.message();
    }
    const Status twice = AddAddress(socket, a, v4);
    EXPECT_EQ(twice.code(), StatusCode::kAlreadyExists);
    EXPECT_TRUE(Contains(twice.message(), "RTM_NEWADDR 10.0.0.2/24 on va: File exists"))
        << twice.message();

    const Result<std::vector<AddressInfo>> addresses = ListAddresses(socket, a);
    ASSERT_TRUE(addresses.ok()) << addresses.status().message();
    ASSERT_EQ(addresses->size(), 3u);
    for (const AddressInfo& address : *addresses) {
      EXPECT_EQ(address.index, a);
      EXPECT_EQ(address.link_local, address.prefix == link_local) << address.prefix.ToString();
      EXPECT_TRUE(address.prefix == v4 || address.prefix == v6 || address.prefix == link_local)
          << address.prefix.ToString();
      if (address.prefix == link_local) {
        EXPECT_EQ(address.scope, RT_SCOPE_LINK);
      }
      if (address.prefix == v4) {
        EXPECT_EQ(address.scope, RT_SCOPE_UNIVERSE);
      }
    }
    EXPECT_TRUE(ListAddresses(socket, b)->empty());
    const Result<std::vector<AddressInfo>> all = ListAddresses(socket);
    ASSERT_TRUE(all.ok());
    EXPECT_GE(all->size(), 3u);
  });
}

const RouteInfo* FindRoute(const std::vector<RouteInfo>& routes, const std::string& destination) {
  for (const RouteInfo& route : routes) {
    if (route.destination.ToString() == destination) return &route;
  }
  return nullptr;
}

TEST_F(LinkTest, AddsAndListsRoutes) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    ASSERT_TRUE(SetLinkUp(socket, a).ok());
    ASSERT_TRUE(SetLinkUp(socket, b).ok());
    ASSERT_TRUE(AddAddress(socket, a, *IpPrefix::Parse("10.0.0.2/24")).ok());
    const IpAddress gateway = *IpAddress::Parse("10.0.0.1");
    const std::vector<RouteSpec> specs = {
        {*IpPrefix::Parse("0.0.0.0/0"), gateway, a, std::nullopt, false},
        {*IpPrefix::Parse("192.168.5.0/24"), std::nullopt, a, *IpAddress::Parse("10.0.0.2"), false},
        {*IpPrefix::Parse("172.16.0.0/16"), *IpAddress::Parse("169.254.1.1"), a, std::nullopt,
         true},
    };
    for (const RouteSpec& spec : specs) {
      const Status status = AddRoute(socket, spec);
      ASSERT_TRUE(status.ok()) << status.message();
    }
    const Status twice = AddRoute(socket, specs[0]);
    EXPECT_EQ(twice.code(), StatusCode::kAlreadyExists);
    EXPECT_TRUE(Contains(twice.message(), "RTM_NEWROUTE 0.0.0.0/0 via 10.0.0.1 on va: File exists"))
        << twice.message();
    EXPECT_EQ(
        AddRoute(socket, {*IpPrefix::Parse("10.1.0.0/16"), *IpAddress::Parse("fd00::1"), a}).code(),
        StatusCode::kInvalidArgument);

    const Result<std::vector<RouteInfo>> v4 = ListRoutes(socket, AF_INET);
    ASSERT_TRUE(v4.ok()) << v4.status().message();
    const RouteInfo* default_route = FindRoute(*v4, "0.0.0.0/0");
    ASSERT_NE(default_route, nullptr);
    EXPECT_EQ(default_route->gateway, gateway);
    EXPECT_EQ(default_route->output_index, a);
    EXPECT_EQ(default_route->scope, RT_SCOPE_UNIVERSE);
    EXPECT_EQ(default_route->protocol, RTPROT_BOOT);
    const RouteInfo* direct = FindRoute(*v4, "192.168.5.0/24");
    ASSERT_NE(direct, nullptr);
    EXPECT_FALSE(direct->gateway.has_value());
    EXPECT_EQ(direct->scope, RT_SCOPE_LINK);
    EXPECT_EQ(direct->source, IpAddress::Parse("10.0.0.2").value());
    ASSERT_NE(FindRoute(*v4, "172.16.0.0/16"), nullptr);
    const RouteInfo* connected = FindRoute(*v4, "10.0.0.0/24");  // added with the address
    ASSERT_NE(connected, nullptr);
    EXPECT_EQ(connected->protocol, RTPROT_KERNEL);
    EXPECT_EQ(FindRoute(*v4, "10.0.0.2/32"), nullptr);  // local table, not main
  });
}

TEST_F(LinkTest, AddsAndListsIpv6Routes) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    ASSERT_TRUE(SetLinkUp(socket, a).ok());
    ASSERT_TRUE(SetLinkUp(socket, b).ok());
    ASSERT_TRUE(AddAddress(socket, a, *IpPrefix::Parse("fd00::2/64")).ok());
    const Status status =
        AddRoute(socket, {*IpPrefix::Parse("::/0"), *IpAddress::Parse("fd00::1"), a});
    ASSERT_TRUE(status.ok()) << status.message();
    const Result<std::vector<RouteInfo>> v6 = ListRoutes(socket, AF_INET6);
    ASSERT_TRUE(v6.ok()) << v6.status().message();
    const RouteInfo* v6_default = FindRoute(*v6, "::/0");
    ASSERT_NE(v6_default, nullptr);
    EXPECT_EQ(v6_default->gateway, IpAddress::Parse("fd00::1").value());
    for (const RouteInfo& route : *v6) EXPECT_EQ(route.destination.address.family, AF_INET6);
  });
}

TEST_F(LinkTest, AddsPermanentNeighbours) {
  InNetns([](NetlinkSocket& socket) {
    const auto [a, b] = MakeVeth(socket, "va", "vb");
    const MacAddress mac = *MacAddress::Parse("02:00:00:00:00:01");
    const IpAddress v4 = *IpAddress::Parse("10.0.0.1");
    const IpAddress v6 = *IpAddress::Parse("fd00::1");
    ASSERT_TRUE(AddNeighbour(socket, a, v4, mac).ok());
    ASSERT_TRUE(AddNeighbour(socket, a, v4, mac).ok());  // replaces: no error
    ASSERT_TRUE(AddNeighbour(socket, a, v6, mac).ok());
    const Result<std::vector<NeighbourInfo>> neighbours = ListNeighbours(socket, a);
    ASSERT_TRUE(neighbours.ok()) << neighbours.status().message();
    ASSERT_EQ(neighbours->size(), 2u);
    for (const NeighbourInfo& neighbour : *neighbours) {
      EXPECT_TRUE(neighbour.address == v4 || neighbour.address == v6)
          << neighbour.address.ToString();
      EXPECT_EQ(neighbour.mac, mac);
      EXPECT_EQ(neighbour.state, NeighbourState::kPermanent);
      EXPECT_EQ(neighbour.index, a);
    }
    EXPECT_TRUE(ListNeighbours(socket, b)->empty());
    const Status missing = AddNeighbour(socket, 9999, v4, mac);
    EXPECT_TRUE(Contains(missing.message(),
                         "RTM_NEWNEIGH 10.0.0.1 lladdr 02:00:00:00:00:01 on ifindex 9999"))
        << missing.message();
  });
}

}  // namespace
}  // namespace sandbox::net
