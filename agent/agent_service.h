// The Agent service's handlers, registered on a ttrpc server. Calls the
// agent does not implement yet are answered UNIMPLEMENTED by the server.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent.pb.h"
#include "agent/container/container.h"
#include "agent/oom_watcher.h"
#include "agent/process_table.h"
#include "common/ttrpc/server.h"

namespace sandbox::agent {

struct AgentOptions {
  bool pid1 = false;  // guest init duties done; DestroySandbox powers off
  // What container inits re-execute: a sealed copy of the agent
  // (SealedSelfExecutable), owned by the caller and outliving the service.
  int agent_executable = -1;
  // Host test mode: host stdio port P is the Unix socket <prefix>_P (empty:
  // vsock CID 2, through sandbox-vmm).
  std::string host_socket_prefix;
  // Where block-device rootfs are mounted, one directory per container.
  std::string work_dir = "/run/sandbox-agent/containers";
  // cgroup2 mount for container cgroups; empty: none (host test mode default).
  std::string cgroup_root;
};

// CreateContainer's checks of the request itself (the id, the rootfs type);
// Container::CheckConfig checks its config.
Status CheckCreateContainerRequest(const v1::CreateContainerRequest& request);
// What Container::Create gets for `request` (without stdio, which the
// caller connects).
ContainerOptions ContainerOptionsFor(const v1::CreateContainerRequest& request, const AgentOptions& agent,
                                     SharedFsMounts* shared_fs_mounts);

class AgentService {
 public:
  AgentService(AgentOptions options, ProcessTable& processes);

  void RegisterOn(ttrpc::Server& server);

  // Set once DestroySandbox was called (host test mode: the agent exits).
  bool destroy_requested() const { return destroy_requested_.load(); }

 private:
  void RegisterContainerCalls(ttrpc::Server& server);
  void RegisterProcessCalls(ttrpc::Server& server);
  void RegisterEventCalls(ttrpc::Server& server);
  void RegisterNetworkCalls(ttrpc::Server& server);
  Result<v1::AfterRestoreResponse> AfterRestore(const v1::AfterRestoreRequest& request);
  Result<v1::SharedRangesResponse> GetSharedRanges(const v1::SharedRangesRequest& request);
  // Validates the config, then applies it to the guest's NICs (PID 1 only).
  Result<v1::Empty> UpdateNetwork(const v1::UpdateNetworkRequest& request);
  Result<v1::CreateContainerResponse> CreateContainer(const v1::CreateContainerRequest& request);
  // Its cgroup's OOM kills become GetOomEvent answers (a failure is logged:
  // the container runs, without OOM events).
  void WatchForOom(const Container& container);
  // The container, or kNotFound naming the id.
  Result<std::shared_ptr<Container>> Find(const std::string& id);
  // The same once it is created: kFailedPrecondition while its create runs.
  Result<std::shared_ptr<Container>> FindCreated(const std::string& id);

  AgentOptions options_;
  ProcessTable& processes_;
  // Before containers_: the containers' shares go before it does.
  SharedFsMounts shared_fs_mounts_;
  std::mutex containers_mutex_;
  std::map<std::string, std::shared_ptr<Container>> containers_;
  std::atomic<bool> destroy_requested_{false};
  std::unique_ptr<OomWatcher> oom_watcher_;  // null when inotify failed
  std::mutex network_mutex_;  // one UpdateNetwork at a time
};

}  // namespace sandbox::agent
