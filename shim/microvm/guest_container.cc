#include "shim/microvm/guest_container.h"

#include <nlohmann/json.hpp>

#include "common/oci/spec_json.h"
#include "common/oci/state.h"

namespace sandbox::shim {
namespace {

// createContainer hooks resolve in the runtime's namespace, which is the
// host's, so sandbox-rt ran them at create; the guest runs only
// startContainer hooks.
Result<std::string> WithoutHostHooks(const std::string& config_json) {
  nlohmann::json config = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) return Internal("the saved config.json is not a JSON object");
  if (config.contains("hooks") && config["hooks"].is_object()) config["hooks"].erase("createContainer");
  return config.dump();
}

// The shared root.path, or the image as the VM's only block device.
std::string GuestRootfsSource(const std::vector<SharedMount>& shares) {
  for (const SharedMount& share : shares) {
    if (share.root) return GuestRootfsPath(share);
  }
  return "/dev/vda";
}

// The state startContainer hooks get in the guest (the agent sets the pid
// the container sees).
std::string HookStateJson(const GuestContainer& container, const std::string& config_json) {
  oci::Spec spec;
  (void)oci::ParseSpec(config_json, spec);  // validated at create
  return oci::StateToJson({.oci_version = spec.oci_version,
                           .id = container.id,
                           .status = "created",
                           .pid = container.host_pid,
                           .bundle = container.bundle,
                           .annotations = spec.annotations},
                          -1);
}

}  // namespace

Result<AgentContainerSpec> GuestContainerSpec(const GuestContainer& container) {
  std::string config_json = container.config_json;
  if (!container.shares.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(config_json, RewriteSourcesForGuest(config_json, container.shares));
  }
  SANDBOX_ASSIGN_OR_RETURN(config_json, WithoutHostHooks(config_json));
  return AgentContainerSpec{.id = container.id,
                            .config_json = config_json,
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
                            .state_json = HookStateJson(container, config_json)};
}

}  // namespace sandbox::shim
