#include "proto/network_config_convert.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sandbox::agent {
namespace {

// A value for an error message: quoted, cut short, control bytes escaped
// (the strings come off the wire).
std::string Quote(std::string_view value) {
  constexpr size_t kMaxShown = 64;
  std::string quoted = "\"";
  for (const char c : value.substr(0, kMaxShown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isprint(byte) && c != '"' && c != '\\') {
      quoted += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 0xf];
    }
  }
  if (value.size() > kMaxShown) quoted += "...";
  return quoted + "\"";
}

Status FieldError(const std::string& field, const std::string& problem) {
  return InvalidArgument(field + ": " + problem);
}

std::string Indexed(std::string_view list, int index) {
  return "network." + std::string(list) + "[" + std::to_string(index) + "]";
}

// inet_pton stops at a NUL byte; no address or MAC is this long.
bool Plausible(std::string_view text) {
  return text.size() <= 64 && text.find('\0') == std::string_view::npos;
}

Status CheckCount(std::string_view list, int count, size_t max) {
  if (static_cast<size_t>(count) <= max) return Status::Ok();
  return FieldError("network." + std::string(list),
                    std::to_string(count) + " entries, at most " + std::to_string(max));
}

// What the kernel's dev_valid_name() accepts.
Status CheckName(const std::string& field, std::string_view name) {
  if (name.empty() || name.size() > 15) {
    return FieldError(field, Quote(name) + " must have 1 to 15 characters");
  }
  if (name == "." || name == "..")
    return FieldError(field, Quote(name) + " is not an interface name");
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || std::isspace(byte) || !std::isprint(byte)) {
      return FieldError(field, Quote(name) + " has a '/', ':', space or control character");
    }
  }
  return Status::Ok();
}

Result<net::MacAddress> ParseMac(const std::string& field, std::string_view text) {
  if (Plausible(text)) {
    Result<net::MacAddress> mac = net::MacAddress::Parse(text);
    if (mac.ok()) return mac;
  }
  return FieldError(field, Quote(text) + " is not a MAC address");
}

Result<net::IpAddress> ParseAddress(const std::string& field, std::string_view text) {
  if (Plausible(text)) {
    Result<net::IpAddress> address = net::IpAddress::Parse(text);
    if (address.ok()) return address;
  }
  return FieldError(field, Quote(text) + " is not an IP address");
}

// "ip/length", the length required (a bare address is a mistake here).
Result<net::IpPrefix> ParsePrefix(const std::string& field, std::string_view text) {
  if (Plausible(text) && text.find('/') != std::string_view::npos) {
    Result<net::IpPrefix> prefix = net::IpPrefix::Parse(text);
    if (prefix.ok()) return prefix;
  }
  return FieldError(field,
                    Quote(text) + " is not an address with a prefix length (\"10.0.0.2/24\")");
}

// A route's destination is a network: no bits past the prefix (the kernel
// refuses them).
bool HostBitsClear(const net::IpPrefix& prefix) {
  const std::span<const uint8_t> bytes = prefix.address.span();
  for (size_t bit = prefix.prefix_length; bit < bytes.size() * 8; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

Result<net::InterfaceConfig> InterfaceFromProto(const v1::NetworkInterface& in,
                                                const std::string& field) {
  net::InterfaceConfig out;
  SANDBOX_RETURN_IF_ERROR(CheckName(field + ".name", in.name()));
  out.name = in.name();
  SANDBOX_ASSIGN_OR_RETURN(out.mac, ParseMac(field + ".mac", in.mac()));
  if (out.mac.bytes[0] & 0x01)
    return FieldError(field + ".mac", Quote(in.mac()) + " is a multicast address");
  if (!in.guest_mac().empty()) {
    SANDBOX_ASSIGN_OR_RETURN(out.guest_mac, ParseMac(field + ".guest_mac", in.guest_mac()));
    if (out.guest_mac->bytes[0] & 0x01)
      return FieldError(field + ".guest_mac", Quote(in.guest_mac()) + " is a multicast address");
  }
  if (in.mtu() < kMinMtu || in.mtu() > kMaxMtu) {
    return FieldError(field + ".mtu", std::to_string(in.mtu()) + " is not in " +
                                          std::to_string(kMinMtu) + ".." + std::to_string(kMaxMtu));
  }
  out.mtu = in.mtu();
  for (int i = 0; i < in.addresses_size(); ++i) {
    const std::string address_field = field + ".addresses[" + std::to_string(i) + "]";
    SANDBOX_ASSIGN_OR_RETURN(net::IpPrefix prefix, ParsePrefix(address_field, in.addresses(i)));
    if (std::find(out.addresses.begin(), out.addresses.end(), prefix) != out.addresses.end()) {
      return FieldError(address_field, Quote(in.addresses(i)) + " is listed twice");
    }
    out.addresses.push_back(prefix);
  }
  return out;
}

Status CheckInterfaceNamesAndMacs(const std::vector<net::InterfaceConfig>& interfaces) {
  for (size_t i = 0; i < interfaces.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const std::string field = Indexed("interfaces", static_cast<int>(i));
      if (interfaces[i].name == interfaces[j].name) {
        return FieldError(field + ".name", Quote(interfaces[i].name) +
                                               " is also network.interfaces[" + std::to_string(j) +
                                               "]'s name");
      }
      if (interfaces[i].mac == interfaces[j].mac) {
        return FieldError(field + ".mac", Quote(interfaces[i].mac.ToString()) +
                                              " is also network.interfaces[" + std::to_string(j) +
                                              "]'s MAC");
      }
      if (interfaces[i].guest_mac.has_value() && interfaces[i].guest_mac == interfaces[j].guest_mac) {
        return FieldError(field + ".guest_mac", Quote(interfaces[i].guest_mac->ToString()) +
                                                    " is also network.interfaces[" + std::to_string(j) +
                                                    "]'s guest MAC");
      }
    }
  }
  return Status::Ok();
}

Status CheckDevice(const std::string& field, const std::string& device,
                   const std::set<std::string>& names) {
  if (names.contains(device)) return Status::Ok();
  return FieldError(field, Quote(device) + " is not one of the interfaces");
}

// An optional address ("" for none) of the destination's family.
Result<std::optional<net::IpAddress>> ParseOptionalAddress(const std::string& field,
                                                           std::string_view text, int family) {
  if (text.empty()) return std::optional<net::IpAddress>();
  SANDBOX_ASSIGN_OR_RETURN(net::IpAddress address, ParseAddress(field, text));
  if (address.family != family) {
    return FieldError(field, Quote(text) + " is not of the destination's address family");
  }
  return std::optional<net::IpAddress>(address);
}

Result<net::RouteConfig> RouteFromProto(const v1::NetworkRoute& in, const std::string& field,
                                        const std::set<std::string>& names) {
  net::RouteConfig out;
  SANDBOX_ASSIGN_OR_RETURN(out.destination, ParsePrefix(field + ".destination", in.destination()));
  if (!HostBitsClear(out.destination)) {
    return FieldError(field + ".destination",
                      Quote(in.destination()) + " has bits set past its prefix length");
  }
  const int family = out.destination.address.family;
  SANDBOX_ASSIGN_OR_RETURN(out.gateway,
                           ParseOptionalAddress(field + ".gateway", in.gateway(), family));
  SANDBOX_RETURN_IF_ERROR(CheckDevice(field + ".device", in.device(), names));
  out.device = in.device();
  SANDBOX_ASSIGN_OR_RETURN(out.source,
                           ParseOptionalAddress(field + ".source", in.source(), family));
  out.onlink = in.onlink();
  if (out.onlink && !out.gateway.has_value())
    return FieldError(field + ".onlink", "set on a route without a gateway");
  return out;
}

Result<net::NeighbourConfig> NeighbourFromProto(const v1::NetworkNeighbour& in,
                                                const std::string& field,
                                                const std::set<std::string>& names) {
  net::NeighbourConfig out;
  SANDBOX_ASSIGN_OR_RETURN(out.address, ParseAddress(field + ".ip", in.ip()));
  SANDBOX_ASSIGN_OR_RETURN(out.mac, ParseMac(field + ".mac", in.mac()));
  SANDBOX_RETURN_IF_ERROR(CheckDevice(field + ".device", in.device(), names));
  out.device = in.device();
  return out;
}

}  // namespace

