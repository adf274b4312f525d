#include "proto/network_config_convert.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace sandbox::agent {
namespace {

net::NetworkConfig SampleConfig() {
  net::NetworkConfig config;
  net::InterfaceConfig eth0;
  eth0.name = "eth0";
  eth0.mac = net::MacAddress::Parse("02:42:ac:11:00:02").value();
  eth0.mtu = 1400;
  eth0.addresses = {net::IpPrefix::Parse("10.1.2.3/24").value(),
                    net::IpPrefix::Parse("fd00::3/64").value()};
  net::InterfaceConfig eth1;
  eth1.name = "eth1";
  eth1.mac = net::MacAddress::Parse("02:42:ac:11:00:03").value();
  config.interfaces = {eth0, eth1};
  config.routes.push_back(
      {.destination = net::IpPrefix::Parse("169.254.1.1/32").value(), .device = "eth0"});
  config.routes.push_back({.destination = net::IpPrefix::Parse("0.0.0.0/0").value(),
                           .gateway = net::IpAddress::Parse("169.254.1.1").value(),
                           .device = "eth0",
                           .source = net::IpAddress::Parse("10.1.2.3").value(),
                           .onlink = true});
  config.routes.push_back({.destination = net::IpPrefix::Parse("::/0").value(),
                           .gateway = net::IpAddress::Parse("fd00::1").value(),
                           .device = "eth1"});
  config.neighbours.push_back({.address = net::IpAddress::Parse("169.254.1.1").value(),
                               .mac = net::MacAddress::Parse("ee:ee:ee:ee:ee:ee").value(),
                               .device = "eth0"});
  return config;
}

bool SameConfig(const net::NetworkConfig& a, const net::NetworkConfig& b) {
  if (a.interfaces.size() != b.interfaces.size() || a.routes.size() != b.routes.size() ||
      a.neighbours.size() != b.neighbours.size()) {
    return false;
  }
  for (size_t i = 0; i < a.interfaces.size(); ++i) {
    const net::InterfaceConfig& x = a.interfaces[i];
    const net::InterfaceConfig& y = b.interfaces[i];
    if (x.name != y.name || x.mac != y.mac || x.guest_mac != y.guest_mac || x.mtu != y.mtu ||
        x.addresses != y.addresses)
      return false;
  }
  for (size_t i = 0; i < a.routes.size(); ++i) {
    const net::RouteConfig& x = a.routes[i];
    const net::RouteConfig& y = b.routes[i];
    if (x.destination != y.destination || x.gateway != y.gateway || x.device != y.device ||
        x.source != y.source || x.onlink != y.onlink) {
      return false;
    }
  }
  for (size_t i = 0; i < a.neighbours.size(); ++i) {
    const net::NeighbourConfig& x = a.neighbours[i];
    const net::NeighbourConfig& y = b.neighbours[i];
    if (x.address != y.address || x.mac != y.mac || x.device != y.device) return false;
  }
  return true;
}

TEST(NetworkConfigConvert, RoundTrips) {
  const net::NetworkConfig config = SampleConfig();
  const v1::NetworkConfig message = ToProto(config);
  ASSERT_EQ(message.interfaces_size(), 2);
  EXPECT_EQ(message.interfaces(0).mac(), "02:42:ac:11:00:02");
  EXPECT_EQ(message.interfaces(0).addresses(1), "fd00::3/64");
  EXPECT_EQ(message.routes(0).gateway(), "");
  EXPECT_EQ(message.routes(1).destination(), "0.0.0.0/0");
  // Through the wire format, as the agent receives it.
  v1::NetworkConfig received;
  ASSERT_TRUE(received.ParseFromString(message.SerializeAsString()));
  const Result<net::NetworkConfig> back = FromProto(received);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameConfig(config, *back));
}

TEST(NetworkConfigConvert, GuestMacRoundTripsAndIsLeftOutWhenUnset) {
  net::NetworkConfig config = SampleConfig();
  config.interfaces[1].guest_mac = net::MacAddress::Parse("02:5a:00:00:00:02").value();
  const v1::NetworkConfig message = ToProto(config);
  EXPECT_EQ(message.interfaces(0).guest_mac(), "");
  EXPECT_EQ(message.interfaces(1).guest_mac(), "02:5a:00:00:00:02");
  const Result<net::NetworkConfig> back = FromProto(message);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->interfaces[0].guest_mac.has_value());
  EXPECT_TRUE(SameConfig(config, *back));
}

