// net::NetworkConfig <-> the agent API's NetworkConfig message (UpdateNetwork).
//
// The shim converts with ToProto; the agent converts what it receives with
// FromProto at once, which checks every field and names the first bad one:
// `network.interfaces[0].mac: "zz" is not a MAC address`. A config FromProto
// accepts is one the guest can apply in order: each route and neighbour names
// one of the interfaces, names and MACs are unique, MTUs and counts are bounded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "agent.pb.h"
#include "common/base/status.h"
#include "common/net/network_config.h"

namespace sandbox::agent {

// Bounds FromProto enforces (a pod has a handful of each).
inline constexpr size_t kMaxNetworkInterfaces = 16;
inline constexpr size_t kMaxNetworkRoutes = 256;
inline constexpr size_t kMaxNetworkNeighbours = 256;
inline constexpr uint32_t kMinMtu = 68;  // IPv4's minimum
inline constexpr uint32_t kMaxMtu = 65535;

// Does not validate: a config the host read from the kernel is sent as is.
v1::NetworkConfig ToProto(const net::NetworkConfig& config);

// kInvalidArgument naming the first bad field ("network.routes[1].device").
Result<net::NetworkConfig> FromProto(const v1::NetworkConfig& config);

}  // namespace sandbox::agent
