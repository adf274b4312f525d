// The shim's typed view of the guest agent's API (proto/agent.proto) over
// ttrpc through sandbox-vmm's hybrid vsock socket.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/net/network_config.h"
#include "common/io/preserved_fds.h"
#include "common/ttrpc/client.h"
#include "shim/microvm/guest_memory_range.h"
#include "shim/runtime/sandbox.h"

namespace sandbox::shim {

// One --preserve-fds fd: the host listens on `port` for the agent's stream.
struct ExtraFdStream {
  uint32_t port = 0;
  FdAccess access;
};

struct AgentContainerSpec {
  std::string id;
  std::string config_json;
  std::string rootfs_device;
  std::string rootfs_fstype;
  bool no_pivot = false;
  uint32_t stdin_port = 0;
  uint32_t stdout_port = 0;
  uint32_t stderr_port = 0;
  bool terminal = false;  // process.terminal: stdout carries the pty, no stderr
  std::string shared_fs_tag;  // host bind mounts (shared_fs.h); empty: none
  std::string shared_fs_mount_point;
  std::vector<ExtraFdStream> extra_fds;  // the process's fds 3, 4, ...
  std::string state_json;                // for startContainer hooks in the guest
};

class AgentClient {
 public:
  // Retries while the guest boots, up to `timeout`, or until `vmm_gone` says
  // the VMM has exited.
  static Result<std::unique_ptr<AgentClient>> Connect(const std::string& vsock_socket,
                                                      std::chrono::milliseconds timeout,
                                                      const std::function<bool()>& vmm_gone = {});

  Status Check();
  // The init's pid in the guest.
  Result<int64_t> CreateContainer(const AgentContainerSpec& spec);
  Status StartContainer(const std::string& id);
  // The container's cgroup frozen or thawed in the guest (one task of a pod).
  Status PauseContainer(const std::string& id);
  Status ResumeContainer(const std::string& id);
  // Forgets an exited container (its processes are gone) and frees its mounts.
  Status RemoveContainer(const std::string& id);
  // EOF on the process's stdin stream.
  Status CloseStdin(const std::string& id, const std::string& exec_id);
  // `exec_id` empty: the container's init (or every process with `all`).
  Status Signal(const std::string& id, int signal, bool all, const std::string& exec_id = "");
  // Blocks (no deadline) until the init (or that exec) exits: its shell-style status.
  Result<int> Wait(const std::string& id, const std::string& exec_id = "");
  // Starts `process_json` (a runtime-spec process) in the container; the
  // agent connects the given stdio ports (0: none) before it answers.
  Status ExecProcess(const std::string& id, const std::string& exec_id, const std::string& process_json,
                     const std::array<uint32_t, 3>& stdio_ports, bool terminal = false,
                     const std::vector<ExtraFdStream>& extra_fds = {});
  // The guest pty of the init (exec_id empty) or of an exec.
  Status ResizeTty(const std::string& id, const std::string& exec_id, uint16_t rows, uint16_t columns);
  // New limits for the container's cgroup in the guest (update).
  Status UpdateContainer(const std::string& id, const std::string& resources_json);
  Result<std::vector<ProcessInfo>> ListProcesses(const std::string& id);
  Result<ContainerStats> Stats(const std::string& id);
  Status DestroySandbox(std::chrono::milliseconds timeout);
  // After a restore from a template: the guest kernel's RNG gets 64 bytes of
  // the host's entropy and is reseeded, and its clock is set to the host's.
  Status AfterRestore();
  // Before a template's snapshot: the largest runs of guest RAM (at most
  // `max_ranges`) that hold the agent's executable.
  Result<std::vector<GuestMemoryRange>> GetSharedRanges(uint32_t max_ranges);
  // The guest NICs get the pod network's names, addresses, routes and neighbours.
  Status UpdateNetwork(const net::NetworkConfig& network);
  // Blocks until a container's cgroup counts an OOM kill (its id) or until
  // 5 s before `timeout` (an empty id: ask again).
  Result<std::string> NextOomEvent(std::chrono::seconds timeout);
  // Ends the connection: a blocking call on another thread returns (kUnavailable).
  void Disconnect() { client_.Shutdown(); }

 private:
  explicit AgentClient(UniqueFd connection) : client_(std::move(connection)) {}
  Result<std::string> Call(const char* method, const std::string& payload,
                           std::chrono::nanoseconds timeout = std::chrono::seconds(30));

  ttrpc::Client client_;
};

}  // namespace sandbox::shim
