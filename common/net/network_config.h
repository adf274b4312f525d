// What a sandbox's network is, independent of where it lives: the host side
// reads it from the pod's network namespace (the veths a CNI plugin made),
// the guest agent recreates it on the VM's NICs. Interfaces are matched by
// MAC: each guest NIC takes its host interface's MAC, so the addresses,
// routes and neighbours CNI assigned work unchanged in the guest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net/ip_address.h"
#include "common/net/mac_address.h"

namespace sandbox::net {

struct InterfaceConfig {
  std::string name;  // the host interface's name ("eth0"): the guest NIC is renamed to it
  MacAddress mac;
  uint32_t mtu = 1500;
  std::vector<IpPrefix> addresses;  // IPv4 and IPv6, link-local IPv6 left out
  // The MAC the guest NIC has now, when that is not `mac`: a VM restored from
  // a template keeps the one its template's NIC had at boot. The NIC is found
  // by it and given `mac`.
  std::optional<MacAddress> guest_mac;
};

struct RouteConfig {
  IpPrefix destination;  // prefix_length 0: the default route
  std::optional<IpAddress> gateway;
  std::string device;  // an InterfaceConfig::name
  std::optional<IpAddress> source;
  bool onlink = false;
};

struct NeighbourConfig {
  IpAddress address;
  MacAddress mac;
  std::string device;  // an InterfaceConfig::name
};

struct NetworkConfig {
  std::vector<InterfaceConfig> interfaces;
  // In an order that can be applied: routes to the gateways' networks
  // (scope link) before the routes through them.
  std::vector<RouteConfig> routes;
  std::vector<NeighbourConfig> neighbours;  // permanent entries only
};

}  // namespace sandbox::net
