// The agent's CreateContainer request for one container of a sandbox, from
// config.json as validated at create: bind mount sources become their paths
// in the guest's share, createContainer hooks are dropped (they ran on the
// host), the rootfs is the shared root.path or the sandbox's image, and the
// state that startContainer hooks get in the guest. Shared by the CLI's
// monitor and the containerd shim.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "shim/microvm/agent_client.h"
#include "shim/microvm/shared_fs.h"

namespace sandbox::shim {

struct GuestContainer {
  std::string id;
  std::string bundle;       // for the hooks' state
  std::string config_json;  // as saved at create
  std::string rootfs_fstype;  // "dir" (shared root.path), "erofs" or "ext4" (/dev/vda)
  bool no_pivot = false;
  std::vector<SharedMount> shares;  // this container's
  std::array<uint32_t, 3> stdio_ports{};  // 0: no such stream
  bool terminal = false;
  std::vector<ExtraFdStream> extra_fds;
  int64_t host_pid = 0;  // the pid the hooks' state names
};

Result<AgentContainerSpec> GuestContainerSpec(const GuestContainer& container);

}  // namespace sandbox::shim
