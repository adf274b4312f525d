// The shim's typed view of the guest agent's API (proto/agent.proto) over
// ttrpc through sandbox-vmm's hybrid vsock socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/ttrpc/client.h"
#include "shim/runtime/sandbox.h"

namespace sandbox::shim {

struct AgentContainerSpec {
  std::string id;
  std::string config_json;
  std::string rootfs_device;
  std::string rootfs_fstype;
  bool no_pivot = false;
  uint32_t stdin_port = 0;
  uint32_t stdout_port = 0;
  uint32_t stderr_port = 0;
};

class AgentClient {
 public:
  // Retries while the guest boots, up to `timeout`.
  static Result<std::unique_ptr<AgentClient>> Connect(const std::string& vsock_socket,
                                                      std::chrono::milliseconds timeout);

  Status Check();
  Status CreateContainer(const AgentContainerSpec& spec);
  Status StartContainer(const std::string& id);
  Status Signal(const std::string& id, int signal, bool all);
  // Blocks (no deadline) until the init exits: its shell-style status.
  Result<int> Wait(const std::string& id);
  Result<std::vector<ProcessInfo>> ListProcesses(const std::string& id);
  Result<ContainerStats> Stats(const std::string& id);
  Status DestroySandbox(std::chrono::milliseconds timeout);

 private:
  explicit AgentClient(UniqueFd connection) : client_(std::move(connection)) {}
  Result<std::string> Call(const char* method, const std::string& payload,
                           std::chrono::nanoseconds timeout = std::chrono::seconds(30));

  ttrpc::Client client_;
};

}  // namespace sandbox::shim
