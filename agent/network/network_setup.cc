#include "agent/network/network_setup.h"

#include <map>
#include <string>
#include <vector>

#include "common/net/address.h"
#include "common/net/link.h"
#include "common/net/neighbour.h"
#include "common/net/route.h"

namespace sandbox::agent {
namespace {

// A configured interface and the guest link it is applied to.
struct MatchedLink {
  const net::InterfaceConfig* config = nullptr;
  net::LinkInfo link;  // as listed before any change

  bool NeedsRename() const { return link.name != config->name; }
};

std::string Describe(const net::InterfaceConfig& interface) {
  std::string text = "interface " + interface.name + " (MAC " + interface.mac.ToString();
  if (interface.guest_mac.has_value()) text.append(", in the guest still ").append(interface.guest_mac->ToString());
  return text + ")";
}

// The MAC the guest NIC has now: a restored template's, or already the pod's.
const net::MacAddress& CurrentMac(const net::InterfaceConfig& interface) {
  return interface.guest_mac.has_value() ? *interface.guest_mac : interface.mac;
}

std::string Describe(const net::LinkInfo& link) {
  std::string text = "link " + link.name + " (ifindex " + std::to_string(link.index);
  if (link.mac.has_value()) text.append(", MAC ").append(link.mac->ToString());
  return text + ")";
}

// "lo, eth0 02:42:ac:11:00:02, ...": what the guest has, for the error when
// a MAC is missing.
std::string ListForError(const std::vector<net::LinkInfo>& links) {
  std::string text;
  for (const net::LinkInfo& link : links) {
    if (!text.empty()) text += ", ";
    text += link.name;
    // Appended piecewise: GCC 12's -Wrestrict misfires on " " + string.
    if (link.mac.has_value()) text.append(" ").append(link.mac->ToString());
  }
  return text.empty() ? "none" : text;
}

Result<net::LinkInfo> FindByMac(const std::vector<net::LinkInfo>& links,
                                const net::InterfaceConfig& interface) {
  const net::LinkInfo* found = nullptr;
  for (const net::LinkInfo& link : links) {
    if (link.loopback || link.mac != CurrentMac(interface)) continue;
    if (found != nullptr) {
      return FailedPrecondition(Describe(interface) + ": both " + Describe(*found) + " and " +
                                Describe(link) + " have that MAC");
    }
    found = &link;
  }
  if (found == nullptr) {
    return NotFound(Describe(interface) +
                    ": no guest link has that MAC (the guest has: " + ListForError(links) + ")");
  }
  return *found;
}

Result<std::vector<MatchedLink>> MatchLinks(net::NetlinkSocket& socket,
                                            const net::NetworkConfig& config) {
  SANDBOX_ASSIGN_OR_RETURN(const std::vector<net::LinkInfo> links, net::ListLinks(socket));
  std::vector<MatchedLink> matched;
  for (const net::InterfaceConfig& interface : config.interfaces) {
    SANDBOX_ASSIGN_OR_RETURN(net::LinkInfo link, FindByMac(links, interface));
    for (const MatchedLink& earlier : matched) {
      if (earlier.link.index == link.index) {
        return InvalidArgument(Describe(interface) + ": " + Describe(link) + " is also " +
                               Describe(*earlier.config));
      }
    }
    matched.push_back({.config = &interface, .link = std::move(link)});
  }
  // A wanted name held by a link that is not renamed away is an error; one
  // held by a configured link that is renamed too is resolved in RenameLinks.
  for (const MatchedLink& wanted : matched) {
    if (!wanted.NeedsRename()) continue;
    for (const net::LinkInfo& holder : links) {
      if (holder.name != wanted.config->name) continue;
      bool moves_away = false;
      for (const MatchedLink& other : matched)
        moves_away |= other.link.index == holder.index && other.NeedsRename();
      if (!moves_away) {
        return AlreadyExists(Describe(*wanted.config) + " is " + Describe(wanted.link) + ", but " +
                             Describe(holder) + " already has the name " + wanted.config->name);
      }
    }
  }
  return matched;
}

// Renames every matched link to its configured name. When one of them wants
// a name another still has (NICs probed in another order), all of them first
// take a temporary name, so the final names never collide.
Status RenameLinks(net::NetlinkSocket& socket, const std::vector<MatchedLink>& matched) {
  bool collide = false;
  for (const MatchedLink& wanted : matched) {
    for (const MatchedLink& other : matched) {
      collide |=
          wanted.NeedsRename() && &other != &wanted && other.link.name == wanted.config->name;
    }
  }
  if (collide) {
    for (size_t i = 0; i < matched.size(); ++i) {
      if (!matched[i].NeedsRename()) continue;
      const Status renamed =
          net::RenameLink(socket, matched[i].link.index, "sbxnet-tmp" + std::to_string(i));
      SANDBOX_RETURN_IF_ERROR(renamed.Wrap(Describe(*matched[i].config)));
    }
  }
  for (const MatchedLink& wanted : matched) {
    if (!wanted.NeedsRename()) continue;
    SANDBOX_RETURN_IF_ERROR(net::RenameLink(socket, wanted.link.index, wanted.config->name)
                                .Wrap(Describe(*wanted.config)));
  }
  return Status::Ok();
}

// MAC (when the guest NIC still has its template's), MTU, addresses, up:
// the link is down and has its name.
Status ConfigureLink(net::NetlinkSocket& socket, const MatchedLink& matched) {
  const net::InterfaceConfig& interface = *matched.config;
  const int index = matched.link.index;
  if (interface.guest_mac.has_value()) SANDBOX_RETURN_IF_ERROR(net::SetLinkMac(socket, index, interface.mac));
  SANDBOX_RETURN_IF_ERROR(net::SetLinkMtu(socket, index, interface.mtu));
  for (const net::IpPrefix& prefix : interface.addresses) {
    // No duplicate address detection: the address is usable at once (the
    // pod's namespace already owns it), not "tentative" while routes are added.
    SANDBOX_RETURN_IF_ERROR(net::AddAddress(socket, index, prefix, {.no_dad = true}));
  }
  return net::SetLinkUp(socket, index);
}

Status ConfigureInterfaces(net::NetlinkSocket& socket, const std::vector<MatchedLink>& matched) {
  // Down first: kernels before 6.2 refuse to rename a link that is up.
  for (const MatchedLink& link : matched) {
    SANDBOX_RETURN_IF_ERROR(net::SetLinkDown(socket, link.link.index).Wrap(Describe(*link.config)));
  }
  SANDBOX_RETURN_IF_ERROR(RenameLinks(socket, matched));
  for (const MatchedLink& link : matched) {
    SANDBOX_RETURN_IF_ERROR(ConfigureLink(socket, link).Wrap(Describe(*link.config)));
  }
  return Status::Ok();
}

Result<int> DeviceIndex(const std::map<std::string, int>& indices, const std::string& device,
                        const std::string& field) {
  auto it = indices.find(device);
  if (it == indices.end())
    return InvalidArgument(field + ": device \"" + device + "\" is not one of the interfaces");
  return it->second;
}

// Every route and neighbour names a configured interface.
Status CheckDevices(const net::NetworkConfig& config, const std::map<std::string, int>& indices) {
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const std::string field = "network.routes[" + std::to_string(i) + "]";
    SANDBOX_RETURN_IF_ERROR(DeviceIndex(indices, config.routes[i].device, field).status());
  }
  for (size_t i = 0; i < config.neighbours.size(); ++i) {
    const std::string field = "network.neighbours[" + std::to_string(i) + "]";
    SANDBOX_RETURN_IF_ERROR(DeviceIndex(indices, config.neighbours[i].device, field).status());
  }
  return Status::Ok();
}

Status AddRoutes(net::NetlinkSocket& socket, const net::NetworkConfig& config,
                 const std::map<std::string, int>& indices) {
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const net::RouteConfig& route = config.routes[i];
    const std::string field = "network.routes[" + std::to_string(i) + "]";
    SANDBOX_ASSIGN_OR_RETURN(const int index, DeviceIndex(indices, route.device, field));
    const net::RouteSpec spec{.destination = route.destination,
                              .gateway = route.gateway,
                              .output_index = index,
                              .source = route.source,
                              .onlink = route.onlink};
    SANDBOX_RETURN_IF_ERROR(net::AddRoute(socket, spec).Wrap(field));
  }
  return Status::Ok();
}

