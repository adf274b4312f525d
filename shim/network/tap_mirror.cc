#include "shim/network/tap_mirror.h"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <optional>
#include <utility>

#include "common/net/link.h"
#include "common/net/netlink_socket.h"
#include "common/net/netns.h"
#include "common/net/tap.h"
#include "common/net/tc_mirror.h"

namespace sandbox::shim {
namespace {

// What MirrorInterface made, kept so a later failure can undo it.
struct Mirrored {
  int interface_index = 0;
  PodTap tap;
};

// TUNSETIFF would attach us to an existing TAP of that name instead of
// failing, so a taken name is checked for first.
Status CheckNameFree(net::NetlinkSocket& socket, const std::string& tap_name) {
  const Result<net::LinkInfo> existing = net::FindLinkByName(socket, tap_name);
  if (existing.ok()) {
    return AlreadyExists("TAP name " + tap_name +
                         " is taken in the pod's network namespace (a second sandbox in it?)");
  }
  if (existing.status().code() == StatusCode::kNotFound) return Status::Ok();
  return existing.status();
}

// Opens, sizes and brings up the TAP, then mirrors it with the interface.
// When a step fails the TAP vanishes with its fd, and MirrorLinks undoes
// itself.
Result<Mirrored> MirrorInterface(net::NetlinkSocket& socket, const net::InterfaceConfig& interface,
                                 const std::string& tap_name) {
  SANDBOX_ASSIGN_OR_RETURN(const net::LinkInfo link, net::FindLinkByName(socket, interface.name));
  SANDBOX_RETURN_IF_ERROR(CheckNameFree(socket, tap_name));
  SANDBOX_ASSIGN_OR_RETURN(net::Tap tap, net::OpenTap(tap_name, interface.mtu));
  SANDBOX_ASSIGN_OR_RETURN(const net::LinkInfo tap_link, net::FindLinkByName(socket, tap.name));
  SANDBOX_RETURN_IF_ERROR(net::SetLinkUp(socket, tap_link.index));
  SANDBOX_RETURN_IF_ERROR(net::MirrorLinks(socket, link.index, tap_link.index));
  return Mirrored{link.index, PodTap{interface, tap.name, std::move(tap.fd)}};
}

void UndoMirrors(net::NetlinkSocket& socket, std::vector<Mirrored>& done) {
  // Best effort: the error that made us undo is the one worth reporting.
  for (const Mirrored& mirrored : done) (void)net::RemoveMirror(socket, mirrored.interface_index);
  done.clear();  // closes the TAP fds: the TAPs and their qdiscs vanish
}

Result<std::vector<Mirrored>> MirrorAll(net::NetlinkSocket& socket,
                                        const net::NetworkConfig& config) {
  std::vector<Mirrored> done;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const net::InterfaceConfig& interface = config.interfaces[i];
    Result<Mirrored> mirrored = MirrorInterface(socket, interface, PodTapName(i));
    if (!mirrored.ok()) {
      UndoMirrors(socket, done);
      return mirrored.status().Wrap("interface " + interface.name + " -> TAP " + PodTapName(i));
    }
    done.push_back(std::move(*mirrored));
  }
  return done;
}

// nullopt when no link is named `name`.
Result<std::optional<net::LinkInfo>> FindIfPresent(net::NetlinkSocket& socket,
                                                   const std::string& name) {
  Result<net::LinkInfo> link = net::FindLinkByName(socket, name);
  if (link.ok()) return std::optional<net::LinkInfo>(std::move(*link));
  if (link.status().code() == StatusCode::kNotFound) return std::optional<net::LinkInfo>();
  return link.status();
}

// For undoing: an object that is already gone is what we wanted anyway.
Status IgnoreNotFound(const Status& status) {
  return status.code() == StatusCode::kNotFound ? Status::Ok() : status;
}

bool IsPodTap(const net::LinkInfo& link) {
  return link.kind == "tun" && link.name.rfind(kPodTapPrefix, 0) == 0;
}

// Deletes link `index` when it is one of our TAPs still alive (sandbox-vmm
// died holding its fd). A link already gone is fine.
Status DeleteIfPodTap(net::NetlinkSocket& socket, int index) {
  const Result<net::LinkInfo> link = net::FindLink(socket, index);
  if (!link.ok()) return IgnoreNotFound(link.status());
  if (!IsPodTap(*link)) return Status::Ok();
  return IgnoreNotFound(net::DeleteLink(socket, index));
}

// Removes the ingress qdisc of `link` when it is our mirror: its redirect
// goes to one of our TAPs, or to nothing (index 0: the TAP is gone). Any
// other ingress qdisc belongs to someone else (a CNI plugin) and stays.
// Returns the redirect target, for DeleteIfPodTap.
Result<std::optional<int>> RemoveOurMirror(net::NetlinkSocket& socket, const net::LinkInfo& link) {
  SANDBOX_ASSIGN_OR_RETURN(const net::MirrorState state, net::InspectMirror(socket, link.index));
  if (!state.ingress_qdisc || !state.redirect_index.has_value()) return std::optional<int>();
  const int target = *state.redirect_index;
  if (target != 0) {
    const Result<net::LinkInfo> target_link = net::FindLink(socket, target);
    if (!target_link.ok()) SANDBOX_RETURN_IF_ERROR(IgnoreNotFound(target_link.status()));
    if (target_link.ok() && !IsPodTap(*target_link)) return std::optional<int>();
  }
  SANDBOX_RETURN_IF_ERROR(IgnoreNotFound(net::RemoveMirror(socket, link.index)));
  return std::optional<int>(target);
}

Status UnmirrorInterface(net::NetlinkSocket& socket, const std::string& name,
                         const std::string& tap_name) {
  SANDBOX_ASSIGN_OR_RETURN(const std::optional<net::LinkInfo> link, FindIfPresent(socket, name));
  if (link.has_value()) {
    SANDBOX_ASSIGN_OR_RETURN(const std::optional<int> target, RemoveOurMirror(socket, *link));
    if (target.has_value() && *target != 0) {
      SANDBOX_RETURN_IF_ERROR(DeleteIfPodTap(socket, *target));
    }
  }
  SANDBOX_ASSIGN_OR_RETURN(const std::optional<net::LinkInfo> tap, FindIfPresent(socket, tap_name));
  if (tap.has_value()) SANDBOX_RETURN_IF_ERROR(DeleteIfPodTap(socket, tap->index));
  return Status::Ok();
}

// Whether `path` still is a network namespace. A deleted pod namespace
// leaves either no path or, when only its bind mount went, an empty file
// that setns refuses; either way its links, qdiscs and TAPs went with it.
Result<bool> NetnsPresent(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoStatus("statfs", path);
  }
  return fs.f_type == NSFS_MAGIC;
}

}  // namespace

