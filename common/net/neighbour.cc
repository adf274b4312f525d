#include "common/net/neighbour.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "common/net/link.h"

namespace sandbox::net {
namespace {

NeighbourState StateFromNud(uint16_t nud) {
  if ((nud & NUD_PERMANENT) != 0) return NeighbourState::kPermanent;
  if ((nud & NUD_REACHABLE) != 0) return NeighbourState::kReachable;
  return NeighbourState::kOther;
}

}  // namespace

Result<NeighbourInfo> ParseNeighbourMessage(const NetlinkMessageView& message) {
  if (message.header.nlmsg_type != RTM_NEWNEIGH) {
    return InvalidArgument("expected RTM_NEWNEIGH, got message type " +
                           std::to_string(message.header.nlmsg_type));
  }
  Bytes rest;
  SANDBOX_ASSIGN_OR_RETURN(const ndmsg header, ReadHeader<ndmsg>(message.payload, &rest));
  SANDBOX_ASSIGN_OR_RETURN(const Attributes attributes, Attributes::Parse(rest));
  NeighbourInfo neighbour;
  neighbour.index = header.ndm_ifindex;
  neighbour.state = StateFromNud(header.ndm_state);
  SANDBOX_ASSIGN_OR_RETURN(const Bytes destination, attributes.Get(NDA_DST));
  SANDBOX_ASSIGN_OR_RETURN(neighbour.address, IpAddress::FromBytes(header.ndm_family, destination));
  if (attributes.Has(NDA_LLADDR)) {
    SANDBOX_ASSIGN_OR_RETURN(const Bytes lladdr, attributes.Get(NDA_LLADDR));
    if (Result<MacAddress> mac = MacAddress::FromBytes(lladdr); mac.ok()) neighbour.mac = *mac;
  }
  return neighbour;
}

Result<std::vector<NeighbourInfo>> ListNeighbours(NetlinkSocket& socket, int index) {
  NetlinkMessage request(RTM_GETNEIGH, 0);
  request.AppendHeader(ndmsg{});
  std::vector<NeighbourInfo> neighbours;
  const Status status =
      socket.Dump(request, "RTM_GETNEIGH dump", [&](const NetlinkMessageView& message) -> Status {
        SANDBOX_ASSIGN_OR_RETURN(const ndmsg header, ReadHeader<ndmsg>(message.payload));
        // Only IP neighbours of this link: the dump also holds bridge FDB and
        // proxy entries of other families and links.
        if (header.ndm_ifindex != index ||
            (header.ndm_family != AF_INET && header.ndm_family != AF_INET6)) {
          return Status::Ok();
        }
        SANDBOX_ASSIGN_OR_RETURN(NeighbourInfo neighbour, ParseNeighbourMessage(message));
        neighbours.push_back(neighbour);
        return Status::Ok();
      });
  SANDBOX_RETURN_IF_ERROR(status);
  return neighbours;
}

Status AddNeighbour(NetlinkSocket& socket, int index, const IpAddress& address,
                    const MacAddress& mac) {
  if (address.size() == 0) return InvalidArgument("neighbour address unset");
  // NLM_F_REPLACE: configuring the same neighbour twice is not an error.
  NetlinkMessage request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
  ndmsg header{};
  header.ndm_family = static_cast<uint8_t>(address.family);
  header.ndm_ifindex = index;
  header.ndm_state = NUD_PERMANENT;
  request.AppendHeader(header);
  request.AddAttribute(NDA_DST, address.span());
  request.AddAttribute(NDA_LLADDR, mac.bytes);
  return socket.Request(request, "RTM_NEWNEIGH " + address.ToString() + " lladdr " +
                                     mac.ToString() + " on " + LinkLabel(socket, index));
}

}  // namespace sandbox::net