Status AddNeighbours(net::NetlinkSocket& socket, const net::NetworkConfig& config,
                     const std::map<std::string, int>& indices) {
  for (size_t i = 0; i < config.neighbours.size(); ++i) {
    const net::NeighbourConfig& neighbour = config.neighbours[i];
    const std::string field = "network.neighbours[" + std::to_string(i) + "]";
    SANDBOX_ASSIGN_OR_RETURN(const int index, DeviceIndex(indices, neighbour.device, field));
    SANDBOX_RETURN_IF_ERROR(
        net::AddNeighbour(socket, index, neighbour.address, neighbour.mac).Wrap(field));
  }
  return Status::Ok();
}

}  // namespace

Status ApplyNetworkConfig(net::NetlinkSocket& socket, const net::NetworkConfig& config) {
  SANDBOX_ASSIGN_OR_RETURN(const std::vector<MatchedLink> matched, MatchLinks(socket, config));
  // Routes and neighbours are checked before anything changes.
  std::map<std::string, int> indices;
  for (const MatchedLink& link : matched) indices[link.config->name] = link.link.index;
  SANDBOX_RETURN_IF_ERROR(CheckDevices(config, indices));
  SANDBOX_RETURN_IF_ERROR(ConfigureInterfaces(socket, matched));
  SANDBOX_RETURN_IF_ERROR(AddRoutes(socket, config, indices));
  return AddNeighbours(socket, config, indices);
}

}  // namespace sandbox::agent
