#include "common/net/route.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "common/net/link.h"

namespace sandbox::net {
namespace {

Result<std::optional<IpAddress>> OptionalAddress(const Attributes& attributes, uint16_t type,
                                                 int family) {
  if (!attributes.Has(type)) return std::optional<IpAddress>();
  SANDBOX_ASSIGN_OR_RETURN(const Bytes bytes, attributes.Get(type));
  SANDBOX_ASSIGN_OR_RETURN(IpAddress address, IpAddress::FromBytes(family, bytes));
  return std::optional<IpAddress>(address);
}

// RTA_TABLE holds tables past 255, which rtm_table cannot.
Result<uint32_t> RouteTable(const rtmsg& header, const Attributes& attributes) {
  if (attributes.Has(RTA_TABLE)) return attributes.U32(RTA_TABLE);
  return uint32_t{header.rtm_table};
}

Status CheckFamily(const RouteSpec& route, const std::optional<IpAddress>& address) {
  if (address.has_value() && address->family != route.destination.address.family) {
    return InvalidArgument("route " + route.destination.ToString() + ": " + address->ToString() +
                           " is of another address family");
  }
  return Status::Ok();
}

std::string DescribeRoute(NetlinkSocket& socket, const RouteSpec& route) {
  std::string text = "RTM_NEWROUTE " + route.destination.ToString();
  if (route.gateway.has_value()) text += " via " + route.gateway->ToString();
  return text + " on " + LinkLabel(socket, route.output_index);
}

}  // namespace

Result<RouteInfo> ParseRouteMessage(const NetlinkMessageView& message) {
  if (message.header.nlmsg_type != RTM_NEWROUTE) {
    return InvalidArgument("expected RTM_NEWROUTE, got message type " +
                           std::to_string(message.header.nlmsg_type));
  }
  Bytes rest;
  SANDBOX_ASSIGN_OR_RETURN(const rtmsg header, ReadHeader<rtmsg>(message.payload, &rest));
  SANDBOX_ASSIGN_OR_RETURN(const Attributes attributes, Attributes::Parse(rest));
  const int family = header.rtm_family;
  if (header.rtm_dst_len > MaxPrefixLength(family)) {
    return InvalidArgument("route of family " + std::to_string(family) + " with prefix length " +
                           std::to_string(header.rtm_dst_len));
  }
  RouteInfo route;
  SANDBOX_ASSIGN_OR_RETURN(const std::optional<IpAddress> destination,
                           OptionalAddress(attributes, RTA_DST, family));
  route.destination = {destination.value_or(IpAddress::Any(family)), header.rtm_dst_len};
  SANDBOX_ASSIGN_OR_RETURN(route.gateway, OptionalAddress(attributes, RTA_GATEWAY, family));
  SANDBOX_ASSIGN_OR_RETURN(route.source, OptionalAddress(attributes, RTA_PREFSRC, family));
  if (attributes.Has(RTA_OIF)) {
    SANDBOX_ASSIGN_OR_RETURN(const uint32_t output_index, attributes.U32(RTA_OIF));
    route.output_index = static_cast<int>(output_index);
  }
  route.scope = header.rtm_scope;
  route.protocol = header.rtm_protocol;
  return route;
}

Result<std::vector<RouteInfo>> ListRoutes(NetlinkSocket& socket, int family) {
  if (MaxPrefixLength(family) == 0)
    return InvalidArgument("route family " + std::to_string(family));
  NetlinkMessage request(RTM_GETROUTE, 0);
  rtmsg header{};
  header.rtm_family = static_cast<uint8_t>(family);
  request.AppendHeader(header);
  std::vector<RouteInfo> routes;
  const Status status =
      socket.Dump(request, "RTM_GETROUTE dump", [&](const NetlinkMessageView& message) -> Status {
        Bytes rest;
        SANDBOX_ASSIGN_OR_RETURN(const rtmsg route_header,
                                 ReadHeader<rtmsg>(message.payload, &rest));
        SANDBOX_ASSIGN_OR_RETURN(const Attributes attributes, Attributes::Parse(rest));
        SANDBOX_ASSIGN_OR_RETURN(const uint32_t table, RouteTable(route_header, attributes));
        if (table != RT_TABLE_MAIN || route_header.rtm_family != family) return Status::Ok();
        SANDBOX_ASSIGN_OR_RETURN(RouteInfo route, ParseRouteMessage(message));
        routes.push_back(std::move(route));
        return Status::Ok();
      });
  SANDBOX_RETURN_IF_ERROR(status);
  return routes;
}

Status AddRoute(NetlinkSocket& socket, const RouteSpec& route) {
  const IpAddress& destination = route.destination.address;
  if (destination.size() == 0 ||
      route.destination.prefix_length > MaxPrefixLength(destination.family)) {
    return InvalidArgument("invalid route destination " + route.destination.ToString());
  }
  SANDBOX_RETURN_IF_ERROR(CheckFamily(route, route.gateway));
  SANDBOX_RETURN_IF_ERROR(CheckFamily(route, route.source));
  NetlinkMessage request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg header{};
  header.rtm_family = static_cast<uint8_t>(destination.family);
  header.rtm_dst_len = route.destination.prefix_length;
  header.rtm_table = RT_TABLE_MAIN;
  header.rtm_protocol = RTPROT_BOOT;  // what `ip route add` uses
  header.rtm_scope = route.gateway.has_value() ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  header.rtm_type = RTN_UNICAST;
  header.rtm_flags = route.onlink ? RTNH_F_ONLINK : 0;
  request.AppendHeader(header);
  if (route.destination.prefix_length > 0) request.AddAttribute(RTA_DST, destination.span());
  if (route.gateway.has_value()) request.AddAttribute(RTA_GATEWAY, route.gateway->span());
  if (route.source.has_value()) request.AddAttribute(RTA_PREFSRC, route.source->span());
  request.AddU32(RTA_OIF, static_cast<uint32_t>(route.output_index));
  return socket.Request(request, DescribeRoute(socket, route));
}

}  // namespace sandbox::net
