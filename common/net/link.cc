#include "common/net/link.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

namespace sandbox::net {
namespace {

Status CheckLinkName(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return InvalidArgument("interface name \"" + std::string(name) + "\" must have 1 to " +
                           std::to_string(IFNAMSIZ - 1) + " characters");
  }
  return Status::Ok();
}

// An RTM_NEWLINK request that changes link `index`.
NetlinkMessage ChangeLinkRequest(int index, unsigned flags = 0, unsigned change = 0) {
  NetlinkMessage request(RTM_NEWLINK, 0);
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = index;
  header.ifi_flags = flags;
  header.ifi_change = change;
  request.AppendHeader(header);
  return request;
}

std::string OnLink(NetlinkSocket& socket, std::string_view op, int index) {
  return std::string(op) + " on " + LinkLabel(socket, index);
}

// IFLA_LINKINFO's IFLA_INFO_KIND, "" when the link has none.
Result<std::string> LinkKind(const Attributes& attributes) {
  if (!attributes.Has(IFLA_LINKINFO)) return std::string();
  SANDBOX_ASSIGN_OR_RETURN(const Attributes link_info, attributes.Nested(IFLA_LINKINFO));
  if (!link_info.Has(IFLA_INFO_KIND)) return std::string();
  return link_info.String(IFLA_INFO_KIND);
}

Result<LinkInfo> QueryLink(NetlinkSocket& socket, NetlinkMessage& request, std::string_view what) {
  LinkInfo link;
  const Status status =
      socket.Query(request, what, [&](const NetlinkMessageView& message) -> Status {
        SANDBOX_ASSIGN_OR_RETURN(link, ParseLinkMessage(message));
        return Status::Ok();
      });
  SANDBOX_RETURN_IF_ERROR(status);
  return link;
}

}  // namespace

Result<LinkInfo> ParseLinkMessage(const NetlinkMessageView& message) {
  if (message.header.nlmsg_type != RTM_NEWLINK) {
    return InvalidArgument("expected RTM_NEWLINK, got message type " +
                           std::to_string(message.header.nlmsg_type));
  }
  Bytes rest;
  SANDBOX_ASSIGN_OR_RETURN(const ifinfomsg header, ReadHeader<ifinfomsg>(message.payload, &rest));
  SANDBOX_ASSIGN_OR_RETURN(const Attributes attributes, Attributes::Parse(rest));
  LinkInfo link;
  link.index = header.ifi_index;
  link.up = (header.ifi_flags & IFF_UP) != 0;
  link.loopback = (header.ifi_flags & IFF_LOOPBACK) != 0;
  SANDBOX_ASSIGN_OR_RETURN(link.name, attributes.String(IFLA_IFNAME));
  if (attributes.Has(IFLA_MTU)) {
    SANDBOX_ASSIGN_OR_RETURN(link.mtu, attributes.U32(IFLA_MTU));
  }
  if (attributes.Has(IFLA_ADDRESS)) {
    SANDBOX_ASSIGN_OR_RETURN(const Bytes address, attributes.Get(IFLA_ADDRESS));
    if (Result<MacAddress> mac = MacAddress::FromBytes(address); mac.ok()) link.mac = *mac;
  }
  SANDBOX_ASSIGN_OR_RETURN(link.kind, LinkKind(attributes));
  return link;
}

Result<std::vector<LinkInfo>> ListLinks(NetlinkSocket& socket) {
  NetlinkMessage request(RTM_GETLINK, 0);
  request.AppendHeader(ifinfomsg{});
  std::vector<LinkInfo> links;
  const Status status =
      socket.Dump(request, "RTM_GETLINK dump", [&](const NetlinkMessageView& message) -> Status {
        SANDBOX_ASSIGN_OR_RETURN(LinkInfo link, ParseLinkMessage(message));
        links.push_back(std::move(link));
        return Status::Ok();
      });
  SANDBOX_RETURN_IF_ERROR(status);
  return links;
}

