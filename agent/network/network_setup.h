// The guest half of pod networking: configures the VM's NICs as the pod's
// network namespace on the host has its interfaces (UpdateNetwork).
//
// The VMM gives each guest NIC its host interface's MAC, so each configured
// interface is found by MAC, renamed to the host interface's name ("eth0"),
// given its MTU and addresses and brought up; then the routes are added in
// the given order and the permanent neighbours after them.
#pragma once

#include "common/base/status.h"
#include "common/net/netlink_socket.h"
#include "common/net/network_config.h"

namespace sandbox::agent {

// Applies `config` in the namespace of `socket` (the guest's root namespace
// in the agent). `config` is expected to be valid (FromProto checked it); a
// route or neighbour naming an unknown interface is still kInvalidArgument.
//
// Stops at the first failure and returns it, naming the interface, route or
// neighbour ("network.routes[1]: RTM_NEWROUTE ... on eth0: ..."); what was
// applied before stays. Not idempotent: a second apply of the same config
// fails on the addresses (kAlreadyExists). Routes the kernel adds by itself
// (an address's subnet, proto kernel) must not be in `config`.
//
// Links with a name a configured interface wants are an error naming both,
// unless that link is itself one of the configured interfaces (NICs probed in
// another order than the host's): those are renamed through temporary names.
Status ApplyNetworkConfig(net::NetlinkSocket& socket, const net::NetworkConfig& config);

}  // namespace sandbox::agent
