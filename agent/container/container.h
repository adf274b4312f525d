// One container as the agent sees it: the init process in its namespaces,
// held before exec until Start(), then signalled, waited for and removed.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/container/cgroup.h"
#include "agent/container/namespaces.h"
#include "agent/container/rootfs_mount.h"
#include "agent/container/shared_fs_mount.h"
#include "agent/process_stdio.h"
#include "agent/process_table.h"
#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

struct ContainerOptions {
  std::string id;
  std::string config_json;
  // A directory the agent can see (fstype empty or "dir"), or a block device
  // holding an erofs/ext4 image, mounted under work_dir/<id>.
  std::string rootfs;
  std::string rootfs_fstype;
  bool no_pivot = false;
  std::string work_dir = "/run/sandbox-agent/containers";
  // A cgroup2 mount for the container's cgroup; empty: none (host test mode).
  std::string cgroup_root;
  // Connected to the init's stdio; null: /dev/null in, the agent's out.
  std::unique_ptr<ProcessStdio> stdio;
  // A virtio-fs share to mount first (host bind mounts); empty tag: none.
  std::string shared_fs_tag;
  std::string shared_fs_mount_point;
  // Where the share is looked up first (a pod's containers share one mount);
  // null: the container mounts its own.
  SharedFsMounts* shared_fs_mounts = nullptr;
  // The runtime's state JSON for startContainer hooks; empty: made here.
  std::string state_json;
};

class Container {
 public:
  enum class State { kCreated, kRunning, kStopped };

  // What CheckConfig found: the parsed config, its namespaces, and the state
  // JSON the init's hooks get.
  struct CheckedConfig {
    oci::Spec spec;
    NamespacePlan namespaces;
    std::string state_json;
  };
  // Everything Create checks before it touches the system (no mount,
  // cgroup, file or process): the request's config and state JSON, and what
  // this agent supports. Errors name the field.
  static Result<CheckedConfig> CheckConfig(const ContainerOptions& request);

  // Parses and checks the config, clones the init into the new namespaces,
  // and returns once the container is built (or with the init's error, the
  // init reaped). `agent_executable` is the fd the init re-executes
  // (agent/self_executable.h); it must outlive the container.
  static Result<std::unique_ptr<Container>> Create(ContainerOptions request, ProcessTable& processes,
                                                   int agent_executable);
  // Kills what is left and forgets the init.
  ~Container();
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  // Releases the init into exec; fails with the exec's error.
  Status Start();
  // OCI exec: runs `process_json` (a runtime-spec process object) in the
  // container's namespaces and cgroup, under its seccomp filter; returns once
  // it has exec'd, or with the reason it could not.
  Status Exec(const std::string& exec_id, const std::string& process_json, std::unique_ptr<ProcessStdio> stdio);
  // Blocks until that process exits; the shell-style status. Its record is
  // dropped once waited for and its output has reached the host.
  Result<int> WaitExec(const std::string& exec_id);
  Status SignalExec(const std::string& exec_id, int signal);
  // The terminal of the init (exec_id empty) or of an exec: new size.
  Status ResizeTty(const std::string& exec_id, uint32_t rows, uint32_t columns);
  // No more input for that process (ProcessStdio::CloseStdin).
  Status CloseStdin(const std::string& exec_id);
  // `all`: every process of the container (its pid namespace), not just init.
  Status Signal(int signal, bool all);
  // cgroup.freeze; kFailedPrecondition without a cgroup.
  Status Freeze(bool frozen);
  // New limits for the container's cgroup; kFailedPrecondition without one.
  Status Update(const oci::Resources& resources);
  Result<CgroupStats> Stats();
  // Every process of the container's pid namespace (init first).
  Result<std::vector<pid_t>> Processes();
  // Blocks until the init exits; the shell-style status (128+n for signal n).
  int Wait();
  State state();
  pid_t pid() const { return pid_; }
  const std::string& id() const { return id_; }
  // The container's cgroup directory; empty without one (host test mode).
  std::string cgroup_path() const { return cgroup_ ? cgroup_->path() : ""; }

 private:
  Container(std::string id, pid_t pid, UniqueFd channel, ProcessTable& processes)
      : id_(std::move(id)), pid_(pid), channel_(std::move(channel)), processes_(processes) {}

  // Declared first: destroyed last, after the init is killed and reaped.
  std::unique_ptr<Cgroup> cgroup_;
  std::shared_ptr<SharedFsMount> shared_fs_;
  std::unique_ptr<RootfsMount> rootfs_;
  std::unique_ptr<ProcessStdio> stdio_;
  std::string id_;
  pid_t pid_;
  UniqueFd channel_;
  ProcessTable& processes_;
  struct ExecProcess {
    pid_t pid;
    std::unique_ptr<ProcessStdio> stdio;
    bool waited = false;
  };
  // Forgets the exec'd processes that were waited for and whose output is
  // delivered. Called with mutex_ held.
  void PruneExecs();
  // The stdio of the init (exec_id empty) or of an exec; null if none.
  // Called with mutex_ held.
  ProcessStdio* StdioOf(const std::string& exec_id);

  std::string config_json_;   // for exec: the seccomp filter
  int agent_executable_ = -1;  // what exec-init runs (not owned)
  std::mutex mutex_;
  bool started_ = false;
  bool frozen_ = false;
  std::map<std::string, ExecProcess> execs_;
};

}  // namespace sandbox::agent
