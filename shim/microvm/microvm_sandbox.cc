#include "shim/microvm/microvm_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/subprocess.h"
#include "common/io/preserved_fds.h"
#include "common/io/terminal.h"
#include "common/oci/spec_json.h"
#include "shim/microvm/agent_client.h"
#include "common/oci/cgroups_path.h"
#include "shim/microvm/host_cgroup.h"
#include "shim/microvm/host_process.h"
#include "shim/microvm/monitor.h"
#include "shim/microvm/monitor_spawn.h"
#include "shim/microvm/shared_fs.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/microvm/signal_forwarding.h"
#include "shim/microvm/exec_session.h"
#include "shim/microvm/guest_network.h"
#include "shim/network/pod_network.h"
#include "shim/microvm/vmm_api_client.h"

namespace sandbox::shim {
namespace {

// The agent is up whenever the container is: later calls connect at once.
constexpr auto kAgentConnectTimeout = std::chrono::seconds(10);

Status CheckFile(const std::string& path, const char* what) {
  if (PathExists(path)) return Status::Ok();
  return FailedPrecondition(std::string(what) + " " + path +
                            " does not exist; run scripts/quickstart.sh or set it in the runtime config "
                            "(`sandbox-rt check` shows what is missing)");
}

Status CheckSpecFile(const std::string& path, const char* field) {
  if (PathExists(path)) return Status::Ok();
  return FailedPrecondition(std::string(field) + ": " + path + " does not exist");
}

Result<std::unique_ptr<AgentClient>> ConnectAgent(const SandboxRef& ref) {
  const SandboxFiles files(ref.state_dir);
  return AgentClient::Connect(files.vsock, kAgentConnectTimeout, VmmExitedCheck(files.vmm_pid));
}

// Connect failures are Unavailable or DeadlineExceeded; an agent that answers
// with an error (an unknown container, say) reached us.
Status SignalThroughAgent(const SandboxRef& ref, int signal, bool all) {
  Result<std::unique_ptr<AgentClient>> agent = ConnectAgent(ref);
  if (!agent.ok()) return Unavailable("the agent could not be reached: " + agent.status().message());
  Status sent = (*agent)->Signal(ref.id, signal, all);
  if (sent.code() == StatusCode::kDeadlineExceeded) return Unavailable(sent.message());
  return sent;
}

bool IsAgentUnreachable(const Status& status) { return status.code() == StatusCode::kUnavailable; }

// SIGKILL without the agent: the container's processes end with the VM, and
// the monitor records 128+9 for it, as for a container killed in the guest.
Status StopVmForKill(const SandboxRef& ref, const std::string& why) {
  const std::optional<ProcessIdentity> vmm = ReadIdentity(SandboxFiles(ref.state_dir).vmm_pid);
  if (!vmm || !IsRunning(*vmm)) return Unavailable("kill " + ref.id + ": " + why + ", and its VM is not running");
  std::fprintf(stderr, "sandbox-rt: kill %s: %s; SIGKILL stops its VM instead\n", ref.id.c_str(), why.c_str());
  KillAndWait(*vmm);
  return Status::Ok();
}

// Waits for child `pid` while handing every forwardable signal to `forward`.
Result<int> WaitForwardingSignals(pid_t pid, const std::function<void(int)>& forward) {
  UniqueFd child(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!child.valid()) return ErrnoStatus("pidfd_open", "waiting for the container");
  SANDBOX_RETURN_IF_ERROR(ForwardSignalsUntil(child.get(), forward));
  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited != pid) return ErrnoStatus("waitpid", "the sandbox monitor");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

Status CheckNamespacePaths(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->namespaces) return Status::Ok();
  const std::vector<oci::Namespace>& namespaces = *spec.linux->namespaces;
  for (size_t i = 0; i < namespaces.size(); ++i) {
    if (!namespaces[i].path || namespaces[i].path->empty()) continue;
    // A network namespace's interfaces are mirrored into the VM (guest_network.h).
    if (namespaces[i].type == "network") continue;
    return Unimplemented("linux.namespaces[" + std::to_string(i) + "].path: the container runs on the microVM's own "
                         "kernel, so it cannot join the host's namespace " + *namespaces[i].path);
  }
  return Status::Ok();
}

Result<std::vector<FdAccess>> PreservedFdsFor(const SandboxCreateRequest& request) {
  if (request.preserve_fds < 0) return InvalidArgument("--preserve-fds: must not be negative");
  return ClassifyPreservedFds(static_cast<size_t>(request.preserve_fds));
}

Result<RootfsPlan> PlanRootfs(const MicroVmConfig& config, const oci::Spec& spec, const std::string& bundle,
                              const std::string& state_dir, bool private_copy) {
  if (config.rootfs_mode == "virtiofs" && !private_copy) {
    SANDBOX_ASSIGN_OR_RETURN(SharedMount share, PlanRootfsShare(spec, bundle));
    if (share.read_only) SANDBOX_RETURN_IF_ERROR(MakeMountpointsOfReadOnlyRoot(spec, bundle, share));
    return RootfsPlan{.fstype = "dir", .share = std::move(share)};
  }
  // A copy, read-only in the VMM; the guest adds a writable overlay.
  const std::string image = SandboxFiles(state_dir).rootfs_image;
  const std::string rootfs = spec.root->path.starts_with("/") ? spec.root->path : bundle + "/" + spec.root->path;
  if (config.rootfs_format == "ext4") {
    return RootfsPlan{.fstype = "ext4", .mkfs = {"mkfs.ext4", "-q", "-F", "-d", rootfs, image, "4G"}};
  }
  return RootfsPlan{.fstype = "erofs", .mkfs = {"mkfs.erofs", "--quiet", image, rootfs}};
}

Status MakeRootfsImage(const RootfsPlan& plan) {
  if (plan.mkfs.empty()) return Status::Ok();
  SANDBOX_ASSIGN_OR_RETURN(CommandResult made, RunCommand(plan.mkfs));
  if (made.exit_code == 0) return Status::Ok();
  return Internal("making the rootfs image with " + plan.mkfs[0] + " failed (status " +
                  std::to_string(made.exit_code) + "): " + made.output);
}

std::string VmmConfigJson(const MicroVmConfig& config, const VmSize& size, const std::string& state_dir,
                          bool rootfs_image, bool shared_fs, const VmTemplate* from_template) {
  const SandboxFiles files(state_dir);
  nlohmann::json vmm = {
      {"vcpus", size.vcpus},
      {"memory_mib", size.memory_mib},
      {"vsock", {{"guest_cid", 3}, {"uds_path", files.vsock}}},
      {"rng", true},
      // Free page reporting: RAM the guest frees goes back to the host.
      {"balloon", true},
      {"serial", files.console},
      {"api_socket", files.api},
  };
  if (from_template != nullptr) {
    vmm["restore"] = {{"state", from_template->state}, {"memory", from_template->memory}};
  } else {
    vmm["kernel"] = config.kernel;
    vmm["initrd"] = config.initrd;
    vmm["cmdline"] = config.kernel_cmdline;
  }
  // For debugging a sandbox: sandbox-vmm's log level (its log is vmm.log).
  if (const char* level = std::getenv("SANDBOX_RT_VMM_LOG_LEVEL"); level != nullptr && *level) vmm["log_level"] = level;
  if (rootfs_image) vmm["block"] = {{{"id", "rootfs"}, {"path", files.rootfs_image}, {"read_only", true}}};
  if (shared_fs) vmm["fs"] = {{{"tag", kSharedFsTag}, {"socket", files.virtiofs_socket}}};
  if (config.jail_vmm) vmm["jail"] = {{"root", files.vm_dir}, {"uid", config.vmm_uid}, {"gid", config.vmm_gid}};
  return vmm.dump(2);
}

Result<SandboxPlan> PlanSandbox(const MicroVmConfig& config, const oci::Spec& spec, const std::string& bundle,
                                const std::string& state_dir, bool private_rootfs) {
  SANDBOX_RETURN_IF_ERROR(CheckNamespacePaths(spec));
  SANDBOX_RETURN_IF_ERROR(CheckFile(config.vmm, "sandbox-vmm"));
  SandboxPlan plan;
  SANDBOX_RETURN_IF_ERROR(PlanPodNetwork(plan, NetworkNamespacePathOf(spec)));
  SANDBOX_ASSIGN_OR_RETURN(plan.boot, WithSpecKernel(spec, config));
  if (spec.vm) {
    SANDBOX_RETURN_IF_ERROR(CheckSpecFile(plan.boot.kernel, "vm.kernel.path"));
    if (spec.vm->kernel.initrd) SANDBOX_RETURN_IF_ERROR(CheckSpecFile(plan.boot.initrd, "vm.kernel.initrd"));
  }
  SANDBOX_RETURN_IF_ERROR(CheckFile(plan.boot.kernel, "the guest kernel"));
  SANDBOX_RETURN_IF_ERROR(CheckFile(plan.boot.initrd, "the guest initramfs"));
  const long host_cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  // Host bind mounts: their sources must exist now, as with runc.
  SANDBOX_ASSIGN_OR_RETURN(plan.shares, PlanSharedMounts(spec, bundle));
  SANDBOX_ASSIGN_OR_RETURN(plan.size, SizeVm(spec, config, host_cpus > 0 ? static_cast<uint32_t>(host_cpus) : 1));
  SANDBOX_ASSIGN_OR_RETURN(plan.rootfs, PlanRootfs(config, spec, bundle, state_dir, private_rootfs));
  if (plan.rootfs.share) plan.shares.push_back(*plan.rootfs.share);
  return plan;
}

Status PlanPodNetwork(SandboxPlan& plan, const std::string& netns_path) {
  plan.netns_path = netns_path;
  plan.nics = 0;
  if (netns_path.empty()) return Status::Ok();
  // Read now, before anything exists, so that a namespace that cannot be
  // mirrored fails the create with nothing to undo.
  Result<net::NetworkConfig> network = ReadPodNetworkIn(netns_path);
  Status usable = network.ok() ? CheckMirrorable(*network) : network.status();
  if (!usable.ok()) return Status(usable.code(), "linux.namespaces[network].path: " + usable.message());
  plan.nics = static_cast<uint32_t>(network->interfaces.size());
  return Status::Ok();
}

Status UseVmTemplate(SandboxPlan& plan) {
  if (!plan.boot.vm_templates || !plan.rootfs.mkfs.empty()) return Status::Ok();
  SANDBOX_ASSIGN_OR_RETURN(plan.from_template,
                           EnsureVmTemplate(plan.boot, plan.size, {.shared_fs = !plan.shares.empty(), .nics = plan.nics}));
  return Status::Ok();
}

Status WriteSandboxFiles(const SandboxPlan& plan, const oci::Spec& spec, const std::string& state_dir) {
  const SandboxFiles files(state_dir);
  SANDBOX_RETURN_IF_ERROR(MakeVmDir(files, plan.boot.jail_vmm, plan.boot.vmm_gid));
  SANDBOX_RETURN_IF_ERROR(MakeRootfsImage(plan.rootfs));
  // The agent gets no host path: the container joins the VM's own network namespace.
  SANDBOX_RETURN_IF_ERROR(WriteFileAtomic(files.container_config, oci::SpecToJson(WithoutNetworkNamespacePath(spec)), 0600));
  return WriteFileAtomic(files.vmm_config,
                         VmmConfigJson(plan.boot, plan.size, state_dir, /*rootfs_image=*/!plan.rootfs.mkfs.empty(),
                                       !plan.shares.empty(), plan.from_template ? &*plan.from_template : nullptr),
                         0600);
}

Result<int64_t> MicroVmSandbox::Create(const SandboxCreateRequest& request) {
  const oci::Spec& spec = *request.spec;
  SANDBOX_ASSIGN_OR_RETURN(std::vector<FdAccess> preserved_fds, PreservedFdsFor(request));
  SANDBOX_ASSIGN_OR_RETURN(SandboxPlan plan, PlanSandbox(config_, spec, request.ref.bundle, request.ref.state_dir,
                                                         request.private_rootfs));
  SANDBOX_RETURN_IF_ERROR(UseVmTemplate(plan));
  SANDBOX_RETURN_IF_ERROR(WriteSandboxFiles(plan, spec, request.ref.state_dir));
  const SandboxFiles files(request.ref.state_dir);
  std::vector<std::string> host_cgroups;
  if (spec.linux && spec.linux->cgroups_path && !spec.linux->cgroups_path->empty()) {
    SANDBOX_ASSIGN_OR_RETURN(std::string relative, oci::CgroupRelativePath(spec.linux->cgroups_path, ""));
    host_cgroups = HostCgroupDirs(ReadFile("/proc/self/mounts").value_or(""), relative);
  }
  WindowSize console_size;
  if (spec.process && spec.process->console_size) {
    // The runtime's validation keeps these within 16 bits.
    console_size = {.rows = static_cast<uint16_t>(spec.process->console_size->height),
                    .columns = static_cast<uint16_t>(spec.process->console_size->width)};
  }
  SANDBOX_RETURN_IF_ERROR(WriteFileAtomic(files.monitor_plan,
                                          EncodeMonitorPlan({.id = request.ref.id,
                                                             .bundle = request.ref.bundle,
                                                             .vmm = config_.vmm,
                                                             .rootfs_fstype = plan.rootfs.fstype,
                                                             .no_pivot = request.no_pivot,
                                                             .boot_timeout_ms = config_.boot_timeout_ms,
                                                             .host_cgroups = host_cgroups,
                                                             .console_socket = request.console_socket,
                                                             .console_rows = console_size.rows,
                                                             .console_columns = console_size.columns,
                                                             .virtiofsd = config_.virtiofsd,
                                                             .shares = plan.shares,
                                                             .preserved_fds = preserved_fds,
                                                             .netns_path = plan.netns_path,
                                                             .jail_vmm = plan.boot.jail_vmm,
                                                             .restored = plan.from_template.has_value(),
                                                             .start = request.start}),
                                          0600));
  // The monitor wrote its identity (files.monitor_pid) as it started.
  SANDBOX_ASSIGN_OR_RETURN(pid_t monitor, SpawnMonitor(request.ref.state_dir));
  return static_cast<int64_t>(monitor);
}

Status StartGuestContainer(AgentClient& agent, const std::string& id, const SandboxFiles& files) {
  SANDBOX_RETURN_IF_ERROR(agent.StartContainer(id));
  return WriteFileAtomic(files.started, "", 0600);
}

Status MicroVmSandbox::Start(const SandboxRef& ref) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, ConnectAgent(ref));
  return StartGuestContainer(*agent, ref.id, SandboxFiles(ref.state_dir));
}

