#include "shim/containerd/pod_sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/unix_socket.h"
#include "common/oci/spec_json.h"
#include "shim/containerd/pod_namespaces.h"
#include "shim/microvm/guest_network.h"
#include "shim/microvm/guest_container.h"
#include "shim/microvm/microvm_sandbox.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/runtime/runtime.h"

namespace sandbox::shim::containerd {
namespace {

constexpr auto kAgentCallConnect = std::chrono::seconds(10);
constexpr auto kStreamAcceptLimit = std::chrono::seconds(30);
// How long a failed container start waits for the agent to report its init's exit.
constexpr auto kFailedStartExitLimit = std::chrono::seconds(10);
const char* const kStreamNames[] = {"stdin", "stdout", "stderr"};

// mount(2) flags for the options that are flags; the rest is the data.
struct MountFlags {
  unsigned long flags = 0;
  std::string data;
};

MountFlags SplitOptions(const std::vector<std::string>& options) {
  MountFlags result;
  for (const std::string& option : options) {
    if (option == "ro") {
      result.flags |= MS_RDONLY;
    } else if (option == "rw") {
    } else if (option == "bind") {
      result.flags |= MS_BIND;
    } else if (option == "rbind") {
      result.flags |= MS_BIND | MS_REC;
    } else if (option == "nosuid") {
      result.flags |= MS_NOSUID;
    } else if (option == "nodev") {
      result.flags |= MS_NODEV;
    } else if (option == "noexec") {
      result.flags |= MS_NOEXEC;
    } else {
      result.data += (result.data.empty() ? "" : ",") + option;
    }
  }
  return result;
}

}  // namespace

Status MountRootfs(const std::vector<RootfsMount>& mounts, const std::string& target) {
  for (size_t index = 0; index < mounts.size(); ++index) {
    const RootfsMount& mount = mounts[index];
    MountFlags flags = SplitOptions(mount.options);
    if (mount.type == "bind") flags.flags |= MS_BIND;
    const bool bind = (flags.flags & MS_BIND) != 0;
    const char* type = bind ? nullptr : mount.type.c_str();
    Status failed;
    if (::mount(mount.source.c_str(), target.c_str(), type, flags.flags & ~MS_RDONLY,
                flags.data.empty() ? nullptr : flags.data.c_str()) != 0) {
      failed = ErrnoStatus("mount " + mount.type + " " + mount.source, target);
    } else if (bind && (flags.flags & MS_RDONLY) &&
               ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      failed = ErrnoStatus("remount read-only", target);
    } else if (!bind && (flags.flags & MS_RDONLY) &&
               ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      failed = ErrnoStatus("remount read-only", target);
    }
    if (!failed.ok()) {
      for (size_t undo = 0; undo <= index; ++undo) (void)::umount2(target.c_str(), MNT_DETACH);
      return failed.Wrap("rootfs[" + std::to_string(index) + "] (" + mount.type + ")");
    }
  }
  return Status::Ok();
}

// One process of a task: the init (exec_id "") or an exec.
struct PodSandbox::Process {
  Process() = default;
  Process(Process&&) = default;
  Process& operator=(Process&&) = default;
  // The stream listeners' socket files go with the process (accepted ones
  // are gone already).
  ~Process() {
    for (const std::string& path : socket_paths) (void)::unlink(path.c_str());
  }

