// Reading a pod's network, as its CNI plugin configured it, out of the pod's
// network namespace, so the guest agent can recreate it on the VM's NICs
// (Kata's "tcfilter" model, see tap_mirror.h for the host plumbing).
//
// What is taken: every non-loopback interface with at least one address that
// is not IPv6 link-local. Its kind must be one a TAP can be mirrored to with
// tc (veth, macvlan, ipvlan, tun); anything else carrying an address is an
// error, because the pod would silently lose that network otherwise.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/net/netlink_socket.h"
#include "common/net/network_config.h"

namespace sandbox::shim {

// Reads the interfaces, main-table routes (IPv4 and IPv6) and permanent
// neighbours of the namespace `socket` was opened in. Routes the guest kernel
// creates by itself when the addresses are added (protocol kernel: connected
// subnets, fe80::/64) are left out; routes without a gateway come before the
// routes through one, so the result can be applied in order.
Result<net::NetworkConfig> ReadPodNetwork(net::NetlinkSocket& socket);

// ReadPodNetwork inside the network namespace at `netns_path` (a bind mount
// such as /var/run/netns/x, or /proc/<pid>/ns/net). Errors name the path.
Result<net::NetworkConfig> ReadPodNetworkIn(const std::string& netns_path);

// Whether `prefix` holds `address` (same family, equal leading bits); used to
// decide which gateways the guest can reach without RTNH_F_ONLINK.
bool PrefixContains(const net::IpPrefix& prefix, const net::IpAddress& address);

}  // namespace sandbox::shim