Result<LinkInfo> FindLink(NetlinkSocket& socket, int index) {
  if (index <= 0) return InvalidArgument("invalid interface index " + std::to_string(index));
  NetlinkMessage get(RTM_GETLINK, 0);
  ifinfomsg header{};
  header.ifi_index = index;
  get.AppendHeader(header);
  return QueryLink(socket, get, "RTM_GETLINK ifindex " + std::to_string(index));
}

Result<LinkInfo> FindLinkByName(NetlinkSocket& socket, std::string_view name) {
  SANDBOX_RETURN_IF_ERROR(CheckLinkName(name));
  NetlinkMessage get(RTM_GETLINK, 0);
  get.AppendHeader(ifinfomsg{});
  get.AddString(IFLA_IFNAME, name);
  return QueryLink(socket, get, "RTM_GETLINK " + std::string(name));
}

std::string LinkLabel(NetlinkSocket& socket, int index) {
  const Result<LinkInfo> link = FindLink(socket, index);
  if (link.ok()) return link->name;
  return "ifindex " + std::to_string(index);
}

Status SetLinkUp(NetlinkSocket& socket, int index) {
  NetlinkMessage request = ChangeLinkRequest(index, IFF_UP, IFF_UP);
  return socket.Request(request, OnLink(socket, "RTM_NEWLINK up", index));
}

Status SetLinkDown(NetlinkSocket& socket, int index) {
  NetlinkMessage request = ChangeLinkRequest(index, 0, IFF_UP);
  return socket.Request(request, OnLink(socket, "RTM_NEWLINK down", index));
}

Status SetLinkMtu(NetlinkSocket& socket, int index, uint32_t mtu) {
  NetlinkMessage request = ChangeLinkRequest(index);
  request.AddU32(IFLA_MTU, mtu);
  return socket.Request(request, OnLink(socket, "RTM_NEWLINK mtu " + std::to_string(mtu), index));
}

Status SetLinkMac(NetlinkSocket& socket, int index, const MacAddress& mac) {
  NetlinkMessage request = ChangeLinkRequest(index);
  request.AddAttribute(IFLA_ADDRESS, mac.bytes);
  return socket.Request(request, OnLink(socket, "RTM_NEWLINK address " + mac.ToString(), index));
}

Status RenameLink(NetlinkSocket& socket, int index, std::string_view new_name) {
  SANDBOX_RETURN_IF_ERROR(CheckLinkName(new_name));
  NetlinkMessage request = ChangeLinkRequest(index);
  request.AddString(IFLA_IFNAME, new_name);
  return socket.Request(request,
                        OnLink(socket, "RTM_NEWLINK name " + std::string(new_name), index));
}

Status CreateVethPair(NetlinkSocket& socket, std::string_view name, std::string_view peer_name) {
  SANDBOX_RETURN_IF_ERROR(CheckLinkName(name));
  SANDBOX_RETURN_IF_ERROR(CheckLinkName(peer_name));
  NetlinkMessage request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  request.AppendHeader(ifinfomsg{});
  request.AddString(IFLA_IFNAME, name);
  const size_t link_info = request.BeginNested(IFLA_LINKINFO);
  request.AddString(IFLA_INFO_KIND, "veth");
  const size_t info_data = request.BeginNested(IFLA_INFO_DATA);
  // The peer is described by its own ifinfomsg and attributes.
  const size_t peer = request.BeginNested(VETH_INFO_PEER);
  const ifinfomsg peer_header{};
  request.AppendPadded(&peer_header, sizeof(peer_header));
  request.AddString(IFLA_IFNAME, peer_name);
  request.EndNested(peer);
  request.EndNested(info_data);
  request.EndNested(link_info);
  return socket.Request(
      request, "RTM_NEWLINK veth " + std::string(name) + " peer " + std::string(peer_name));
}

Status DeleteLink(NetlinkSocket& socket, int index) {
  NetlinkMessage request(RTM_DELLINK, 0);
  ifinfomsg header{};
  header.ifi_index = index;
  request.AppendHeader(header);
  return socket.Request(request, OnLink(socket, "RTM_DELLINK", index));
}

}  // namespace sandbox::net