  std::string exec_id;
  std::vector<std::string> socket_paths;
  TaskStdio stdio;
  std::array<uint32_t, 3> ports{};
  std::array<UniqueFd, 3> listeners;
  std::array<UniqueFd, 3> fifos;  // the host ends, as ProcessRelay takes them
  // A second writer on the stdin FIFO: containerd's closing its end is no
  // EOF until CloseIO drops this one too (as runc's shim does).
  UniqueFd stdin_keeper;
  std::string process_json;  // an exec's, until Start
  std::unique_ptr<ProcessRelay> relay;
  std::thread waiter;
  TaskStatus status = TaskStatus::kCreated;
  bool starting = false;  // Start is between its check and its report
  std::optional<ProcessExit> exit;
};

struct PodSandbox::Task {
  std::string id;
  std::string bundle;
  bool rootfs_mounted = false;
  int64_t guest_pid = 0;  // the init's, in the guest
  std::vector<SharedMount> shares;  // a pod's later container: its shares in the running virtiofsd
  bool paused = false;
  Process init;
  std::map<std::string, std::unique_ptr<Process>> execs;
};

PodSandbox::PodSandbox(PodConfig config, Callbacks callbacks)
    : config_(std::move(config)), callbacks_(std::move(callbacks)) {}

PodSandbox::~PodSandbox() { Shutdown(); }

Result<std::unique_ptr<AgentClient>> PodSandbox::Agent() {
  if (!vm_ || vm_->Lost()) return FailedPrecondition("the sandbox VM is not running");
  // A killed VMM closes its sockets before its exit is seen (KVM's teardown
  // comes between): a connect in that window stops once the exit shows.
  const SandboxVm* vm = vm_.get();
  return AgentClient::Connect(SandboxFiles(config_.state_dir).vsock, kAgentCallConnect, [vm] { return vm->Lost(); });
}

Result<std::unique_ptr<AgentClient>> PodSandbox::AgentForTask(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    SANDBOX_RETURN_IF_ERROR(Find(id, "").status());
  }
  return Agent();
}

Status PodSandbox::BootVm(const oci::Spec& spec, const std::string& bundle, const std::string& netns_path) {
  SANDBOX_RETURN_IF_ERROR(MakeDirs(config_.state_dir, 0700));
  SANDBOX_ASSIGN_OR_RETURN(SandboxPlan plan, PlanSandbox(config_.microvm, spec, bundle, config_.state_dir));
  SANDBOX_RETURN_IF_ERROR(PlanPodNetwork(plan, netns_path));
  SANDBOX_RETURN_IF_ERROR(UseVmTemplate(plan));
  SANDBOX_RETURN_IF_ERROR(WriteSandboxFiles(plan, spec, config_.state_dir));
  auto vm = std::make_unique<SandboxVm>(SandboxFiles(config_.state_dir),
                                        SandboxVmPlan{.vmm = config_.microvm.vmm,
                                                      .virtiofsd = config_.microvm.virtiofsd,
                                                      .shares = plan.shares,
                                                      .boot_timeout_ms = config_.microvm.boot_timeout_ms,
                                                      .netns_path = netns_path,
                                                      .jail = plan.boot.jail_vmm,
                                                      .restored = plan.from_template.has_value()},
                                        phases_);
  // On the owner thread: sandbox-vmm and virtiofsd die with the thread that forked them.
  SANDBOX_RETURN_IF_ERROR(owner_.Run([&vm] { return vm->Start(); }));
  SANDBOX_RETURN_IF_ERROR(vm->WaitForAgent([] { return Status::Ok(); }));
  vmm_pid_ = static_cast<uint32_t>(vm->vmm_pid());
  vm_ = std::move(vm);
  shares_ = plan.shares;
  rootfs_fstype_ = plan.rootfs.fstype;
  if (callbacks_.oom) {
    Result<std::unique_ptr<AgentClient>> watcher = Agent();
    if (!watcher.ok()) return watcher.status().Wrap("the OOM event connection to the agent");
    oom_events_ = std::make_unique<OomEventWatch>(std::move(watcher).value(), callbacks_.oom);
  }
  return Status::Ok();
}

void PodSandbox::StopVm(std::chrono::milliseconds grace) {
  oom_events_.reset();
  if (vm_) vm_->Stop(grace);
}

