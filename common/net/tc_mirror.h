// Mirroring two links with tc, Kata's "tcfilter" model: an ingress qdisc on
// each link and a match-all u32 filter whose mirred action redirects every
// frame to the other link's egress. What arrives on the CNI veth leaves on
// the VM's TAP, and what the guest sends on the TAP leaves on the veth, with
// no bridge and no L3 on the host.
//
// Needs CONFIG_NET_SCH_INGRESS, CONFIG_NET_CLS_U32 and CONFIG_NET_ACT_MIRRED
// (u32 rather than matchall: Debian's and minimal kernels build it in).
#pragma once

#include <optional>

#include "common/base/status.h"
#include "common/net/netlink_socket.h"

namespace sandbox::net {

// Redirects ingress of `a_index` to egress of `b_index` and back. Fails
// (kAlreadyExists) when either link already has an ingress qdisc; on any
// failure what was added is removed again.
Status MirrorLinks(NetlinkSocket& socket, int a_index, int b_index);

// Deletes the ingress qdisc of `index`, and with it its filters. Deleting
// the TAP (closing its fd) removes the TAP's side by itself.
Status RemoveMirror(NetlinkSocket& socket, int index);

struct MirrorState {
  bool ingress_qdisc = false;
  // The link a mirred filter on ingress redirects to, when there is one.
  std::optional<int> redirect_index;
};

// What tc holds on the ingress of `index`: `tc qdisc show` and
// `tc filter show ingress`, read back over netlink.
Result<MirrorState> InspectMirror(NetlinkSocket& socket, int index);

}  // namespace sandbox::net
