// A sandbox's pod network, from the host: the CNI-made interfaces of the
// netns named by linux.namespaces[network].path, mirrored into TAPs
// (shim/network) whose fds sandbox-vmm serves as virtio-net NICs, and the
// record of what was mirrored, so that every way a sandbox ends (its owner's
// Stop, `delete` after a crash) can undo it.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/net/network_config.h"
#include "common/oci/spec.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/network/tap_mirror.h"

namespace sandbox::shim {

// sandbox-vmm gets the TAPs at fds kFirstTapFd, kFirstTapFd + 1, ...
inline constexpr int kFirstTapFd = 3;
// sandbox-vmm's limit on `net` entries.
inline constexpr size_t kMaxNics = 8;

// linux.namespaces[type=network].path, or "" (the sandbox's own, empty netns).
std::string NetworkNamespacePathOf(const oci::Spec& spec);
// `spec` without that path: in the guest the container runs in the VM's own
// network namespace, which holds the mirrored NICs.
oci::Spec WithoutNetworkNamespacePath(oci::Spec spec);

// Whether a virtio-net NIC can take each interface's MAC (unicast, not all
// zeros) and MTU (68-65521, sandbox-vmm's range); errors name the interface.
Status CheckMirrorable(const net::NetworkConfig& config);

struct GuestNetwork {
  net::NetworkConfig config;  // what the agent applies (UpdateNetwork)
  PodTaps taps;               // open until sandbox-vmm has them
};

// Reads the pod network in `netns_path`, records it in files.network, mirrors
// it and adds a `net` entry per TAP to files.vmm_config. Undone on failure.
Result<GuestNetwork> ConnectGuestNetwork(const std::string& netns_path, const SandboxFiles& files);

// Removes what files.network records (the ingress mirrors, leftover TAPs)
// and the record; nothing recorded is nothing to do.
Status DisconnectGuestNetwork(const SandboxFiles& files);

// In a forked child before exec: the TAP fds at kFirstTapFd + i, inheritable.
// Only async-signal-safe calls; false if one failed.
bool PlaceTapFdsForExec(const PodTaps& taps);

// The `net` array for sandbox-vmm's config (exposed for tests).
std::string NicsJson(const PodTaps& taps);

// A VM template's NICs (vm_template.h), `count` of them: unplugged (nothing
// behind them until a restored sandbox's TAPs are), NIC i with MAC
// TemplateNicMac(i), which a restored guest still has until its agent sets
// the pod's (InterfaceConfig::guest_mac), and the largest MTU: the guest's
// driver takes the MTU it probed as the most it allows, and a pod's may be
// any up to that.
std::string TemplateNicsJson(size_t count);
net::MacAddress TemplateNicMac(size_t index);

}  // namespace sandbox::shim
