#include "shim/microvm/guest_container.h"

#include <nlohmann/json.hpp>

#include "common/oci/state.h"

namespace sandbox::shim {
namespace {

// createContainer hooks resolve in the runtime's namespace, which is the
// host's, so sandbox-rt ran them at create; the guest runs only
// startContainer hooks.
void DropHostHooks(nlohmann::json& config) {
  if (config.contains("hooks") && config["hooks"].is_object()) config["hooks"].erase("createContainer");
}

// The shared root.path, or the image as the VM's only block device.
std::string GuestRootfsSource(const std::vector<SharedMount>& shares) {
  for (const SharedMount& share : shares) {
    if (share.root) return GuestRootfsPath(share);
  }
  return "/dev/vda";
}

// The state startContainer hooks get in the guest (the agent sets the pid
// the container sees). The config was validated at create: only its
// ociVersion and annotations are read here.
std::string HookStateJson(const GuestContainer& container, const nlohmann::json& config) {
  oci::State state{.id = container.id,
                   .status = "created",
                   .pid = container.host_pid,
                   .bundle = container.bundle};
  const auto version = config.find("ociVersion");
  if (version != config.end() && version->is_string()) state.oci_version = version->get<std::string>();
  const auto annotations = config.find("annotations");
  if (annotations != config.end() && annotations->is_object()) {
    state.annotations.emplace();
    for (const auto& [key, value] : annotations->items()) {
      if (value.is_string()) (*state.annotations)[key] = value.get<std::string>();
    }
  }
  return oci::StateToJson(state, -1);
}

}  // namespace

Result<AgentContainerSpec> GuestContainerSpec(const GuestContainer& container) {
  // One parse and one dump for every change the guest's copy needs: on the
  // path of each create, where a parse is milliseconds under emulation.
  nlohmann::json config = nlohmann::json::parse(container.config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) return Internal("the saved config.json is not a JSON object");
  SANDBOX_RETURN_IF_ERROR(RewriteSourcesForGuest(config, container.shares));
  DropHostHooks(config);
  return AgentContainerSpec{.id = container.id,
                            .config_json = config.dump(),
                            .rootfs_device = GuestRootfsSource(container.shares),
                            .rootfs_fstype = container.rootfs_fstype,
                            .no_pivot = container.no_pivot,
                            .stdin_port = container.stdio_ports[0],
                            .stdout_port = container.stdio_ports[1],
                            .stderr_port = container.stdio_ports[2],
                            .terminal = container.terminal,
                            .shared_fs_tag = container.shares.empty() ? "" : kSharedFsTag,
                            .shared_fs_mount_point = kGuestSharedDir,
                            .extra_fds = container.extra_fds,
                            .state_json = HookStateJson(container, config)};
}

}  // namespace sandbox::shim
