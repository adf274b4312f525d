// Network interfaces (links) over rtnetlink: list them, find one, and change
// what the host side (CNI veth -> TAP) and the guest agent (its NIC) need.
//
// Every call takes the NetlinkSocket of the namespace to act in. Errors name
// the operation and the interface: "RTM_NEWLINK mtu 9000 on eth0: ...".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/net/mac_address.h"
#include "common/net/netlink_socket.h"

namespace sandbox::net {

struct LinkInfo {
  int index = 0;
  std::string name;
  // IFLA_INFO_KIND: "veth", "macvlan", "ipvlan", "tun", ...; "" for a
  // plain device (a physical NIC, lo).
  std::string kind;
  // Absent when the link has no 6-byte hardware address (an IP tunnel).
  std::optional<MacAddress> mac;
  uint32_t mtu = 0;
  bool up = false;        // IFF_UP, administratively up
  bool loopback = false;  // IFF_LOOPBACK
};

Result<std::vector<LinkInfo>> ListLinks(NetlinkSocket& socket);
// kNotFound when no such link exists.
Result<LinkInfo> FindLink(NetlinkSocket& socket, int index);
Result<LinkInfo> FindLinkByName(NetlinkSocket& socket, std::string_view name);

// "eth0", or "ifindex 7" when the link cannot be looked up: for messages.
std::string LinkLabel(NetlinkSocket& socket, int index);

Status SetLinkUp(NetlinkSocket& socket, int index);
Status SetLinkDown(NetlinkSocket& socket, int index);
Status SetLinkMtu(NetlinkSocket& socket, int index, uint32_t mtu);
Status SetLinkMac(NetlinkSocket& socket, int index, const MacAddress& mac);
// Kernels before 6.2 refuse (EBUSY) to rename a link that is up (Debian
// 12's 6.1 does): set it down first.
Status RenameLink(NetlinkSocket& socket, int index, std::string_view new_name);

// Creates a veth pair `name` <-> `peer_name`, both down, in this namespace.
Status CreateVethPair(NetlinkSocket& socket, std::string_view name, std::string_view peer_name);
// Deletes a link; deleting one end of a veth pair deletes both.
Status DeleteLink(NetlinkSocket& socket, int index);

// Parses one RTM_NEWLINK message; ListLinks' parser, exposed for tests.
Result<LinkInfo> ParseLinkMessage(const NetlinkMessageView& message);

}  // namespace sandbox::net
