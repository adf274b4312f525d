#include "shim/network/pod_network.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net/address.h"
#include "common/net/link.h"
#include "common/net/neighbour.h"
#include "common/net/netns.h"
#include "common/net/route.h"

namespace sandbox::shim {
namespace {

// What tc can mirror to a TAP. "tun" covers a TAP a CNI plugin handed over
// (a TUN has the same kind but no MAC, and is refused for that).
constexpr std::array<std::string_view, 4> kMirrorableKinds = {"veth", "macvlan", "ipvlan", "tun"};

// A dump the kernel marks interrupted (a concurrent change, e.g. IPv6
// neighbour churn) is retried this many times in all.
constexpr int kReadAttempts = 3;

// The interfaces taken, by ifindex: routes and neighbours name their device
// by index. Ordered by index, so the config lists interfaces stably.
using TakenInterfaces = std::map<int, net::InterfaceConfig>;

std::vector<net::IpPrefix> UsableAddresses(const std::vector<net::AddressInfo>& addresses,
                                           int index) {
  std::vector<net::IpPrefix> usable;
  for (const net::AddressInfo& address : addresses) {
    // The guest kernel makes its own fe80:: address from the (same) MAC.
    if (address.index == index && !address.link_local) usable.push_back(address.prefix);
  }
  return usable;
}

bool IsMirrorableKind(std::string_view kind) {
  return std::find(kMirrorableKinds.begin(), kMirrorableKinds.end(), kind) !=
         kMirrorableKinds.end();
}

// nullopt for an interface the pod does not use (no address) and for lo,
// which the guest has anyway.
Result<std::optional<net::InterfaceConfig>> TakeInterface(const net::LinkInfo& link,
                                                          std::vector<net::IpPrefix> addresses) {
  if (link.loopback || addresses.empty()) return std::optional<net::InterfaceConfig>();
  // Refused rather than skipped: the pod would silently lose that network.
  if (!IsMirrorableKind(link.kind)) {
    const std::string kind = link.kind.empty() ? "none (a physical device?)" : link.kind;
    return InvalidArgument("pod interface " + link.name + " has addresses but its kind " + kind +
                           " cannot be mirrored into the VM (veth, macvlan, ipvlan and tap can)");
  }
  if (!link.mac.has_value()) {
    return InvalidArgument("pod interface " + link.name +
                           " has no MAC address, which the VM's NIC needs (a TUN device?)");
  }
  return std::optional<net::InterfaceConfig>(
      net::InterfaceConfig{link.name, *link.mac, link.mtu, std::move(addresses)});
}

Result<TakenInterfaces> ReadInterfaces(net::NetlinkSocket& socket) {
  SANDBOX_ASSIGN_OR_RETURN(const std::vector<net::LinkInfo> links, net::ListLinks(socket));
  SANDBOX_ASSIGN_OR_RETURN(const std::vector<net::AddressInfo> addresses,
                           net::ListAddresses(socket));
  TakenInterfaces taken;
  for (const net::LinkInfo& link : links) {
    SANDBOX_ASSIGN_OR_RETURN(std::optional<net::InterfaceConfig> config,
                             TakeInterface(link, UsableAddresses(addresses, link.index)));
    if (config.has_value()) taken.emplace(link.index, std::move(*config));
  }
  return taken;
}

const net::InterfaceConfig* FindByName(const TakenInterfaces& taken, const std::string& name) {
  for (const auto& [index, interface] : taken) {
    if (interface.name == name) return &interface;
  }
  return nullptr;
}

// Whether the guest reaches `route`'s gateway without RTNH_F_ONLINK: on the
// subnet of one of the device's addresses, on fe80::/64, or covered by a
// gateway-less route on the device (Calico's 169.254.1.1 scope link).
// RouteInfo does not carry rtm_flags, so onlink is inferred from this.
bool GatewayReachable(const net::RouteConfig& route, const net::InterfaceConfig& device,
                      const std::vector<net::RouteConfig>& routes) {
  const net::IpAddress& gateway = *route.gateway;
  if (gateway.IsLinkLocalV6()) return true;
  for (const net::IpPrefix& address : device.addresses) {
    if (PrefixContains(address, gateway)) return true;
  }
  return std::any_of(routes.begin(), routes.end(), [&](const net::RouteConfig& other) {
    return !other.gateway.has_value() && other.device == route.device &&
           PrefixContains(other.destination, gateway);
  });
}

void MarkOnlinkRoutes(std::vector<net::RouteConfig>& routes, const TakenInterfaces& taken) {
  for (net::RouteConfig& route : routes) {
    if (!route.gateway.has_value()) continue;
    const net::InterfaceConfig* device = FindByName(taken, route.device);
    route.onlink = device != nullptr && !GatewayReachable(route, *device, routes);
  }
}

// Routes of the taken interfaces. Protocol kernel routes (connected subnets,
// fe80::/64) are left out: the guest kernel adds them itself with the
// addresses, and the agent's copies would then fail as existing.
Result<std::vector<net::RouteConfig>> ReadRoutes(net::NetlinkSocket& socket,
                                                 const TakenInterfaces& taken) {
  std::vector<net::RouteConfig> routes;
  for (const int family : {AF_INET, AF_INET6}) {
    SANDBOX_ASSIGN_OR_RETURN(const std::vector<net::RouteInfo> listed,
                             net::ListRoutes(socket, family));
    for (const net::RouteInfo& route : listed) {
      const auto device = taken.find(route.output_index);
      if (route.protocol == RTPROT_KERNEL || device == taken.end()) continue;
      routes.push_back(net::RouteConfig{route.destination, route.gateway, device->second.name,
                                        route.source, /*onlink=*/false});
    }
  }
  MarkOnlinkRoutes(routes, taken);
  // Routes to the gateways' networks first, so every gateway is reachable by
  // the time a route through it is added.
  std::stable_partition(routes.begin(), routes.end(),
                        [](const net::RouteConfig& route) { return !route.gateway.has_value(); });
  return routes;
}

Result<std::vector<net::NeighbourConfig>> ReadNeighbours(net::NetlinkSocket& socket,
                                                         const TakenInterfaces& taken) {
  std::vector<net::NeighbourConfig> neighbours;
  for (const auto& [index, interface] : taken) {
    SANDBOX_ASSIGN_OR_RETURN(const std::vector<net::NeighbourInfo> listed,
                             net::ListNeighbours(socket, index));
    // Learned entries are left to the guest: they expire and it resolves
    // them itself; permanent ones were configured (a gateway's MAC).
    for (const net::NeighbourInfo& neighbour : listed) {
      if (neighbour.state != net::NeighbourState::kPermanent || !neighbour.mac.has_value()) {
        continue;
      }
      neighbours.push_back(net::NeighbourConfig{neighbour.address, *neighbour.mac, interface.name});
    }
  }
  return neighbours;
}

Result<net::NetworkConfig> ReadPodNetworkOnce(net::NetlinkSocket& socket) {
  SANDBOX_ASSIGN_OR_RETURN(const TakenInterfaces taken, ReadInterfaces(socket));
  net::NetworkConfig config;
  SANDBOX_ASSIGN_OR_RETURN(config.routes, ReadRoutes(socket, taken));
  SANDBOX_ASSIGN_OR_RETURN(config.neighbours, ReadNeighbours(socket, taken));
  for (const auto& [index, interface] : taken) config.interfaces.push_back(interface);
  return config;
}

}  // namespace

bool PrefixContains(const net::IpPrefix& prefix, const net::IpAddress& address) {
  const uint8_t max_length = net::MaxPrefixLength(address.family);
  if (max_length == 0 || prefix.address.family != address.family ||
      prefix.prefix_length > max_length) {
    return false;
  }
  const size_t whole_bytes = prefix.prefix_length / 8;
  const int rest_bits = prefix.prefix_length % 8;
  if (!std::equal(address.bytes.begin(), address.bytes.begin() + whole_bytes,
                  prefix.address.bytes.begin())) {
    return false;
  }
  if (rest_bits == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest_bits));
  return (address.bytes[whole_bytes] & mask) == (prefix.address.bytes[whole_bytes] & mask);
}

Result<net::NetworkConfig> ReadPodNetwork(net::NetlinkSocket& socket) {
  for (int attempt = 1;; ++attempt) {
    Result<net::NetworkConfig> config = ReadPodNetworkOnce(socket);
    if (config.ok() || config.status().code() != StatusCode::kUnavailable ||
        attempt == kReadAttempts) {
      return config;
    }
  }
}

Result<net::NetworkConfig> ReadPodNetworkIn(const std::string& netns_path) {
  net::NetworkConfig config;
  const Status status = net::RunInNetns(netns_path, [&]() -> Status {
    SANDBOX_ASSIGN_OR_RETURN(net::NetlinkSocket socket, net::NetlinkSocket::Open());
    SANDBOX_ASSIGN_OR_RETURN(config, ReadPodNetwork(socket));
    return Status::Ok();
  });
  if (!status.ok()) return status.Wrap("reading the pod network in " + netns_path);
  return config;
}

}  // namespace sandbox::shim
