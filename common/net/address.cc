#include "common/net/address.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "common/net/link.h"

namespace sandbox::net {

Result<AddressInfo> ParseAddressMessage(const NetlinkMessageView& message) {
  if (message.header.nlmsg_type != RTM_NEWADDR) {
    return InvalidArgument("expected RTM_NEWADDR, got message type " +
                           std::to_string(message.header.nlmsg_type));
  }
  Bytes rest;
  SANDBOX_ASSIGN_OR_RETURN(const ifaddrmsg header, ReadHeader<ifaddrmsg>(message.payload, &rest));
  SANDBOX_ASSIGN_OR_RETURN(const Attributes attributes, Attributes::Parse(rest));
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
  // point-to-point links and the same as IFA_LOCAL elsewhere (IPv6 sends
  // only IFA_ADDRESS).
  const uint16_t type = attributes.Has(IFA_LOCAL) ? IFA_LOCAL : IFA_ADDRESS;
  SANDBOX_ASSIGN_OR_RETURN(const Bytes bytes, attributes.Get(type));
  AddressInfo address;
  SANDBOX_ASSIGN_OR_RETURN(address.prefix.address, IpAddress::FromBytes(header.ifa_family, bytes));
  if (header.ifa_prefixlen > MaxPrefixLength(header.ifa_family)) {
    return InvalidArgument("address prefix length " + std::to_string(header.ifa_prefixlen) +
                           " too long");
  }
  address.prefix.prefix_length = header.ifa_prefixlen;
  address.index = static_cast<int>(header.ifa_index);
  address.scope = header.ifa_scope;
  address.link_local = address.prefix.address.IsLinkLocalV6();
  return address;
}

Result<std::vector<AddressInfo>> ListAddresses(NetlinkSocket& socket, std::optional<int> index) {
  NetlinkMessage request(RTM_GETADDR, 0);
  request.AppendHeader(ifaddrmsg{});  // AF_UNSPEC: both families
  std::vector<AddressInfo> addresses;
  const Status status =
      socket.Dump(request, "RTM_GETADDR dump", [&](const NetlinkMessageView& message) -> Status {
        SANDBOX_ASSIGN_OR_RETURN(AddressInfo address, ParseAddressMessage(message));
        // Filtered here: older kernels ignore ifa_index in a dump request.
        if (!index.has_value() || address.index == *index) addresses.push_back(address);
        return Status::Ok();
      });
  SANDBOX_RETURN_IF_ERROR(status);
  return addresses;
}

Status AddAddress(NetlinkSocket& socket, int index, const IpPrefix& prefix,
                  const AddAddressOptions& options) {
  const IpAddress& address = prefix.address;
  if (address.size() == 0 || prefix.prefix_length > MaxPrefixLength(address.family)) {
    return InvalidArgument("invalid address " + prefix.ToString());
  }
  NetlinkMessage request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg header{};
  header.ifa_family = static_cast<uint8_t>(address.family);
  header.ifa_prefixlen = prefix.prefix_length;
  header.ifa_scope = RT_SCOPE_UNIVERSE;
  header.ifa_index = static_cast<uint32_t>(index);
  if (options.no_dad && address.family == AF_INET6) header.ifa_flags = IFA_F_NODAD;
  request.AppendHeader(header);
  // As iproute2 does: IFA_LOCAL is the address, IFA_ADDRESS the same when
  // there is no peer.
  request.AddAttribute(IFA_LOCAL, address.span());
  request.AddAttribute(IFA_ADDRESS, address.span());
  return socket.Request(request,
                        "RTM_NEWADDR " + prefix.ToString() + " on " + LinkLabel(socket, index));
}

}  // namespace sandbox::net
