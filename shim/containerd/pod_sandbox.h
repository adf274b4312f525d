// What one containerd shim process runs: a sandbox VM and the tasks
// containerd puts in it, in domain terms (the Task service's protobuf
// stays in task_service.cc). The first task created boots the VM; each task
// is a container the agent builds in it, its stdio relayed between
// containerd's FIFOs and vsock streams; execs are more processes in a task.
// The VM ends with Shutdown (or the shim's end: sandbox-vmm is killed with it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/io/process_relay.h"
#include "shim/containerd/owner_thread.h"
#include "shim/containerd/oom_events.h"
#include "shim/containerd/pod_role.h"
#include "shim/microvm/microvm_config.h"
#include "shim/microvm/sandbox_vm.h"
#include "shim/runtime/sandbox.h"

namespace sandbox::shim::containerd {

// containerd's paths for one process's stdio (empty: no such stream): FIFOs,
// or file:///path (ctr --log-uri: appended to). With a terminal, stdout
// carries the pty and there is no stderr.
struct TaskStdio {
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  bool terminal = false;
};

// One mount of CreateTaskRequest.rootfs (the snapshotter's overlay, or a bind).
struct RootfsMount {
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct CreateTask {
  std::string id;
  std::string bundle;
  std::vector<RootfsMount> rootfs;  // empty: the bundle has its rootfs/ already
  TaskStdio stdio;
};

enum class TaskStatus { kCreated, kRunning, kStopped, kPaused };

struct ProcessExit {
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  std::chrono::system_clock::time_point exited_at;
};

struct TaskState {
  std::string id;
  std::string exec_id;
  std::string bundle;
  uint32_t pid = 0;
  TaskStatus status = TaskStatus::kCreated;
  TaskStdio stdio;
  std::optional<ProcessExit> exit;
};

struct PodConfig {
  std::string state_dir;  // the VM's files (sandbox_files.h); removed by Shutdown
  MicroVmConfig microvm;
};

class PodSandbox {
 public:
  // For the task events, in containerd's order: a process's start is
  // reported (from Start) before its exit (from its waiter thread).
  struct Callbacks {
    std::function<void(const std::string& id, const std::string& exec_id, uint32_t pid)> started;
    std::function<void(const std::string& id, const std::string& exec_id, const ProcessExit&)> exited;
    // A container's cgroup in the guest counted an OOM kill (OomEventWatch).
    std::function<void(const std::string& id)> oom;
  };

  PodSandbox(PodConfig config, Callbacks callbacks);
  PodSandbox(const PodSandbox&) = delete;
  PodSandbox& operator=(const PodSandbox&) = delete;
  ~PodSandbox();

  // Mounts the rootfs on <bundle>/rootfs, boots the VM for the first task,
  // has the agent build the container with its stdio streams. Returns the
  // task's pid (sandbox-vmm's: the host process the container lives in).
  // A CRI pod (pod_role.h): its sandbox container is the first task; its
  // other containers join that VM, their shares added to the running
  // virtiofsd and their namespaces mapped (pod_namespaces.h).
  // A failure leaves nothing behind: no mount, VM, share, socket or state.
  Result<uint32_t> Create(const CreateTask& task);
  Result<uint32_t> Start(const std::string& id, const std::string& exec_id);
  Status Kill(const std::string& id, const std::string& exec_id, int signal, bool all);
  // Blocks until the process has exited.
  Result<ProcessExit> Wait(const std::string& id, const std::string& exec_id);
  // Forgets an exited process (a task: its container, and the rootfs mount).
  Result<ProcessExit> Delete(const std::string& id, const std::string& exec_id);
  Result<TaskState> State(const std::string& id, const std::string& exec_id);
  Result<std::vector<ProcessInfo>> Pids(const std::string& id);
  Status Pause(const std::string& id);
  Status Resume(const std::string& id);
  Status Exec(const std::string& id, const std::string& exec_id, const std::string& process_json,
              const TaskStdio& stdio);
  Status ResizePty(const std::string& id, const std::string& exec_id, uint32_t width, uint32_t height);
  // Closes the process's stdin once what containerd wrote has been relayed.
  Status CloseIO(const std::string& id, const std::string& exec_id);
  Status Update(const std::string& id, const std::string& resources_json);
  Result<ContainerStats> Stats(const std::string& id);

  bool HasTasks();
  uint32_t vmm_pid();
  // Ends the VM and removes the state dir (the shim is about to exit).
  void Shutdown();

 private:
  struct Process;
  struct Task;

  // `netns_path`: the pod's CNI network namespace, mirrored into the VM ("": none).
  Status BootVm(const oci::Spec& spec, const std::string& bundle, const std::string& netns_path);
  // Stops the OOM watch and the VM (grace: sandbox_vm.h's Stop).
  void StopVm(std::chrono::milliseconds grace = kVmStopGrace);
  // The task that boots the VM, and a pod's later containers.
  Status CreateFirstTask(Task& task, const CreateTask& request, oci::Spec& spec, PodRole role);
  Status CreateLaterTask(Task& task, const CreateTask& request, oci::Spec& spec, PodRole role);
  // The agent's container for `task` (its init's stdio prepared), connected.
  Status CreateGuestContainer(Task& task, const CreateTask& request, const oci::Spec& spec, AgentClient& agent);
  // Listeners for the process's streams, on fresh ports; opened FIFOs.
  Result<std::unique_ptr<Process>> PrepareProcess(const std::string& exec_id, const TaskStdio& stdio);
  // The agent's StartContainer, or ExecProcess and its streams.
  Status StartProcess(const std::string& id, Process& process);
  void AwaitExitOfFailedStart(const std::string& id);
  // Accepts the agent's stream connections and starts the relays and the waiter.
  Status ConnectProcess(const std::string& id, Process& process);
  Result<Process*> Find(const std::string& id, const std::string& exec_id);
  // A connection of its own to the guest agent (calls may block).
  Result<std::unique_ptr<AgentClient>> Agent();
  // The same, once `id` is known to be a task.
  Result<std::unique_ptr<AgentClient>> AgentForTask(const std::string& id);
  void RemoveTask(Task& task);

  PodConfig config_;
  Callbacks callbacks_;
  PhaseLog phases_;
  OwnerThread owner_;  // forks the VM's helpers (owner_thread.h)
  std::unique_ptr<SandboxVm> vm_;
  std::unique_ptr<OomEventWatch> oom_events_;  // while vm_ runs; stopped before it
  uint32_t vmm_pid_ = 0;
  std::vector<SharedMount> shares_;  // what the VM's virtiofsd serves for the first task
  std::string rootfs_fstype_;
  // A CRI pod's sandbox container: its init's pid in the guest names the
  // namespaces the pod's other containers join. Set by the first Create.
  std::string sandbox_task_id_;
  // One Create at a time: the first boots the VM (sets vm_ and the fields
  // above) that the others join.
  std::mutex creating_;
  std::mutex mutex_;  // guards tasks_, next_port_ and each process's state
  std::condition_variable changed_;  // a process exited or finished starting
  std::map<std::string, std::unique_ptr<Task>> tasks_;
  uint32_t next_port_ = 0x20000;
};

// Mounts CreateTaskRequest.rootfs on `target` in order (overlay, bind or any
// type with its options as data; "ro" honoured); on a failure, what was
// mounted is unmounted. Errors name the mount's index and type.
Status MountRootfs(const std::vector<RootfsMount>& mounts, const std::string& target);

}  // namespace sandbox::shim::containerd
