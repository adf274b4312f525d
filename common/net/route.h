// Routes of the main table over rtnetlink (RTM_GETROUTE / RTM_NEWROUTE).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/base/status.h"
#include "common/net/ip_address.h"
#include "common/net/netlink_socket.h"

namespace sandbox::net {

struct RouteInfo {
  // prefix_length 0 (address all zeros) is the default route.
  IpPrefix destination;
  std::optional<IpAddress> gateway;  // RTA_GATEWAY
  int output_index = 0;              // RTA_OIF, 0 when the route has none
  uint8_t scope = 0;                 // RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, ...
  uint8_t protocol = 0;              // RTPROT_KERNEL, RTPROT_BOOT, ...
  std::optional<IpAddress> source;   // RTA_PREFSRC, "src" in `ip route`
};

// The main table's routes of `family` (AF_INET or AF_INET6); the local and
// other tables are left out.
Result<std::vector<RouteInfo>> ListRoutes(NetlinkSocket& socket, int family);

struct RouteSpec {
  IpPrefix destination;  // prefix_length 0: the default route
  std::optional<IpAddress> gateway;
  int output_index = 0;  // the device; required
  std::optional<IpAddress> source;
  // RTNH_F_ONLINK: the gateway is reachable on the device even though no
  // address covers it (CNI plugins such as Calico use 169.254.1.1).
  bool onlink = false;
};

// Adds a unicast route to the main table: scope universe through a gateway,
// scope link without one (a directly connected destination). An existing
// route is kAlreadyExists.
Status AddRoute(NetlinkSocket& socket, const RouteSpec& route);

// Parses one RTM_NEWROUTE message; ListRoutes' parser, exposed for tests.
// The table is not checked here.
Result<RouteInfo> ParseRouteMessage(const NetlinkMessageView& message);

}  // namespace sandbox::net
