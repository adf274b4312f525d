// The host side of a pod's network, Kata's "tcfilter" model: each interface
// a CNI plugin configured in the pod's network namespace (see pod_network.h)
// gets a TAP beside it in that same namespace, and tc ingress redirects
// (common/net/tc_mirror.h) pass every frame between the two. sandbox-vmm
// serves the TAP fd to the guest as a virtio-net NIC with the interface's
// MAC and MTU, and the guest agent recreates the addresses, routes and
// neighbours on it. The host itself routes, bridges and NATs nothing.
//
// TAPs are named kPodTapPrefix<i>, i being the interface's position in the
// NetworkConfig. One sandbox per pod network namespace is the norm; a second
// one in the same namespace is refused (the names are taken) rather than
// given other names, since both would then mirror the same veths.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/net/network_config.h"

namespace sandbox::shim {

inline constexpr char kPodTapPrefix[] = "sbxtap";

// "sbxtap0", "sbxtap1", ...: the TAP mirroring interface `position`.
std::string PodTapName(size_t position);

struct PodTap {
  net::InterfaceConfig interface;  // the pod interface this TAP mirrors
  std::string tap_name;
  // The TAP's fd (O_CLOEXEC, blocking, 12-byte virtio-net header on every
  // frame): it works from any namespace, and the TAP lives exactly as long
  // as some copy of it is open. The interface's side of the mirror outlives
  // it, until UnmirrorPodNetwork.
  UniqueFd fd;
};
// In the order of the NetworkConfig's interfaces.
using PodTaps = std::vector<PodTap>;

// Creates and mirrors a TAP for every interface of `config` inside the
// network namespace at `netns_path`: named PodTapName(i), with the
// interface's MTU, up. On failure nothing is left behind (mirrors removed,
// TAPs closed) and the error names the interface.
Result<PodTaps> MirrorPodNetwork(const std::string& netns_path, const net::NetworkConfig& config);

// Undoes MirrorPodNetwork for a sandbox whose pod interfaces are
// `interface_names` (in the config's order): removes their ingress mirrors
// and deletes any TAP still named PodTapName(i) or redirected to, for when
// sandbox-vmm died without closing its fds. Idempotent: a namespace,
// interface, qdisc or TAP that is already gone is not an error. Call it on
// delete and on every failure path after MirrorPodNetwork.
Status UnmirrorPodNetwork(const std::string& netns_path,
                          const std::vector<std::string>& interface_names);

}  // namespace sandbox::shim
