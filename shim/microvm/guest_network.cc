#include "shim/microvm/guest_network.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "shim/network/pod_network.h"
#include "vmm/config.h"

namespace sandbox::shim {
namespace {

Status WriteRecord(const SandboxFiles& files, const std::string& netns_path, const net::NetworkConfig& config) {
  nlohmann::json interfaces = nlohmann::json::array();
  for (const net::InterfaceConfig& interface : config.interfaces) interfaces.push_back(interface.name);
  const nlohmann::json record = {{"netns", netns_path}, {"interfaces", interfaces}};
  return WriteFileAtomic(files.network, record.dump(), 0600);
}

Status AddNicsToVmmConfig(const std::string& vmm_config, const PodTaps& taps) {
  SANDBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(vmm_config));
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  if (!config.is_object()) return Internal(vmm_config + ": not a JSON object");
  config["net"] = nlohmann::json::parse(NicsJson(taps));
  return WriteFileAtomic(vmm_config, config.dump(2), 0600);
}

}  // namespace

std::string NetworkNamespacePathOf(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->namespaces) return "";
  for (const oci::Namespace& entry : *spec.linux->namespaces) {
    if (entry.type == "network" && entry.path) return *entry.path;
  }
  return "";
}

oci::Spec WithoutNetworkNamespacePath(oci::Spec spec) {
  if (!spec.linux || !spec.linux->namespaces) return spec;
  std::erase_if(*spec.linux->namespaces, [](const oci::Namespace& entry) {
    return entry.type == "network" && entry.path && !entry.path->empty();
  });
  return spec;
}

Status CheckMirrorable(const net::NetworkConfig& config) {
  using vmm::kMaxMtu, vmm::kMinMtu;  // sandbox-vmm's net[].mtu range
  if (config.interfaces.size() > kMaxNics) {
    return InvalidArgument("the pod network has " + std::to_string(config.interfaces.size()) +
                           " interfaces with addresses; a microVM takes at most " + std::to_string(kMaxNics));
  }
  for (const net::InterfaceConfig& interface : config.interfaces) {
    const bool multicast = (interface.mac.bytes[0] & 1) != 0;
    const bool zero = interface.mac == net::MacAddress{};
    if (multicast || zero) {
      return InvalidArgument("pod interface " + interface.name + ": its MAC " + interface.mac.ToString() +
                             " cannot be a NIC's (" + (zero ? "all zeros" : "multicast") + ")");
    }
    if (interface.mtu < kMinMtu || interface.mtu > kMaxMtu) {
      return InvalidArgument("pod interface " + interface.name + ": MTU " + std::to_string(interface.mtu) +
                             " is outside what a virtio-net NIC takes (" + std::to_string(kMinMtu) + "-" +
                             std::to_string(kMaxMtu) + ")");
    }
  }
  return Status::Ok();
}

std::string NicsJson(const PodTaps& taps) {
  nlohmann::json nics = nlohmann::json::array();
  for (size_t i = 0; i < taps.size(); ++i) {
    nics.push_back({{"tap_fd", kFirstTapFd + static_cast<int>(i)},
                    {"mac", taps[i].interface.mac.ToString()},
                    {"mtu", taps[i].interface.mtu}});
  }
  return nics.dump();
}

net::MacAddress TemplateNicMac(size_t index) {
  // Locally administered, unicast; the last octet counts from 1.
  return net::MacAddress{.bytes = {0x02, 0x5a, 0x00, 0x00, 0x00, static_cast<uint8_t>(index + 1)}};
}

std::string TemplateNicsJson(size_t count) {
  nlohmann::json nics = nlohmann::json::array();
  for (size_t i = 0; i < count; ++i) {
    nics.push_back({{"unplugged", true}, {"mac", TemplateNicMac(i).ToString()}, {"mtu", vmm::kMaxMtu}});
  }
  return nics.dump();
}

Result<GuestNetwork> ConnectGuestNetwork(const std::string& netns_path, const SandboxFiles& files) {
  GuestNetwork network;
  SANDBOX_ASSIGN_OR_RETURN(network.config, ReadPodNetworkIn(netns_path));
  if (Status mirrorable = CheckMirrorable(network.config); !mirrorable.ok()) {
    return Status(mirrorable.code(), mirrorable.message() + " (in " + netns_path + ")");
  }
  // Recorded before anything is made: a crash from here on leaves a record
  // that `delete` undoes.
  SANDBOX_RETURN_IF_ERROR(WriteRecord(files, netns_path, network.config));
  Result<PodTaps> taps = MirrorPodNetwork(netns_path, network.config);
  if (!taps.ok()) {
    (void)::unlink(files.network.c_str());  // MirrorPodNetwork undid its own work
    return taps.status();
  }
  network.taps = std::move(taps).value();
  if (Status added = AddNicsToVmmConfig(files.vmm_config, network.taps); !added.ok()) {
    network.taps.clear();
    (void)DisconnectGuestNetwork(files);
    return added;
  }
  return network;
}

Status DisconnectGuestNetwork(const SandboxFiles& files) {
  if (!PathExists(files.network)) return Status::Ok();
  SANDBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(files.network));
  const nlohmann::json record = nlohmann::json::parse(text, nullptr, false);
  if (!record.is_object() || !record.contains("netns") || !record["netns"].is_string() ||
      !record.contains("interfaces") || !record["interfaces"].is_array()) {
    return Internal(files.network + ": malformed record");
  }
  std::vector<std::string> interfaces;
  for (const nlohmann::json& name : record["interfaces"]) {
    if (name.is_string()) interfaces.push_back(name.get<std::string>());
  }
  SANDBOX_RETURN_IF_ERROR(UnmirrorPodNetwork(record["netns"].get<std::string>(), interfaces));
  if (::unlink(files.network.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink", files.network);
  return Status::Ok();
}

bool PlaceTapFdsForExec(const PodTaps& taps) {
  // Two steps, so that a TAP fd already sitting at a target number is not
  // overwritten before it is moved: first above every target, then into place.
  constexpr int kParkAbove = 64;
  int parked[16];
  if (taps.size() > std::size(parked)) return false;
  for (size_t i = 0; i < taps.size(); ++i) {
    parked[i] = ::fcntl(taps[i].fd.get(), F_DUPFD_CLOEXEC, kParkAbove);
    if (parked[i] < 0) return false;
  }
  for (size_t i = 0; i < taps.size(); ++i) {
    // dup2 leaves the new fd without FD_CLOEXEC: sandbox-vmm inherits it.
    if (::dup2(parked[i], kFirstTapFd + static_cast<int>(i)) < 0) return false;
  }
  return true;
}

}  // namespace sandbox::shim
