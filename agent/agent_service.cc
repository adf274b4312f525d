#include "agent/agent_service.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include "agent.pb.h"
#include "agent/file_frames.h"
#include "agent/guest_init.h"
#include "agent/network/network_setup.h"
#include "common/base/file_util.h"
#include "common/base/unique_fd.h"
#include "common/net/netlink_socket.h"
#include "common/oci/spec_json.h"
#include "common/oci/validate.h"
#include "common/ttrpc/unary.h"
#include "proto/agent_constants.h"
#include "proto/network_config_convert.h"

namespace sandbox::agent {
namespace {

using ttrpc::Unary;

// GetOomEvent's longest wait, and how long before the caller's deadline it
// answers: an answer that came after the caller gave up would lose its event
// (a slow nested guest can take seconds to get one out).
constexpr std::chrono::seconds kLongestOomWait{60};
constexpr std::chrono::seconds kOomReplyMargin{5};

struct ProcessDetails {
  uint32_t uid = 0;
  std::string command;  // argv joined by spaces, or [comm] for kernel-style names
};

std::optional<ProcessDetails> ReadProcessDetails(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  Result<std::string> status = ReadFile(dir + "/status");
  if (!status.ok()) return std::nullopt;
  ProcessDetails details;
  const size_t uid = status->find("\nUid:");
  if (uid != std::string::npos) details.uid = static_cast<uint32_t>(std::strtoul(status->c_str() + uid + 5, nullptr, 10));
  Result<std::string> cmdline = ReadFile(dir + "/cmdline");
  if (cmdline.ok() && !cmdline->empty()) {
    if (cmdline->back() == '\0') cmdline->pop_back();
    std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
    details.command = *cmdline;
  } else {
    Result<std::string> comm = ReadFile(dir + "/comm");
    details.command = "[" + (comm.ok() ? comm->substr(0, comm->find('\n')) : std::string("?")) + "]";
  }
  return details;
}

StdioPorts PortsOf(const v1::ProcessIo& io) {
  StdioPorts ports{.stdin_port = io.stdin_port(),
                   .stdout_port = io.stdout_port(),
                   .stderr_port = io.stderr_port(),
                   .terminal = io.terminal()};
  for (const v1::ExtraFd& extra : io.extra_fds()) {
    ports.extra.push_back({.port = extra.port(), .readable = extra.readable(), .writable = extra.writable()});
  }
  return ports;
}

}  // namespace

AgentService::AgentService(AgentOptions options, ProcessTable& processes)
    : options_(std::move(options)), processes_(processes) {
  Result<std::unique_ptr<OomWatcher>> watcher = OomWatcher::Create();
  if (watcher.ok()) {
    oom_watcher_ = std::move(watcher).value();
  } else {
    std::fprintf(stderr, "sandbox-agent: no OOM events: %s\n", watcher.status().message().c_str());
  }
}

void AgentService::RegisterOn(ttrpc::Server& server) {
  using namespace sandbox::agent::v1;
  server.Register(kAgentService, "Check", Unary<Empty, CheckResponse>([](const Empty&) -> Result<CheckResponse> {
    CheckResponse response;
    response.set_status(CheckResponse::SERVING);
    return response;
  }));
  server.Register(kAgentService, "GetGuestDetails",
                  Unary<Empty, GuestDetails>([this](const Empty&) -> Result<GuestDetails> {
                    GuestDetails details;
                    struct utsname name;
                    if (::uname(&name) == 0) details.set_kernel_release(name.release);
                    details.set_agent_version(SANDBOX_AGENT_VERSION);
                    details.set_pid1(options_.pid1);
                    details.add_features("check");
                    details.add_features("guest-details");
                    details.add_features("destroy-sandbox");
                    details.add_features("containers");
                    details.add_features("exec");
                    details.add_features("update");
                    details.add_features("terminal");
                    details.add_features("shared-fs");
                    details.add_features("network");
                    return details;
                  }));
  server.Register(kAgentService, "DestroySandbox", Unary<Empty, Empty>([this](const Empty&) -> Result<Empty> {
    // Synced before the answer: the host stops the VM on it, without
    // waiting for the kernel's own reboot. Flagged after, so that no other
    // connection's end powers off before the answer is out.
    if (options_.pid1) ::sync();
    destroy_requested_ = true;
    return Empty();
  }));
  server.Register(kAgentService, "AfterRestore",
                  Unary<AfterRestoreRequest, AfterRestoreResponse>(
                      [this](const AfterRestoreRequest& request) -> Result<AfterRestoreResponse> {
                        return AfterRestore(request);
                      }));
  server.Register(kAgentService, "GetSharedRanges",
                  Unary<SharedRangesRequest, SharedRangesResponse>(
                      [this](const SharedRangesRequest& request) -> Result<SharedRangesResponse> {
                        return GetSharedRanges(request);
                      }));
  RegisterContainerCalls(server);
  RegisterProcessCalls(server);
  RegisterEventCalls(server);
  RegisterNetworkCalls(server);
}

Result<v1::AfterRestoreResponse> AgentService::AfterRestore(const v1::AfterRestoreRequest& request) {
  // Checked first, so a host-mode agent refuses bad requests the same way.
  if (request.entropy().size() < 32 || request.entropy().size() > 512) {
    return InvalidArgument("entropy: want 32 to 512 bytes, got " + std::to_string(request.entropy().size()));
  }
  if (request.realtime_ns() < 0) return InvalidArgument("realtime_ns: must not be negative");
  // Never the host's own clock and RNG.
  if (!options_.pid1) return FailedPrecondition("AfterRestore needs the guest (the agent is not PID 1)");
  const auto* entropy = reinterpret_cast<const uint8_t*>(request.entropy().data());
  SANDBOX_RETURN_IF_ERROR(AddEntropyAndReseed({entropy, request.entropy().size()}));
  if (request.realtime_ns() > 0) {
    const timespec now{.tv_sec = static_cast<time_t>(request.realtime_ns() / 1'000'000'000),
                       .tv_nsec = static_cast<long>(request.realtime_ns() % 1'000'000'000)};
    if (::clock_settime(CLOCK_REALTIME, &now) != 0) return ErrnoStatus("clock_settime", "CLOCK_REALTIME");
  }
  // On the console, as the boot-time seeding is: a restored guest never
  // printed that. Short: each byte is a VM exit on the restore's path.
  std::fprintf(stderr, "sandbox-agent: restored: RNG reseeded (%zu bytes)%s\n", request.entropy().size(),
               request.realtime_ns() > 0 ? ", clock set" : "");
  v1::AfterRestoreResponse response;
  std::string sample(16, '\0');
  if (::getrandom(sample.data(), sample.size(), 0) != static_cast<ssize_t>(sample.size())) {
    return ErrnoStatus("getrandom", "the sample");
  }
  response.set_random_sample(sample);
  return response;
}

Result<v1::SharedRangesResponse> AgentService::GetSharedRanges(const v1::SharedRangesRequest& request) {
  if (request.max_ranges() == 0) return InvalidArgument("max_ranges: must be 1 or more");
  if (!options_.pid1) return FailedPrecondition("GetSharedRanges needs the guest (the agent is not PID 1)");
  // With compaction the kernel may move the executable's pages, and a
  // device could then be handed the frames the host shares.
  if (::access("/proc/sys/vm/compact_memory", F_OK) == 0) {
    return FailedPrecondition("the guest kernel compacts memory (CONFIG_COMPACTION): its pages may move");
  }
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return ErrnoStatus("open", "/proc/self/exe");
  SANDBOX_ASSIGN_OR_RETURN(std::vector<PhysicalRange> frames, FileFrames(self.get()));
  v1::SharedRangesResponse response;
  for (const PhysicalRange& range : LargestRanges(std::move(frames), request.max_ranges())) {
    v1::MemoryRange* added = response.add_ranges();
    added->set_address(range.address);
    added->set_size(range.size);
  }
  return response;
}

Status CheckCreateContainerRequest(const v1::CreateContainerRequest& request) {
  if (request.container_id().empty()) return InvalidArgument("container_id: required");
  const std::string& fstype = request.rootfs_fstype();
  if (fstype != "" && fstype != "dir" && fstype != "erofs" && fstype != "ext4") {
    return InvalidArgument("rootfs_fstype \"" + fstype + "\": want dir, erofs or ext4");
  }
  return Status::Ok();
}

ContainerOptions ContainerOptionsFor(const v1::CreateContainerRequest& request, const AgentOptions& agent,
                                     SharedFsMounts* shared_fs_mounts) {
  return ContainerOptions{.id = request.container_id(),
                          .config_json = request.config_json(),
                          .rootfs = request.rootfs_source(),
                          .rootfs_fstype = request.rootfs_fstype(),
                          .no_pivot = request.no_pivot(),
                          .work_dir = agent.work_dir,
                          .cgroup_root = agent.cgroup_root,
                          .stdio = nullptr,
                          .shared_fs_tag = request.shared_fs().tag(),
                          .shared_fs_mount_point = request.shared_fs().mount_point(),
                          .shared_fs_mounts = shared_fs_mounts,
                          .state_json = request.state_json()};
}

Result<v1::CreateContainerResponse> AgentService::CreateContainer(const v1::CreateContainerRequest& request) {
  using namespace sandbox::agent::v1;
  SANDBOX_RETURN_IF_ERROR(CheckCreateContainerRequest(request));
  {
    std::lock_guard lock(containers_mutex_);
    if (containers_.contains(request.container_id())) {
      return AlreadyExists("container \"" + request.container_id() + "\" already exists");
    }
    containers_[request.container_id()] = nullptr;  // reserve the id
  }
  ContainerOptions create = ContainerOptionsFor(request, options_, &shared_fs_mounts_);
  Result<std::unique_ptr<ProcessStdio>> stdio =
      ProcessStdio::Open(PortsOf(request.io()), options_.host_socket_prefix);
  Result<std::unique_ptr<Container>> container = stdio.status();
  if (stdio.ok()) {
    create.stdio = std::move(stdio).value();
    container = Container::Create(std::move(create), processes_, options_.agent_executable);
  }
  std::lock_guard lock(containers_mutex_);
  if (!container.ok()) {
    containers_.erase(request.container_id());
    return container.status();
  }
  CreateContainerResponse response;
  response.set_pid((*container)->pid());
  WatchForOom(**container);
  containers_[request.container_id()] = std::move(container).value();
  return response;
}

Result<std::shared_ptr<Container>> AgentService::Find(const std::string& id) {
  std::lock_guard lock(containers_mutex_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return NotFound("container \"" + id + "\" does not exist");
  return it->second;
}

Result<std::shared_ptr<Container>> AgentService::FindCreated(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(id));
  if (!container) return FailedPrecondition("container is still being created");
  return container;
}

void AgentService::RegisterContainerCalls(ttrpc::Server& server) {
  using namespace sandbox::agent::v1;
  server.Register(kAgentService, "CreateContainer",
                  Unary<CreateContainerRequest, CreateContainerResponse>(
                      [this](const CreateContainerRequest& request) { return CreateContainer(request); }));
  server.Register(kAgentService, "StartContainer",
                  Unary<v1::ContainerRequest, Empty>([this](const v1::ContainerRequest& request) -> Result<Empty> {
                    SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                    SANDBOX_RETURN_IF_ERROR(container->Start());
                    return Empty();
                  }));
  auto freeze = [this](bool frozen) {
    return Unary<v1::ContainerRequest, Empty>([this, frozen](const v1::ContainerRequest& request) -> Result<Empty> {
      SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
      SANDBOX_RETURN_IF_ERROR(container->Freeze(frozen));
      return Empty();
    });
  };
  server.Register(kAgentService, "PauseContainer", freeze(true));
  server.Register(kAgentService, "ResumeContainer", freeze(false));
  server.Register(kAgentService, "StatsContainer",
                  Unary<v1::ContainerRequest, StatsContainerResponse>(
                      [this](const v1::ContainerRequest& request) -> Result<StatsContainerResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                        SANDBOX_ASSIGN_OR_RETURN(CgroupStats stats, container->Stats());
                        StatsContainerResponse response;
                        response.set_cpu_usage_ns(stats.cpu_usage_ns);
                        response.set_memory_usage_bytes(stats.memory_usage_bytes);
                        response.set_memory_limit_bytes(stats.memory_limit_bytes);
                        response.set_pids_current(stats.pids_current);
                        response.set_io_read_bytes(stats.io_read_bytes);
                        response.set_io_write_bytes(stats.io_write_bytes);
                        return response;
                      }));
  server.Register(kAgentService, "UpdateContainer",
                  Unary<UpdateContainerRequest, Empty>([this](const UpdateContainerRequest& request) -> Result<Empty> {
                    oci::Resources resources;
                    oci::FieldErrors errors = oci::ParseResources(request.resources_json(), resources);
                    if (errors.empty()) errors = oci::ValidateResources(resources);
                    if (!errors.empty()) return oci::FieldErrorsToStatus("linux.resources", errors);
                    SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                    SANDBOX_RETURN_IF_ERROR(container->Update(resources));
                    return Empty();
                  }));
  server.Register(kAgentService, "RemoveContainer",
                  Unary<v1::ContainerRequest, Empty>([this](const v1::ContainerRequest& request) -> Result<Empty> {
                    SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                    if (container->state() == Container::State::kRunning) {
                      return FailedPrecondition("container \"" + request.container_id() +
                                                "\" is running; signal it first");
                    }
                    if (oom_watcher_) oom_watcher_->Unwatch(request.container_id());
                    std::lock_guard lock(containers_mutex_);
                    containers_.erase(request.container_id());  // the last reference kills a created init
                    return Empty();
                  }));
}

void AgentService::RegisterProcessCalls(ttrpc::Server& server) {
  using namespace sandbox::agent::v1;
  server.Register(kAgentService, "SignalProcess",
                  Unary<SignalProcessRequest, Empty>([this](const SignalProcessRequest& request) -> Result<Empty> {
                    if (request.signal() == 0 || request.signal() >= NSIG) {
                      return InvalidArgument("signal: " + std::to_string(request.signal()) + " is not a signal");
                    }
                    SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                    const int signal = static_cast<int>(request.signal());
                    if (!request.exec_id().empty()) {
                      if (request.all()) return InvalidArgument("all: applies to the container, not to one exec");
                      SANDBOX_RETURN_IF_ERROR(container->SignalExec(request.exec_id(), signal));
                      return Empty();
                    }
                    SANDBOX_RETURN_IF_ERROR(container->Signal(signal, request.all()));
                    return Empty();
                  }));
  server.Register(kAgentService, "WaitProcess",
                  Unary<ProcessRequest, WaitProcessResponse>(
                      [this](const ProcessRequest& request) -> Result<WaitProcessResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                        WaitProcessResponse response;
                        if (!request.exec_id().empty()) {
                          SANDBOX_ASSIGN_OR_RETURN(int status, container->WaitExec(request.exec_id()));
                          response.set_exit_status(status);
                          return response;
                        }
                        response.set_exit_status(container->Wait());
                        return response;
                      }));
  server.Register(kAgentService, "ExecProcess",
                  Unary<ExecProcessRequest, Empty>([this](const ExecProcessRequest& request) -> Result<Empty> {
                    SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                    SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<ProcessStdio> stdio,
                                             ProcessStdio::Open(PortsOf(request.io()), options_.host_socket_prefix));
                    SANDBOX_RETURN_IF_ERROR(container->Exec(request.exec_id(), request.process_json(), std::move(stdio)));
                    return Empty();
                  }));
  server.Register(kAgentService, "ResizeTty",
                  Unary<ResizeTtyRequest, Empty>([this](const ResizeTtyRequest& request) -> Result<Empty> {
                    SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                    SANDBOX_RETURN_IF_ERROR(container->ResizeTty(request.exec_id(), request.rows(), request.columns()));
                    return Empty();
                  }));
  server.Register(kAgentService, "CloseStdin",
                  Unary<ProcessRequest, Empty>([this](const ProcessRequest& request) -> Result<Empty> {
                    SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                    SANDBOX_RETURN_IF_ERROR(container->CloseStdin(request.exec_id()));
                    return Empty();
                  }));
  server.Register(kAgentService, "ListProcesses",
                  Unary<v1::ContainerRequest, ListProcessesResponse>(
                      [this](const v1::ContainerRequest& request) -> Result<ListProcessesResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(auto container, FindCreated(request.container_id()));
                        SANDBOX_ASSIGN_OR_RETURN(std::vector<pid_t> pids, container->Processes());
                        ListProcessesResponse response;
                        for (pid_t pid : pids) {
                          std::optional<ProcessDetails> details = ReadProcessDetails(pid);
                          if (!details) continue;  // exited meanwhile
                          v1::ProcessInfo* info = response.add_processes();
                          info->set_pid(pid);
                          info->set_uid(details->uid);
                          info->set_command(details->command);
                        }
                        return response;
                      }));
}

