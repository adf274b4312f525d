// The neighbour (ARP / NDP) table over rtnetlink (RTM_GETNEIGH / RTM_NEWNEIGH).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/base/status.h"
#include "common/net/ip_address.h"
#include "common/net/mac_address.h"
#include "common/net/netlink_socket.h"

namespace sandbox::net {

enum class NeighbourState {
  kPermanent,  // NUD_PERMANENT: configured, never expires
  kReachable,  // NUD_REACHABLE: recently confirmed
  kOther,      // stale, incomplete, failed, noarp, ...
};

struct NeighbourInfo {
  int index = 0;
  IpAddress address;
  std::optional<MacAddress> mac;  // absent while resolution is incomplete
  NeighbourState state = NeighbourState::kOther;
};

// The IPv4 and IPv6 neighbours on interface `index`.
Result<std::vector<NeighbourInfo>> ListNeighbours(NetlinkSocket& socket, int index);

// Adds (or replaces) a permanent entry `address` -> `mac` on interface
// `index`, so the guest never has to resolve the gateway.
Status AddNeighbour(NetlinkSocket& socket, int index, const IpAddress& address,
                    const MacAddress& mac);

// Parses one RTM_NEWNEIGH message; ListNeighbours' parser, exposed for tests.
Result<NeighbourInfo> ParseNeighbourMessage(const NetlinkMessageView& message);

}  // namespace sandbox::net