Result<std::unique_ptr<PodSandbox::Process>> PodSandbox::PrepareProcess(const std::string& exec_id,
                                                                        const TaskStdio& stdio) {
  auto process = std::make_unique<Process>();
  process->exec_id = exec_id;
  process->stdio = stdio;
  const SandboxFiles files(config_.state_dir);
  const std::array<const std::string*, 3> paths = {&stdio.stdin_path, &stdio.stdout_path, &stdio.stderr_path};
  for (size_t stream = 0; stream < 3; ++stream) {
    if (paths[stream]->empty() || (stdio.terminal && stream == 2)) continue;
    if (paths[stream]->starts_with("file://") && stream > 0) {
      // ctr --log-uri: the output is appended to that file.
      const std::string file = paths[stream]->substr(7);
      process->fifos[stream].Reset(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    } else if (paths[stream]->find("://") != std::string::npos) {
      return Unimplemented(std::string("the task's ") + kStreamNames[stream] + " " + *paths[stream] +
                           ": only FIFOs and file:// logs are supported");
    } else {
      // O_RDWR: neither open waits for containerd's end of the FIFO.
      process->fifos[stream].Reset(::open(paths[stream]->c_str(), O_RDWR | O_CLOEXEC));
    }
    if (!process->fifos[stream].valid()) {
      return ErrnoStatus("open", *paths[stream]).Wrap(std::string("the task's ") + kStreamNames[stream]);
    }
    uint32_t port;
    {
      std::lock_guard lock(mutex_);
      port = next_port_++;
    }
    process->socket_paths.push_back(GuestPortSocket(files.vsock, port));
    SANDBOX_ASSIGN_OR_RETURN(process->listeners[stream], ListenForGuestPort(files.vsock, port));
    process->ports[stream] = port;
  }
  if (process->fifos[0].valid()) {
    // Reading: a separate read-only end, so the keeper's write end is what
    // holds EOF back (an O_RDWR reader would never see one).
    process->stdin_keeper = std::move(process->fifos[0]);
    process->fifos[0].Reset(::open(stdio.stdin_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!process->fifos[0].valid()) return ErrnoStatus("open", stdio.stdin_path).Wrap("the task's stdin");
    const int flags = ::fcntl(process->fifos[0].get(), F_GETFL);
    ::fcntl(process->fifos[0].get(), F_SETFL, flags & ~O_NONBLOCK);
  }
  return process;
}

Status PodSandbox::ConnectProcess(const std::string& id, Process& process) {
  const SandboxFiles files(config_.state_dir);
  ProcessStreamEnds guest;
  for (size_t stream = 0; stream < 3; ++stream) {
    if (!process.listeners[stream].valid()) continue;
    SANDBOX_ASSIGN_OR_RETURN(guest.stdio[stream], AcceptWithin(process.listeners[stream].get(), kStreamAcceptLimit,
                                                               std::string("the process's ") + kStreamNames[stream]));
    process.listeners[stream].Reset();
    (void)::unlink(GuestPortSocket(files.vsock, process.ports[stream]).c_str());
  }
  process.relay = std::make_unique<ProcessRelay>(ProcessStreamEnds{.stdio = std::move(process.fifos)},
                                                 std::move(guest), std::vector<FdAccess>{});
  // WaitProcess blocks: a connection of its own.
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> waiter_agent, Agent());
  process.waiter = std::thread([this, &process, id, agent = std::shared_ptr<AgentClient>(std::move(waiter_agent))] {
    const Result<int> status = agent->Wait(id, process.exec_id);
    if (!status.ok()) {
      std::fprintf(stderr, "containerd-shim-sandbox-rt-v2: waiting for %s/%s: %s%s\n", id.c_str(),
                   process.exec_id.c_str(), status.status().message().c_str(),
                   (ConsoleTail(SandboxFiles(config_.state_dir).console) + "; sandbox-vmm: " +
                    LogTail(SandboxFiles(config_.state_dir).vmm_log))
                       .c_str());
    }
    process.relay->Drain();
    ProcessExit exit{.pid = vmm_pid_,
                     .exit_status = static_cast<uint32_t>(status.ok() ? *status : 255),
                     .exited_at = std::chrono::system_clock::now()};
    {
      std::unique_lock lock(mutex_);
      // Its start is reported first.
      changed_.wait(lock, [&] { return !process.starting; });
      process.exit = exit;
      process.status = TaskStatus::kStopped;
    }
    changed_.notify_all();
    if (callbacks_.exited) callbacks_.exited(id, process.exec_id, exit);
  });
  return Status::Ok();
}

Result<uint32_t> PodSandbox::Create(const CreateTask& request) {
  std::lock_guard creating(creating_);
  bool first;
  {
    std::lock_guard lock(mutex_);
    if (tasks_.count(request.id) != 0) return AlreadyExists("task " + request.id + " exists");
    first = vm_ == nullptr;
  }
  auto task = std::make_unique<Task>();
  task->id = request.id;
  task->bundle = request.bundle;
  const std::string rootfs = request.bundle + "/rootfs";
  if (!request.rootfs.empty()) {
    SANDBOX_RETURN_IF_ERROR(MakeDirs(rootfs, 0711));
    SANDBOX_RETURN_IF_ERROR(MountRootfs(request.rootfs, rootfs));
    task->rootfs_mounted = true;
  }
  Result<oci::Spec> spec = LoadBundleSpec(request.bundle);
  Status made = spec.status();
  if (made.ok() && spec->hooks &&
      (spec->hooks->prestart || spec->hooks->create_runtime || spec->hooks->create_container ||
       spec->hooks->poststart || spec->hooks->poststop)) {
    made = Unimplemented("hooks: only startContainer hooks (run in the guest) are supported by the shim");
  }
  if (made.ok()) {
    made = first ? CreateFirstTask(*task, request, *spec, PodRoleOf(*spec))
                 : CreateLaterTask(*task, request, *spec, PodRoleOf(*spec));
  }
  if (!made.ok()) {
    if (task->rootfs_mounted) (void)::umount2(rootfs.c_str(), MNT_DETACH);
    return made;
  }
  std::lock_guard lock(mutex_);
  tasks_[request.id] = std::move(task);
  return vmm_pid_;
}

Status PodSandbox::CreateFirstTask(Task& task, const CreateTask& request, oci::Spec& spec, PodRole role) {
  if (role == PodRole::kContainer) {
    return FailedPrecondition("task " + request.id + ": a container of a CRI pod, but its pod's sandbox container "
                              "has no VM in this shim (" + kCriContainerTypeAnnotation + "=sandbox comes first)");
  }
  std::string netns_path;
  if (role == PodRole::kSandbox) {
    // CNI's namespace on the host: its interfaces become the VM's NICs, and
    // the pod's containers share the VM's own network namespace.
    netns_path = NetworkNamespacePathOf(spec);
    SANDBOX_RETURN_IF_ERROR(MapPodNamespaces(spec, {}));
  }
  auto undo = [&](const Status& why) {
    StopVm(std::chrono::milliseconds(0));
    vm_.reset();
    (void)RemoveTree(config_.state_dir);
    return why;
  };
  if (Status booted = BootVm(spec, request.bundle, netns_path); !booted.ok()) return undo(booted);
  if (Status created = CreateGuestContainer(task, request, spec, vm_->agent()); !created.ok()) return undo(created);
  if (role == PodRole::kSandbox) sandbox_task_id_ = request.id;
  return Status::Ok();
}

Status PodSandbox::CreateLaterTask(Task& task, const CreateTask& request, oci::Spec& spec, PodRole role) {
  // The sandbox container's init, while it lives: its guest pid names the
  // pod's namespaces (a stale one could name another process's).
  int64_t sandbox_guest_pid = 0;
  {
    std::lock_guard lock(mutex_);
    const auto sandbox = tasks_.find(sandbox_task_id_);
    if (sandbox != tasks_.end() && !sandbox->second->init.exit) sandbox_guest_pid = sandbox->second->guest_pid;
  }
  if (role != PodRole::kContainer || sandbox_guest_pid == 0) {
    return FailedPrecondition("task " + request.id + ": this shim's VM runs " +
                              (sandbox_task_id_.empty() ? "one task only" : "pod " + sandbox_task_id_) +
                              "; only a container of that CRI pod (" + kCriContainerTypeAnnotation +
                              "=container) joins it");
  }
  if (rootfs_fstype_ != "dir" || vm_->virtiofsd_pid() <= 0) {
    return FailedPrecondition("task " + request.id + ": a pod's later containers reach the VM through its "
                              "virtio-fs share, which needs rootfs_mode \"virtiofs\" in the runtime config");
  }
  SANDBOX_RETURN_IF_ERROR(MapPodNamespaces(spec, {.sandbox_task_pid = vmm_pid_, .sandbox_guest_pid = sandbox_guest_pid}));
  SANDBOX_ASSIGN_OR_RETURN(std::vector<SharedMount> shares, PlanSharedMounts(spec, request.bundle));
  SANDBOX_ASSIGN_OR_RETURN(SharedMount root, PlanRootfsShare(spec, request.bundle));
  if (root.read_only) SANDBOX_RETURN_IF_ERROR(MakeMountpointsOfReadOnlyRoot(spec, request.bundle, root));
  shares.push_back(root);
  for (SharedMount& share : shares) share.under = PodContainerShareDir(request.id);
  const std::string shared_dir = SandboxFiles(config_.state_dir).shared_dir;
  SANDBOX_RETURN_IF_ERROR(AddSharesToVirtiofsd(vm_->virtiofsd_pid(), shares, shared_dir));
  task.shares = shares;
  Result<std::unique_ptr<AgentClient>> agent = Agent();
  Status created = agent.status();
  if (created.ok()) created = CreateGuestContainer(task, request, spec, **agent);
  if (!created.ok()) (void)RemoveSharesFromVirtiofsd(vm_->virtiofsd_pid(), shares, shared_dir);
  return created;
}

Status PodSandbox::CreateGuestContainer(Task& task, const CreateTask& request, const oci::Spec& spec,
                                        AgentClient& agent) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<Process> init, PrepareProcess("", request.stdio));
  task.init = std::move(*init);
  SANDBOX_ASSIGN_OR_RETURN(AgentContainerSpec guest,
                           GuestContainerSpec({.id = request.id,
                                               .bundle = request.bundle,
                                               .config_json = oci::SpecToJson(spec),
                                               .rootfs_fstype = rootfs_fstype_,
                                               .shares = task.shares.empty() ? shares_ : task.shares,
                                               .stdio_ports = task.init.ports,
                                               .terminal = request.stdio.terminal,
                                               .host_pid = vmm_pid_}));
  Result<int64_t> created = agent.CreateContainer(guest);
  if (!created.ok()) return Status(created.status().code(), created.status().message() + vm_->DiagnosticTail());
  task.guest_pid = *created;
  Status connected = ConnectProcess(request.id, task.init);
  if (!connected.ok()) {
    // The container exists in the guest: it goes too.
    (void)agent.Signal(request.id, SIGKILL, /*all=*/true);
    (void)agent.RemoveContainer(request.id);
  }
  return connected;
}