Result<LiveStatus> MicroVmSandbox::Query(const SandboxRef& ref) {
  const SandboxFiles files(ref.state_dir);
  if (PathExists(files.exit_status)) return LiveStatus::kStopped;
  const std::optional<ProcessIdentity> monitor = ReadIdentity(files.monitor_pid);
  if (!monitor || !IsRunning(*monitor)) return LiveStatus::kStopped;
  Result<std::string> vm = CallVmmApi(files.api, "status");
  if (vm.ok() && *vm == "paused") return LiveStatus::kPaused;
  return PathExists(files.started) ? LiveStatus::kRunning : LiveStatus::kCreated;
}

Status MicroVmSandbox::Kill(const SandboxRef& ref, int signal, bool all) {
  // The runtime has just refreshed the status from the VMM (Query); asked
  // again only without it.
  bool paused = ref.status == "paused";
  if (ref.status.empty()) {
    Result<std::string> vm = CallVmmApi(SandboxFiles(ref.state_dir).api, "status");
    paused = vm.ok() && *vm == "paused";
  }
  if (paused) {
    // Stopped vCPUs cannot take a signal; SIGKILL needs none (runc's kill
    // of a frozen container works too).
    if (signal == SIGKILL) return StopVmForKill(ref, "its VM is paused");
    return FailedPrecondition("container \"" + ref.id + "\" is paused: its VM takes no signal until it is resumed "
                              "(SIGKILL stops it)");
  }
  Status sent = SignalThroughAgent(ref, signal, all);
  if (sent.ok() || signal != SIGKILL || !IsAgentUnreachable(sent)) return sent;
  // A guest too busy (or too broken) to answer must not outlive a SIGKILL.
  return StopVmForKill(ref, sent.message());
}