void AgentService::WatchForOom(const Container& container) {
  if (!oom_watcher_ || container.cgroup_path().empty()) return;
  const Status watched = oom_watcher_->Watch(container.id(), container.cgroup_path() + "/memory.events");
  if (!watched.ok()) {
    std::fprintf(stderr, "sandbox-agent: container %s: no OOM events: %s\n", container.id().c_str(),
                 watched.message().c_str());
  }
}

void AgentService::RegisterEventCalls(ttrpc::Server& server) {
  using namespace sandbox::agent::v1;
  server.Register(kAgentService, "GetOomEvent",
                  Unary<Empty, OomEvent>([this](const Empty&, const ttrpc::CallContext& context) -> Result<OomEvent> {
                    if (!oom_watcher_) return Unavailable("the agent has no OOM watcher (inotify failed at start)");
                    // Answers before the caller gives up, so the empty reply
                    // (nothing happened) reaches it and it asks again.
                    auto until = std::chrono::steady_clock::now() + kLongestOomWait;
                    if (context.deadline) until = std::min(until, *context.deadline - kOomReplyMargin);
                    OomEvent event;
                    event.set_container_id(oom_watcher_->Next(until));
                    return event;
                  }));
}

void AgentService::RegisterNetworkCalls(ttrpc::Server& server) {
  using namespace sandbox::agent::v1;
  server.Register(kAgentService, "UpdateNetwork",
                  Unary<UpdateNetworkRequest, Empty>(
                      [this](const UpdateNetworkRequest& request) { return UpdateNetwork(request); }));
}

Result<v1::Empty> AgentService::UpdateNetwork(const v1::UpdateNetworkRequest& request) {
  // Checked first, so host tests can see what the guest would refuse.
  SANDBOX_ASSIGN_OR_RETURN(const net::NetworkConfig config, FromProto(request.network()));
  // The host test mode's namespace is the host's own: never touch it.
  if (!options_.pid1) return FailedPrecondition("UpdateNetwork needs the guest (the agent is not PID 1)");
  std::lock_guard lock(network_mutex_);
  // Opened on this thread, which is in the agent's (the guest's root)
  // network namespace.
  SANDBOX_ASSIGN_OR_RETURN(net::NetlinkSocket socket, net::NetlinkSocket::Open());
  SANDBOX_RETURN_IF_ERROR(ApplyNetworkConfig(socket, config));
  return v1::Empty();
}

}  // namespace sandbox::agent