Result<PodSandbox::Process*> PodSandbox::Find(const std::string& id, const std::string& exec_id) {
  const auto task = tasks_.find(id);
  if (task == tasks_.end()) return NotFound("task " + id + " not found");
  if (exec_id.empty()) return &task->second->init;
  const auto exec = task->second->execs.find(exec_id);
  if (exec == task->second->execs.end()) return NotFound("exec " + exec_id + " of task " + id + " not found");
  return exec->second.get();
}

Result<uint32_t> PodSandbox::Start(const std::string& id, const std::string& exec_id) {
  Process* process;
  {
    std::lock_guard lock(mutex_);
    SANDBOX_ASSIGN_OR_RETURN(process, Find(id, exec_id));
    if (process->status != TaskStatus::kCreated || process->starting || process->exit) {
      return FailedPrecondition("process " + id + "/" + exec_id + " is not created");
    }
    process->starting = true;
  }
  Status started = StartProcess(id, *process);
  if (started.ok() && callbacks_.started) callbacks_.started(id, exec_id, vmm_pid_);
  {
    std::lock_guard lock(mutex_);
    process->starting = false;
    if (started.ok() && !process->exit) process->status = TaskStatus::kRunning;
  }
  changed_.notify_all();
  if (!started.ok() && exec_id.empty()) AwaitExitOfFailedStart(id);
  SANDBOX_RETURN_IF_ERROR(started);
  return vmm_pid_;
}