v1::NetworkConfig ToProto(const net::NetworkConfig& config) {
  v1::NetworkConfig out;
  for (const net::InterfaceConfig& interface : config.interfaces) {
    v1::NetworkInterface* added = out.add_interfaces();
    added->set_name(interface.name);
    added->set_mac(interface.mac.ToString());
    if (interface.guest_mac.has_value()) added->set_guest_mac(interface.guest_mac->ToString());
    added->set_mtu(interface.mtu);
    for (const net::IpPrefix& prefix : interface.addresses) added->add_addresses(prefix.ToString());
  }
  for (const net::RouteConfig& route : config.routes) {
    v1::NetworkRoute* added = out.add_routes();
    added->set_destination(route.destination.ToString());
    if (route.gateway.has_value()) added->set_gateway(route.gateway->ToString());
    added->set_device(route.device);
    if (route.source.has_value()) added->set_source(route.source->ToString());
    added->set_onlink(route.onlink);
  }
  for (const net::NeighbourConfig& neighbour : config.neighbours) {
    v1::NetworkNeighbour* added = out.add_neighbours();
    added->set_ip(neighbour.address.ToString());
    added->set_mac(neighbour.mac.ToString());
    added->set_device(neighbour.device);
  }
  return out;
}

Result<net::NetworkConfig> FromProto(const v1::NetworkConfig& config) {
  SANDBOX_RETURN_IF_ERROR(
      CheckCount("interfaces", config.interfaces_size(), kMaxNetworkInterfaces));
  SANDBOX_RETURN_IF_ERROR(CheckCount("routes", config.routes_size(), kMaxNetworkRoutes));
  SANDBOX_RETURN_IF_ERROR(
      CheckCount("neighbours", config.neighbours_size(), kMaxNetworkNeighbours));
  net::NetworkConfig out;
  std::set<std::string> names;
  for (int i = 0; i < config.interfaces_size(); ++i) {
    SANDBOX_ASSIGN_OR_RETURN(net::InterfaceConfig interface,
                             InterfaceFromProto(config.interfaces(i), Indexed("interfaces", i)));
    names.insert(interface.name);
    out.interfaces.push_back(std::move(interface));
  }
  SANDBOX_RETURN_IF_ERROR(CheckInterfaceNamesAndMacs(out.interfaces));
  for (int i = 0; i < config.routes_size(); ++i) {
    SANDBOX_ASSIGN_OR_RETURN(net::RouteConfig route,
                             RouteFromProto(config.routes(i), Indexed("routes", i), names));
    out.routes.push_back(std::move(route));
  }
  for (int i = 0; i < config.neighbours_size(); ++i) {
    SANDBOX_ASSIGN_OR_RETURN(
        net::NeighbourConfig neighbour,
        NeighbourFromProto(config.neighbours(i), Indexed("neighbours", i), names));
    out.neighbours.push_back(std::move(neighbour));
  }
  return out;
}

}  // namespace sandbox::agent