Status MicroVmSandbox::Pause(const SandboxRef& ref) {
  // One container per VM: stopping the vCPUs freezes exactly the container.
  return CallVmmApi(SandboxFiles(ref.state_dir).api, "pause").status();
}

Status MicroVmSandbox::Resume(const SandboxRef& ref) {
  return CallVmmApi(SandboxFiles(ref.state_dir).api, "resume").status();
}

Result<int> MicroVmSandbox::Wait(const SandboxRef& ref) {
  const SandboxFiles files(ref.state_dir);
  if (ref.pid) {
    // Our child (run): its exit status is the container's. Meanwhile the
    // signals this process gets go to the container, as runc's run does.
    const pid_t pid = static_cast<pid_t>(*ref.pid);
    Result<int> status = WaitForwardingSignals(pid, [&](int signal) {
      Result<std::unique_ptr<AgentClient>> agent = ConnectAgent(ref);
      if (agent.ok()) (void)(*agent)->Signal(ref.id, signal, /*all=*/false);
    });
    if (status.ok()) return *status;
  }
  // Not our child: wait for the monitor to end, then read what it recorded.
  const std::optional<ProcessIdentity> monitor = ReadIdentity(files.monitor_pid);
  while (monitor && !WaitForExit(*monitor, std::chrono::hours(1))) {
  }
  Result<std::string> recorded = ReadFile(files.exit_status);
  if (!recorded.ok()) return Internal("container " + ref.id + " ended without a recorded exit status");
  return std::atoi(recorded->c_str());
}

