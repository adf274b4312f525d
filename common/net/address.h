// Interface addresses over rtnetlink (RTM_GETADDR / RTM_NEWADDR).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/base/status.h"
#include "common/net/ip_address.h"
#include "common/net/netlink_socket.h"

namespace sandbox::net {

struct AddressInfo {
  int index = 0;      // the interface's
  IpPrefix prefix;    // address and prefix length; prefix.address.family is the family
  uint8_t scope = 0;  // RT_SCOPE_UNIVERSE (0), RT_SCOPE_LINK (253), RT_SCOPE_HOST (254)
  // fe80::/10, which the kernel configures by itself: callers copying a
  // configuration (CNI veth -> guest NIC) skip these.
  bool link_local = false;
};

// The addresses of interface `index`, or of every interface when nullopt,
// IPv4 and IPv6.
Result<std::vector<AddressInfo>> ListAddresses(NetlinkSocket& socket,
                                               std::optional<int> index = std::nullopt);

struct AddAddressOptions {
  // IFA_F_NODAD, IPv6 only: no duplicate address detection, so the address
  // is usable at once instead of "tentative" for a second or more (the guest
  // agent's NIC addresses, which the pod's namespace already owns uniquely).
  bool no_dad = false;
};

// Adds `prefix` ("10.0.0.2/24", "fd00::2/64") to interface `index`. Adding an
// address the interface already has is kAlreadyExists.
Status AddAddress(NetlinkSocket& socket, int index, const IpPrefix& prefix,
                  const AddAddressOptions& options = {});

// Parses one RTM_NEWADDR message; ListAddresses' parser, exposed for tests.
Result<AddressInfo> ParseAddressMessage(const NetlinkMessageView& message);

}  // namespace sandbox::net
