// TAP devices for the VMM's virtio-net backend.
//
// The TAP is created in the calling thread's network namespace (run inside
// RunInNetns for the sandbox's namespace); the interface lives as long as
// the returned fd stays open.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::net {

// The size of virtio_net_hdr_v1 (mergeable rx buffers): every frame read
// from or written to the TAP fd starts with one.
inline constexpr int kVirtioNetHeaderSize = 12;

struct Tap {
  UniqueFd fd;       // O_CLOEXEC, blocking: frames are read and written here
  std::string name;  // the interface's, as the kernel chose it
};

// Opens /dev/net/tun as a TAP (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) named
// `name` ("" lets the kernel pick "tapN"; "tap%d" patterns work too), sets
// the vnet header size to kVirtioNetHeaderSize and, when given, the MTU.
Result<Tap> OpenTap(std::string_view name, std::optional<unsigned> mtu = std::nullopt);

// TUNSETOFFLOAD: which offloads (TUN_F_CSUM, TUN_F_TSO4, ...) the reader of
// the fd accepts, i.e. what the guest's virtio-net driver negotiated.
Status TapSetOffload(int tap_fd, unsigned flags);

// TUNGETIFF's flags (IFF_TAP, IFF_VNET_HDR, ...): lets callers and tests
// check how a TAP fd was set up.
Result<unsigned> TapFlags(int tap_fd);

}  // namespace sandbox::net