std::string PodTapName(size_t position) { return kPodTapPrefix + std::to_string(position); }

Result<PodTaps> MirrorPodNetwork(const std::string& netns_path, const net::NetworkConfig& config) {
  PodTaps taps;
  const Status status = net::RunInNetns(netns_path, [&]() -> Status {
    SANDBOX_ASSIGN_OR_RETURN(net::NetlinkSocket socket, net::NetlinkSocket::Open());
    SANDBOX_ASSIGN_OR_RETURN(std::vector<Mirrored> mirrored, MirrorAll(socket, config));
    for (Mirrored& one : mirrored) taps.push_back(std::move(one.tap));
    return Status::Ok();
  });
  if (!status.ok()) return status.Wrap("mirroring the pod network in " + netns_path);
  return taps;
}

Status UnmirrorPodNetwork(const std::string& netns_path,
                          const std::vector<std::string>& interface_names) {
  SANDBOX_ASSIGN_OR_RETURN(const bool present, NetnsPresent(netns_path));
  if (!present) return Status::Ok();
  const Status status = net::RunInNetns(netns_path, [&]() -> Status {
    SANDBOX_ASSIGN_OR_RETURN(net::NetlinkSocket socket, net::NetlinkSocket::Open());
    Status first_error;
    for (size_t i = 0; i < interface_names.size(); ++i) {
      // Going on after an error: undo as much as possible, report the first.
      const Status one = UnmirrorInterface(socket, interface_names[i], PodTapName(i));
      if (first_error.ok()) first_error = one.Wrap("interface " + interface_names[i]);
    }
    return first_error;
  });
  return status.Wrap("removing the pod network mirror in " + netns_path);
}

}  // namespace sandbox::shim