TEST(NetworkConfigConvert, EmptyConfigIsValid) {
  const Result<net::NetworkConfig> back = FromProto(v1::NetworkConfig());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->interfaces.empty());
}

struct BadInput {
  std::string what;
  std::function<void(v1::NetworkConfig&)> spoil;
  std::string error;  // the message FromProto must start with
};

std::vector<BadInput> BadInputs() {
  return {
      {"bad MAC", [](auto& c) { c.mutable_interfaces(0)->set_mac("zz"); },
       "network.interfaces[0].mac: \"zz\" is not a MAC address"},
      {"multicast MAC", [](auto& c) { c.mutable_interfaces(1)->set_mac("01:00:5e:00:00:01"); },
       "network.interfaces[1].mac: \"01:00:5e:00:00:01\" is a multicast address"},
      {"duplicate MAC", [](auto& c) { c.mutable_interfaces(1)->set_mac("02:42:ac:11:00:02"); },
       "network.interfaces[1].mac: \"02:42:ac:11:00:02\" is also network.interfaces[0]'s MAC"},
      {"bad guest MAC", [](auto& c) { c.mutable_interfaces(0)->set_guest_mac("02:00"); },
       "network.interfaces[0].guest_mac: \"02:00\" is not a MAC address"},
      {"multicast guest MAC", [](auto& c) { c.mutable_interfaces(0)->set_guest_mac("03:00:00:00:00:01"); },
       "network.interfaces[0].guest_mac: \"03:00:00:00:00:01\" is a multicast address"},
      {"duplicate guest MAC",
       [](auto& c) {
         c.mutable_interfaces(0)->set_guest_mac("02:5a:00:00:00:01");
         c.mutable_interfaces(1)->set_guest_mac("02:5a:00:00:00:01");
       },
       "network.interfaces[1].guest_mac: \"02:5a:00:00:00:01\" is also network.interfaces[0]'s guest MAC"},
      {"empty name", [](auto& c) { c.mutable_interfaces(0)->set_name(""); },
       "network.interfaces[0].name: \"\" must have 1 to 15 characters"},
      {"long name", [](auto& c) { c.mutable_interfaces(0)->set_name("a-very-long-name"); },
       "network.interfaces[0].name: \"a-very-long-name\" must have 1 to 15 characters"},
      {"slash in name", [](auto& c) { c.mutable_interfaces(0)->set_name("eth/0"); },
       "network.interfaces[0].name: \"eth/0\" has a '/'"},
      {"space in name", [](auto& c) { c.mutable_interfaces(1)->set_name("eth 1"); },
       "network.interfaces[1].name: \"eth 1\" has a '/'"},
      {"NUL in name", [](auto& c) { c.mutable_interfaces(1)->set_name(std::string("et\0h", 4)); },
       "network.interfaces[1].name: \"et\\x00h\" has a '/'"},
      {"dot name", [](auto& c) { c.mutable_interfaces(0)->set_name(".."); },
       "network.interfaces[0].name: \"..\" is not an interface name"},
      {"duplicate name", [](auto& c) { c.mutable_interfaces(1)->set_name("eth0"); },
       "network.interfaces[1].name: \"eth0\" is also network.interfaces[0]'s name"},
      {"MTU too small", [](auto& c) { c.mutable_interfaces(0)->set_mtu(67); },
       "network.interfaces[0].mtu: 67 is not in 68..65535"},
      {"MTU unset", [](auto& c) { c.mutable_interfaces(1)->set_mtu(0); },
       "network.interfaces[1].mtu: 0 is not in 68..65535"},
      {"MTU too large", [](auto& c) { c.mutable_interfaces(0)->set_mtu(65536); },
       "network.interfaces[0].mtu: 65536 is not in 68..65535"},
      {"bad address", [](auto& c) { c.mutable_interfaces(0)->set_addresses(1, "fd00::3/129"); },
       "network.interfaces[0].addresses[1]: \"fd00::3/129\" is not an address with a prefix "
       "length"},
      {"address without prefix",
       [](auto& c) { c.mutable_interfaces(0)->set_addresses(0, "10.1.2.3"); },
       "network.interfaces[0].addresses[0]: \"10.1.2.3\" is not an address with a prefix length"},
      {"duplicate address", [](auto& c) { c.mutable_interfaces(0)->add_addresses("10.1.2.3/24"); },
       "network.interfaces[0].addresses[2]: \"10.1.2.3/24\" is listed twice"},
      {"address with NUL",
       [](auto& c) {
         c.mutable_interfaces(0)->set_addresses(0, std::string("10.1.2.3/24\0x", 13));
       },
       "network.interfaces[0].addresses[0]: \"10.1.2.3/24\\x00x\" is not an address"},
      {"route destination", [](auto& c) { c.mutable_routes(0)->set_destination("nowhere"); },
       "network.routes[0].destination: \"nowhere\" is not an address with a prefix length"},
      {"route host bits", [](auto& c) { c.mutable_routes(0)->set_destination("10.1.2.3/24"); },
       "network.routes[0].destination: \"10.1.2.3/24\" has bits set past its prefix length"},
      {"route gateway", [](auto& c) { c.mutable_routes(1)->set_gateway("300.1.1.1"); },
       "network.routes[1].gateway: \"300.1.1.1\" is not an IP address"},
      {"route gateway family", [](auto& c) { c.mutable_routes(2)->set_gateway("10.0.0.1"); },
       "network.routes[2].gateway: \"10.0.0.1\" is not of the destination's address family"},
      {"route device", [](auto& c) { c.mutable_routes(1)->set_device("eth9"); },
       "network.routes[1].device: \"eth9\" is not one of the interfaces"},
      {"route source", [](auto& c) { c.mutable_routes(1)->set_source("fd00::3"); },
       "network.routes[1].source: \"fd00::3\" is not of the destination's address family"},
      {"onlink without gateway", [](auto& c) { c.mutable_routes(0)->set_onlink(true); },
       "network.routes[0].onlink: set on a route without a gateway"},
      {"neighbour IP", [](auto& c) { c.mutable_neighbours(0)->set_ip("169.254.1"); },
       "network.neighbours[0].ip: \"169.254.1\" is not an IP address"},
      {"neighbour MAC", [](auto& c) { c.mutable_neighbours(0)->set_mac("ee:ee:ee:ee:ee"); },
       "network.neighbours[0].mac: \"ee:ee:ee:ee:ee\" is not a MAC address"},
      {"neighbour device", [](auto& c) { c.mutable_neighbours(0)->set_device(""); },
       "network.neighbours[0].device: \"\" is not one of the interfaces"},
      {"too many interfaces",
       [](auto& c) {
         for (size_t i = 0; i < kMaxNetworkInterfaces; ++i) c.add_interfaces();
       },
       "network.interfaces: 18 entries, at most 16"},
      {"too many routes",
       [](auto& c) {
         for (size_t i = 0; i < kMaxNetworkRoutes; ++i) c.add_routes();
       },
       "network.routes: 259 entries, at most 256"},
      {"too many neighbours",
       [](auto& c) {
         for (size_t i = 0; i < kMaxNetworkNeighbours; ++i) c.add_neighbours();
       },
       "network.neighbours: 257 entries, at most 256"},
      {"long value cut short",
       [](auto& c) { c.mutable_interfaces(0)->set_mac(std::string(100, 'a')); },
       "network.interfaces[0].mac: \"" + std::string(64, 'a') + "...\" is not a MAC address"},
  };
}

TEST(NetworkConfigConvert, BadInputsNameTheirField) {
  for (const BadInput& bad : BadInputs()) {
    SCOPED_TRACE(bad.what);
    v1::NetworkConfig message = ToProto(SampleConfig());
    ASSERT_TRUE(FromProto(message).ok());
    bad.spoil(message);
    const Result<net::NetworkConfig> result = FromProto(message);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message().substr(0, bad.error.size()), bad.error)
        << "full message: " << result.status().message();
  }
}

}  // namespace
}  // namespace sandbox::agent