// A container whose start failed has no process left in the guest: its init
// reported the error and exited. The error returns once the agent has
// reported that exit too, so the task reads as stopped, as runc's does, and
// containerd's cleanup (kill, then delete) finds it deletable at once.
void PodSandbox::AwaitExitOfFailedStart(const std::string& id) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, kFailedStartExitLimit, [&] {
    Result<Process*> process = Find(id, "");
    return !process.ok() || (*process)->exit.has_value();
  });
}

Status PodSandbox::StartProcess(const std::string& id, Process& process) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, Agent());
  if (process.exec_id.empty()) return agent->StartContainer(id);
  SANDBOX_RETURN_IF_ERROR(
      agent->ExecProcess(id, process.exec_id, process.process_json, process.ports, process.stdio.terminal));
  return ConnectProcess(id, process);
}

Status PodSandbox::Kill(const std::string& id, const std::string& exec_id, int signal, bool all) {
  {
    std::lock_guard lock(mutex_);
    SANDBOX_ASSIGN_OR_RETURN(Process * process, Find(id, exec_id));
    if (process->exit) return NotFound("process " + id + "/" + exec_id + " has exited");
  }
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, Agent());
  return agent->Signal(id, signal, all, exec_id);
}

Result<ProcessExit> PodSandbox::Wait(const std::string& id, const std::string& exec_id) {
  std::unique_lock lock(mutex_);
  // Found again after each wake: a Delete may free the process meanwhile.
  Result<Process*> process = Find(id, exec_id);
  SANDBOX_RETURN_IF_ERROR(process.status());
  changed_.wait(lock, [&] {
    process = Find(id, exec_id);
    return !process.ok() || (*process)->exit.has_value();
  });
  if (!process.ok()) return NotFound("process " + id + "/" + exec_id + " was deleted before it exited");
  return *(*process)->exit;
}