Result<std::vector<ProcessInfo>> MicroVmSandbox::ListProcesses(const SandboxRef& ref) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, ConnectAgent(ref));
  return agent->ListProcesses(ref.id);
}

Result<ExecResult> MicroVmSandbox::Exec(const SandboxRef& ref, const ExecRequest& request) {
  return RunExec(ref, request);
}

Status MicroVmSandbox::Update(const SandboxRef& ref, const oci::Resources& resources) {
  // The limits go to the container's cgroup in the guest. The VM keeps the
  // size it got at create (no hotplug yet), which caps what a raised limit gives.
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, ConnectAgent(ref));
  return agent->UpdateContainer(ref.id, oci::ResourcesToJson(resources));
}

Result<ContainerStats> MicroVmSandbox::Stats(const SandboxRef& ref) {
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, ConnectAgent(ref));
  return agent->Stats(ref.id);
}

Status MicroVmSandbox::Destroy(const SandboxRef& ref) {
  const SandboxFiles files(ref.state_dir);
  // The VMM first (its guest holds the container), then the monitor; both
  // are identified by pid and start time, so a recycled pid is left alone.
  if (std::optional<ProcessIdentity> vmm = ReadIdentity(files.vmm_pid)) KillAndWait(*vmm);
  if (std::optional<ProcessIdentity> monitor = ReadIdentity(files.monitor_pid)) {
    KillAndWait(*monitor);
    // Reap it when it is our child (run), so no zombie is left.
    (void)::waitpid(monitor->pid, nullptr, WNOHANG);
  }
  // Their children (virtiofsd) die with them (PR_SET_PDEATHSIG) but may
  // still be exiting: the cgroups wait for them.
  Result<MonitorPlan> plan = ReadMonitorPlan(files.monitor_plan);
  const Status cgroups = plan.ok() ? RemoveHostCgroups(plan->host_cgroups, kHostCgroupPatience) : Status::Ok();
  // What a monitor that died (or was killed above) left mirrored.
  SANDBOX_RETURN_IF_ERROR(DisconnectGuestNetwork(files));
  // The state dir itself (images, sockets, logs) goes with the state store,
  // and stays for another delete while a cgroup does.
  return cgroups;
}

}  // namespace sandbox::shim