void PodSandbox::RemoveTask(Task& task) {
  for (auto& [exec_id, exec] : task.execs) {
    if (exec->waiter.joinable()) exec->waiter.join();
  }
  if (task.init.waiter.joinable()) task.init.waiter.join();
  if (task.rootfs_mounted) (void)::umount2((task.bundle + "/rootfs").c_str(), MNT_DETACH);
}

Result<ProcessExit> PodSandbox::Delete(const std::string& id, const std::string& exec_id) {
  std::unique_ptr<Task> removed;
  std::unique_ptr<Process> exec;
  ProcessExit exit;
  bool never_started = false;
  std::vector<std::string> live_execs;
  {
    std::lock_guard lock(mutex_);
    SANDBOX_ASSIGN_OR_RETURN(Process * process, Find(id, exec_id));
    if (!process->exit && process->status != TaskStatus::kCreated) {
      return FailedPrecondition("process " + id + "/" + exec_id + " is running; kill it first");
    }
    if (process->starting) return FailedPrecondition("process " + id + "/" + exec_id + " is starting");
    exit = process->exit.value_or(ProcessExit{.pid = vmm_pid_, .exit_status = 0,
                                              .exited_at = std::chrono::system_clock::now()});
    if (!exec_id.empty()) {
      exec = std::move(tasks_[id]->execs[exec_id]);
      tasks_[id]->execs.erase(exec_id);
    } else {
      never_started = !process->exit;
      removed = std::move(tasks_[id]);
      tasks_.erase(id);
      for (const auto& [other, other_process] : removed->execs) {
        if (!other_process->exit && other_process->waiter.joinable()) live_execs.push_back(other);
      }
    }
  }
  changed_.notify_all();  // a Wait on what was deleted returns
  if (exec) {
    if (exec->waiter.joinable()) exec->waiter.join();
    return exit;
  }
  // The agent's calls outside the lock; the waiters joined below return
  // only once these processes are gone.
  Result<std::unique_ptr<AgentClient>> agent = Agent();
  if (agent.ok()) {
    // A created task that never started: the agent kills its init.
    if (never_started) (void)(*agent)->Signal(id, SIGKILL, /*all=*/true);
    // Execs outlive their init only until this.
    for (const std::string& other : live_execs) (void)(*agent)->Signal(id, SIGKILL, /*all=*/false, other);
  }
  RemoveTask(*removed);
  if (agent.ok()) (void)(*agent)->RemoveContainer(id);
  if (!removed->shares.empty() && vm_) {
    (void)RemoveSharesFromVirtiofsd(vm_->virtiofsd_pid(), removed->shares, SandboxFiles(config_.state_dir).shared_dir);
  }
  return exit;
}

Result<TaskState> PodSandbox::State(const std::string& id, const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  SANDBOX_ASSIGN_OR_RETURN(Process * process, Find(id, exec_id));
  TaskStatus status = process->status;
  if (exec_id.empty() && tasks_[id]->paused && status == TaskStatus::kRunning) status = TaskStatus::kPaused;
  return TaskState{.id = id,
                   .exec_id = exec_id,
                   .bundle = tasks_[id]->bundle,
                   .pid = vmm_pid_,
                   .status = status,
                   .stdio = process->stdio,
                   .exit = process->exit};
}

Result<std::vector<ProcessInfo>> PodSandbox::Pids(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, AgentForTask(id));
  return agent->ListProcesses(id);
}

Status PodSandbox::Pause(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, AgentForTask(id));
  SANDBOX_RETURN_IF_ERROR(agent->PauseContainer(id));
  std::lock_guard lock(mutex_);
  tasks_[id]->paused = true;
  return Status::Ok();
}

Status PodSandbox::Resume(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, AgentForTask(id));
  SANDBOX_RETURN_IF_ERROR(agent->ResumeContainer(id));
  std::lock_guard lock(mutex_);
  tasks_[id]->paused = false;
  return Status::Ok();
}

Status PodSandbox::Exec(const std::string& id, const std::string& exec_id, const std::string& process_json,
                        const TaskStdio& stdio) {
  {
    std::lock_guard lock(mutex_);
    SANDBOX_RETURN_IF_ERROR(Find(id, "").status());
    if (exec_id.empty()) return InvalidArgument("exec_id: required");
    if (tasks_[id]->execs.count(exec_id) != 0) return AlreadyExists("exec " + exec_id + " exists");
    // As runc: no exec into a container whose init has exited (or whose VM is gone).
    if (tasks_[id]->init.exit) return FailedPrecondition("task " + id + " is not running: it has exited");
  }
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<Process> process, PrepareProcess(exec_id, stdio));
  process->process_json = process_json;
  std::lock_guard lock(mutex_);
  tasks_[id]->execs[exec_id] = std::move(process);
  return Status::Ok();
}

Status PodSandbox::ResizePty(const std::string& id, const std::string& exec_id, uint32_t width, uint32_t height) {
  {
    std::lock_guard lock(mutex_);
    SANDBOX_RETURN_IF_ERROR(Find(id, exec_id).status());
  }
  if (width > 0xffff || height > 0xffff) return InvalidArgument("width/height: above 65535");
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, Agent());
  return agent->ResizeTty(id, exec_id, static_cast<uint16_t>(height), static_cast<uint16_t>(width));
}

Status PodSandbox::CloseIO(const std::string& id, const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  SANDBOX_ASSIGN_OR_RETURN(Process * process, Find(id, exec_id));
  process->stdin_keeper.Reset();
  return Status::Ok();
}

Status PodSandbox::Update(const std::string& id, const std::string& resources_json) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, AgentForTask(id));
  return agent->UpdateContainer(id, resources_json);
}

Result<ContainerStats> PodSandbox::Stats(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, AgentForTask(id));
  return agent->Stats(id);
}

bool PodSandbox::HasTasks() {
  std::lock_guard lock(mutex_);
  return !tasks_.empty();
}

uint32_t PodSandbox::vmm_pid() { return vmm_pid_; }

void PodSandbox::Shutdown() {
  std::map<std::string, std::unique_ptr<Task>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(tasks_);
  }
  // The VM first: the waiters' connections end with it.
  StopVm();
  for (auto& [id, task] : tasks) RemoveTask(*task);
  vm_.reset();
  (void)RemoveTree(config_.state_dir);
}

}  // namespace sandbox::shim::containerd
