#include "shim/microvm/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/base/fd_passing.h"
#include "common/base/file_util.h"
#include "common/base/unique_fd.h"
#include "common/base/unix_socket.h"
#include "common/io/preserved_fds.h"
#include "common/io/process_relay.h"
#include "common/io/stream_relay.h"
#include "common/io/terminal.h"
#include "common/oci/spec_json.h"
#include "common/oci/state.h"
#include "shim/microvm/agent_client.h"
#include "shim/microvm/create_client.h"
#include "shim/microvm/guest_container.h"
#include "shim/microvm/host_cgroup.h"
#include "shim/microvm/host_process.h"
#include "shim/microvm/microvm_sandbox.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/microvm/sandbox_vm.h"
#include "shim/runtime/state_store.h"

namespace sandbox::shim {
namespace {

// How long output may still trail the container's exit (a process that
// escaped the pid namespace can hold the pipe open forever).
constexpr auto kStreamAcceptLimit = std::chrono::seconds(30);
constexpr std::array<uint32_t, 3> kStdioPorts = {kStdinPort, kStdoutPort, kStderrPort};

uint32_t ExtraFdPort(size_t index) { return kFirstExtraFdPort + static_cast<uint32_t>(index); }

void Log(const std::string& message) { std::fprintf(stderr, "sandbox-rt monitor: %s\n", message.c_str()); }

// Removes the container's state dir under its lock (StateStore's layout),
// unless it is no longer this monitor's: a state or delete that undid the
// create first (Runtime::UndoAbandonedCreate) may have let a new container
// take the id.
void RemoveOwnStateDir(const std::string& state_dir) {
  const std::filesystem::path dir(state_dir);
  const StateStore store(dir.parent_path().string());
  const std::string id = dir.filename().string();
  Result<FileLock> lock = store.Lock(id);
  if (!lock.ok()) return;  // removed already
  const std::optional<ProcessIdentity> owner = ReadIdentity(SandboxFiles(state_dir).monitor_pid);
  const ProcessIdentity self = SelfIdentity();
  if (!owner || owner->pid != self.pid || owner->start_time != self.start_time) return;
  const Status removed = store.Remove(id);
  if (!removed.ok()) Log("removing the state dir: " + removed.message());
}

// Before a Monitor exists: the error goes to the client, or, when it is gone,
// the monitor removes the state dir itself (nothing else was made yet).
int FailEarly(CreateClient& client, const std::string& state_dir, const std::string& message) {
  if (!client.Report("error: " + message).ok()) RemoveOwnStateDir(state_dir);
  return 1;
}

class Monitor {
 public:
  Monitor(SandboxFiles files, MonitorPlan plan, std::vector<UniqueFd> preserved, CreateClient& client)
      : files_(std::move(files)), plan_(std::move(plan)), preserved_(std::move(preserved)), client_(client) {}

  // Up to the report: VM booted, container created, streams connected.
  Status Prepare(std::array<UniqueFd, 3>& caller_stdio);
  // Prepare's steps, in order.
  Status EnterNetworkNamespace();
  Status ListenForStreams(const std::array<UniqueFd, 3>& caller_stdio);
  Status JoinCgroups();
  Status CreateContainer();
  Status AcceptStreams();
  // Prepare failed (`why`), or the client went before the hand-over: the VM
  // ends; a client still there gets the error and undoes the rest
  // (Runtime::Create), else nobody will but the monitor (Abandon). Returns
  // the monitor's exit status.
  int GiveUp(const Status& why);
  // Relays until the container exits; returns its status.
  int Supervise(std::array<UniqueFd, 3>& caller_stdio);
  // Ends the VM (SandboxVm::Stop); safe after a partial Prepare.
  void Teardown(std::chrono::milliseconds grace = std::chrono::seconds(10)) { vm_.Stop(grace); }

 private:
  // process.terminal: the host pty whose slave stands in for the caller's
  // stdin and stdout; the monitor becomes its session's controlling process.
  Status OpenHostTerminal(std::array<UniqueFd, 3>& caller_stdio);
  // Hands the master to the console socket; the monitor keeps no copy.
  Status SendConsole();
  // SIGWINCH: the host pty's size goes to the guest's.
  void FollowResize();

  // The agent's connection for one stream; the listener and its socket go.
  Result<UniqueFd> AcceptStream(UniqueFd& listener, uint32_t port, const std::string& what);
  // Everything a failed create's undo would remove (MicroVmSandbox::Destroy,
  // StateStore::Remove), by the monitor, for a client that is gone.
  void Abandon();
  std::string ListenerPath(uint32_t port) const { return GuestPortSocket(files_.vsock, port); }


  SandboxFiles files_;
  MonitorPlan plan_;
  PhaseLog phases_;
  SandboxVm vm_{files_,
                {.vmm = plan_.vmm, .virtiofsd = plan_.virtiofsd, .shares = plan_.shares,
                 .boot_timeout_ms = plan_.boot_timeout_ms, .netns_path = plan_.netns_path,
                 // EnterNetworkNamespace made one, with nothing but loopback.
                 .private_network = plan_.netns_path.empty(), .jail = plan_.jail_vmm, .restored = plan_.restored},
                phases_};
  std::array<UniqueFd, 3> listeners_;
  std::array<UniqueFd, 3> streams_;
  std::vector<UniqueFd> preserved_;  // the caller's fds 3, 4, ...
  CreateClient& client_;  // RunMonitor's; until the hand-over
  // The cgroups the monitor came from, to go back to before it removes the
  // host cgroups (Abandon).
  std::vector<std::string> origin_cgroups_;
  std::vector<UniqueFd> extra_listeners_;
  std::vector<UniqueFd> extra_streams_;
  PtyPair host_pty_;
  UniqueFd resizes_;  // signalfd for SIGWINCH, blocked since RunMonitor began
};

Status Monitor::OpenHostTerminal(std::array<UniqueFd, 3>& caller_stdio) {
  SANDBOX_ASSIGN_OR_RETURN(host_pty_, OpenPty());
  // The guest pty does the line discipline; this one must pass bytes as they are.
  SANDBOX_RETURN_IF_ERROR(MakeRaw(host_pty_.slave.get()));
  if (plan_.console_rows > 0 || plan_.console_columns > 0) {
    SANDBOX_RETURN_IF_ERROR(SetWindowSize(host_pty_.master.get(),
                                          {.rows = plan_.console_rows, .columns = plan_.console_columns}));
  }
  // The monitor leads its own session (create setsid()s it).
  if (::ioctl(host_pty_.slave.get(), TIOCSCTTY, 0) != 0) return ErrnoStatus("TIOCSCTTY", "the host pty");
  caller_stdio[0].Reset(::fcntl(host_pty_.slave.get(), F_DUPFD_CLOEXEC, 3));
  caller_stdio[1].Reset(::fcntl(host_pty_.slave.get(), F_DUPFD_CLOEXEC, 3));
  caller_stdio[2].Reset();  // a terminal has one output stream
  if (!caller_stdio[0].valid() || !caller_stdio[1].valid()) return ErrnoStatus("dup", "the host pty");
  sigset_t winch;
  ::sigemptyset(&winch);
  ::sigaddset(&winch, SIGWINCH);
  resizes_.Reset(::signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!resizes_.valid()) return ErrnoStatus("signalfd", "SIGWINCH");
  return Status::Ok();
}

Status Monitor::SendConsole() {
  Result<UniqueFd> socket = ConnectUnix(plan_.console_socket);
  if (!socket.ok()) return socket.status().Wrap("--console-socket");
  // runc's message: the pty's name, the master attached.
  SANDBOX_RETURN_IF_ERROR(SendWithFd(socket->get(), host_pty_.slave_name.data(), host_pty_.slave_name.size(),
                                     host_pty_.master.get()));
  host_pty_.master.Reset();
  return Status::Ok();
}

void Monitor::FollowResize() {
  signalfd_siginfo info{};
  while (::read(resizes_.get(), &info, sizeof(info)) == sizeof(info)) {
  }
  Result<WindowSize> size = GetWindowSize(host_pty_.slave.get());
  if (!size.ok()) return;
  const Status resized = vm_.agent().ResizeTty(plan_.id, "", size->rows, size->columns);
  if (!resized.ok()) Log("resizing the container's terminal: " + resized.message());
}

Status Monitor::Prepare(std::array<UniqueFd, 3>& caller_stdio) {
  // The sandbox's own network namespace, as Kata's: sandbox-vmm needs no
  // host network (its sockets are paths), and a hook that enters the
  // network namespace of the container's pid configures this one, not the host's.
  SANDBOX_RETURN_IF_ERROR(EnterNetworkNamespace());
  if (!plan_.console_socket.empty()) SANDBOX_RETURN_IF_ERROR(OpenHostTerminal(caller_stdio));
  SANDBOX_RETURN_IF_ERROR(ListenForStreams(caller_stdio));
  SANDBOX_RETURN_IF_ERROR(JoinCgroups());
  // No VM for a client that is gone already. From here the waits watch it,
  // except CreateContainer's call, which the agent answers in seconds.
  if (client_.Gone()) return ClientGoneStatus();
  SANDBOX_RETURN_IF_ERROR(vm_.Start());
  SANDBOX_RETURN_IF_ERROR(
      vm_.WaitForAgent([this] { return client_.Gone() ? ClientGoneStatus() : Status::Ok(); }));
  if (Status created = CreateContainer(); !created.ok()) {
    // The guest's side of a refused or hung create is on its console.
    return Status(created.code(), created.message() + vm_.DiagnosticTail());
  }
  SANDBOX_RETURN_IF_ERROR(AcceptStreams());
  if (host_pty_.master.valid()) SANDBOX_RETURN_IF_ERROR(SendConsole());
  phases_.Mark("container-created");
  if (!plan_.start) return Status::Ok();
  SANDBOX_RETURN_IF_ERROR(StartGuestContainer(vm_.agent(), plan_.id, files_));
  phases_.Mark("container-started");
  return Status::Ok();
}

Status Monitor::EnterNetworkNamespace() {
  if (plan_.netns_path.empty()) {
    if (::unshare(CLONE_NEWNET) != 0) return ErrnoStatus("unshare", "the sandbox's network namespace");
    return Status::Ok();
  }
  UniqueFd netns(::open(plan_.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns.valid()) return ErrnoStatus("open", "linux.namespaces[network].path " + plan_.netns_path);
  if (::setns(netns.get(), CLONE_NEWNET) != 0) {
    return ErrnoStatus("setns", "linux.namespaces[network].path " + plan_.netns_path);
  }
  return Status::Ok();
}

Status Monitor::ListenForStreams(const std::array<UniqueFd, 3>& caller_stdio) {
  for (size_t stream = 0; stream < 3; ++stream) {
    if (!caller_stdio[stream].valid()) continue;
    SANDBOX_ASSIGN_OR_RETURN(listeners_[stream], ListenForGuestPort(files_.vsock, kStdioPorts[stream]));
  }
  for (size_t index = 0; index < plan_.preserved_fds.size(); ++index) {
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd listener, ListenForGuestPort(files_.vsock, ExtraFdPort(index)));
    extra_listeners_.push_back(std::move(listener));
  }
  return Status::Ok();
}

Status Monitor::JoinCgroups() {
  if (plan_.host_cgroups.empty()) return Status::Ok();
  origin_cgroups_ = CurrentCgroupDirs(ReadFile("/proc/self/mounts").value_or(""),
                                      ReadFile("/proc/self/cgroup").value_or(""));
  // sandbox-vmm inherits the cgroups, so the VM is accounted where the
  // orchestrator looks for the container.
  return JoinHostCgroups(plan_.host_cgroups, ::getpid());
}

Status Monitor::CreateContainer() {
  SANDBOX_ASSIGN_OR_RETURN(std::string config_json, ReadFile(files_.container_config));
  std::vector<ExtraFdStream> extra_fds;
  for (size_t index = 0; index < plan_.preserved_fds.size(); ++index) {
    extra_fds.push_back({.port = ExtraFdPort(index), .access = plan_.preserved_fds[index]});
  }
  std::array<uint32_t, 3> ports{};
  for (size_t stream = 0; stream < 3; ++stream) ports[stream] = listeners_[stream].valid() ? kStdioPorts[stream] : 0;
  SANDBOX_ASSIGN_OR_RETURN(AgentContainerSpec spec, GuestContainerSpec({.id = plan_.id,
                                                                        .bundle = plan_.bundle,
                                                                        .config_json = config_json,
                                                                        .rootfs_fstype = plan_.rootfs_fstype,
                                                                        .no_pivot = plan_.no_pivot,
                                                                        .shares = plan_.shares,
                                                                        .stdio_ports = ports,
                                                                        .terminal = host_pty_.master.valid(),
                                                                        .extra_fds = extra_fds,
                                                                        .host_pid = ::getpid()}));
  return vm_.agent().CreateContainer(spec).status();
}

Status Monitor::AcceptStreams() {
  const char* const names[] = {"stdin", "stdout", "stderr"};
  for (size_t stream = 0; stream < 3; ++stream) {
    if (!listeners_[stream].valid()) continue;
    SANDBOX_ASSIGN_OR_RETURN(streams_[stream], AcceptStream(listeners_[stream], kStdioPorts[stream],
                                                            std::string("the container's ") + names[stream]));
  }
  for (size_t index = 0; index < extra_listeners_.size(); ++index) {
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd stream, AcceptStream(extra_listeners_[index], ExtraFdPort(index),
                                                           "the container's fd " + std::to_string(3 + index)));
    extra_streams_.push_back(std::move(stream));
  }
  return Status::Ok();
}

Result<UniqueFd> Monitor::AcceptStream(UniqueFd& listener, uint32_t port, const std::string& what) {
  const Status ready = client_.WaitReadable(listener.get(), kStreamAcceptLimit, what);
  if (ready.code() == StatusCode::kDeadlineExceeded) return ready.Wrap("the agent did not connect");
  SANDBOX_RETURN_IF_ERROR(ready);
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!accepted.valid()) return ErrnoStatus("accept", what);
  listener.Reset();
  (void)::unlink(ListenerPath(port).c_str());
  return accepted;
}

int Monitor::Supervise(std::array<UniqueFd, 3>& caller_stdio) {
  ProcessRelay relay({.stdio = std::move(caller_stdio), .preserved = std::move(preserved_)},
                     {.stdio = std::move(streams_), .preserved = std::move(extra_streams_)}, plan_.preserved_fds);
  // The agent's answer to WaitProcess, or the VMM's end, whichever comes first.
  BackgroundWait wait([agent = &vm_.agent(), id = plan_.id] { return agent->Wait(id); });
  std::array<pollfd, 3> events{
      {{wait.done_fd(), POLLIN, 0}, {vm_.pidfd(), POLLIN, 0}, {resizes_.get(), POLLIN, 0}}};
  const nfds_t watched = resizes_.valid() ? 3 : 2;
  for (;;) {
    if (::poll(events.data(), watched, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if ((events[0].revents | events[1].revents) & (POLLIN | POLLHUP | POLLERR)) break;
    if (events[2].revents & POLLIN) FollowResize();
  }
  int status = 255;
  std::optional<Result<int>> answer;
  if (events[0].revents & POLLIN) {
    answer = wait.Join();
  } else {
    wait.Abandon();  // its connection dies with the VM; the process ends it
  }
  if (answer && answer->ok()) {
    status = **answer;
  } else if (vm_.Lost(std::chrono::seconds(2))) {
    // The VM's end also breaks the agent's connection, so a failed wait may
    // come first: the VM's status is the container's (137 after kill's
    // SIGKILL of sandbox-vmm).
    status = vm_.ReapLost();
    Log("the VM ended before the container did" + ConsoleTail(files_.console));
  } else {
    Log("waiting for the container: " + (answer ? answer->status().message() : std::string("no answer")));
  }
  phases_.Mark("container-exited");
  relay.Drain();
  (void)WriteFileAtomic(files_.exit_status, std::to_string(status), 0600);
  return status;
}

int Monitor::GiveUp(const Status& why) {
  Log(why.message());
  if (!client_.Gone()) {
    Teardown();
    if (client_.Report("error: " + why.message()).ok()) return 1;
  }
  Abandon();
  return 1;
}

void Monitor::Abandon() {
  Log("the create client is gone before the hand-over: removing the sandbox, as its undo would");
  Teardown(std::chrono::milliseconds(0));
  if (!plan_.host_cgroups.empty()) {
    // A process cannot remove the cgroup it is in.
    const Status left = MoveToCgroups(origin_cgroups_, ::getpid());
    if (!left.ok()) Log("leaving the host cgroups: " + left.message());
    const Status removed = RemoveHostCgroups(plan_.host_cgroups, kHostCgroupPatience);
    if (!removed.ok()) Log(removed.message());
  }
  RemoveOwnStateDir(files_.dir);
}

}  // namespace

std::string EncodeMonitorPlan(const MonitorPlan& plan) {
  nlohmann::json shares = nlohmann::json::array();
  for (const SharedMount& share : plan.shares) {
    shares.push_back({{"index", share.index},
                      {"source", share.source},
                      {"read_only", share.read_only},
                      {"recursive", share.recursive},
                      {"directory", share.directory},
                      {"root", share.root}});
  }
  nlohmann::json preserved = nlohmann::json::array();
  for (const FdAccess& access : plan.preserved_fds) {
    preserved.push_back({{"readable", access.readable}, {"writable", access.writable}});
  }
  return nlohmann::json{{"id", plan.id},
                        {"bundle", plan.bundle},
                        {"vmm", plan.vmm},
                        {"rootfs_fstype", plan.rootfs_fstype},
                        {"no_pivot", plan.no_pivot},
                        {"boot_timeout_ms", plan.boot_timeout_ms},
                        {"host_cgroups", plan.host_cgroups},
                        {"console_socket", plan.console_socket},
                        {"console_rows", plan.console_rows},
                        {"console_columns", plan.console_columns},
                        {"virtiofsd", plan.virtiofsd},
                        {"shares", shares},
                        {"preserved_fds", preserved},
                        {"netns_path", plan.netns_path},
                        {"jail_vmm", plan.jail_vmm},
                        {"restored", plan.restored},
                        {"start", plan.start}}
      .dump();
}

Result<MonitorPlan> DecodeMonitorPlan(const std::string& text) {
  try {
    const nlohmann::json object = nlohmann::json::parse(text);
    std::vector<SharedMount> shares;
    for (const nlohmann::json& share : object.at("shares")) {
      shares.push_back({.index = share.at("index").get<size_t>(),
                        .source = share.at("source").get<std::string>(),
                        .read_only = share.at("read_only").get<bool>(),
                        .recursive = share.at("recursive").get<bool>(),
                        .directory = share.at("directory").get<bool>(),
                        // Absent in plans written before the rootfs was shared.
                        .root = share.value("root", false)});
    }
    std::vector<FdAccess> preserved;
    for (const nlohmann::json& access : object.at("preserved_fds")) {
      preserved.push_back({.readable = access.at("readable").get<bool>(), .writable = access.at("writable").get<bool>()});
    }
    if (preserved.size() > kMaxPreservedFds) return Internal("monitor plan: too many preserved fds");
    return MonitorPlan{.id = object.at("id").get<std::string>(),
                       .bundle = object.at("bundle").get<std::string>(),
                       .vmm = object.at("vmm").get<std::string>(),
                       .rootfs_fstype = object.at("rootfs_fstype").get<std::string>(),
                       .no_pivot = object.at("no_pivot").get<bool>(),
                       .boot_timeout_ms = object.at("boot_timeout_ms").get<uint32_t>(),
                       .host_cgroups = object.at("host_cgroups").get<std::vector<std::string>>(),
                       .console_socket = object.at("console_socket").get<std::string>(),
                       .console_rows = object.at("console_rows").get<uint16_t>(),
                       .console_columns = object.at("console_columns").get<uint16_t>(),
                       .virtiofsd = object.at("virtiofsd").get<std::string>(),
                       .shares = std::move(shares),
                       .preserved_fds = std::move(preserved),
                       // Absent in plans written before pod networking.
                       .netns_path = object.value("netns_path", std::string()),
                       .jail_vmm = object.value("jail_vmm", false),
                       .restored = object.value("restored", false),
                       .start = object.value("start", false)};
  } catch (const nlohmann::json::exception& error) {
    return Internal(std::string("monitor plan: ") + error.what());
  }
}

Result<MonitorPlan> ReadMonitorPlan(const std::string& path) {
  SANDBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return DecodeMonitorPlan(text);
}

int RunMonitor(const std::string& state_dir) {
  // First of all: a write to a pipe whose reader is gone (the report, the
  // caller's stdio) fails with EPIPE instead of killing the monitor half-way.
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(kMonitorReportFd, F_SETFD, FD_CLOEXEC);
  CreateClient client{UniqueFd(kMonitorReportFd)};
  // With a terminal: a console client closing the master hangs the host pty
  // up, which must not end the monitor; SIGWINCH is read from a signalfd,
  // and blocked before any thread exists so that none discards it.
  ::signal(SIGHUP, SIG_IGN);
  sigset_t winch;
  ::sigemptyset(&winch);
  ::sigaddset(&winch, SIGWINCH);
  ::sigprocmask(SIG_BLOCK, &winch, nullptr);
  // The caller's stdio belongs to the container; the monitor logs to a file.
  std::array<UniqueFd, 3> caller_stdio;
  for (int fd = 0; fd < 3; ++fd) caller_stdio[fd].Reset(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
  SandboxFiles files(state_dir);
  const int log = ::open((state_dir + "/monitor.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log >= 0) {
    ::dup2(log, 2);
    ::close(log);
  }
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::close(null);
  }
  // At once, so that whoever undoes an interrupted create finds the monitor.
  const Status recorded = WriteFileAtomic(files.monitor_pid, FormatIdentity(SelfIdentity()), 0600);
  if (!recorded.ok()) return FailEarly(client, state_dir, recorded.message());
  Result<MonitorPlan> plan = ReadMonitorPlan(files.monitor_plan);
  if (!plan.ok()) return FailEarly(client, state_dir, plan.status().message());
  // The caller's preserved fds, moved off 3, 4, ... (close-on-exec, so
  // sandbox-vmm and virtiofsd do not inherit them).
  std::vector<UniqueFd> preserved;
  for (size_t index = 0; index < plan->preserved_fds.size(); ++index) {
    const int fd = static_cast<int>(3 + index);
    preserved.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, kMonitorReportFd + 1));
    ::close(fd);
    if (!preserved.back().valid()) {
      return FailEarly(client, state_dir, "--preserve-fds: fd " + std::to_string(fd) + " did not reach the monitor");
    }
  }
  Monitor monitor(files, *plan, std::move(preserved), client);
  const Status prepared = monitor.Prepare(caller_stdio);
  // The hand-over: from here on the container is the CLI's to record.
  const Status handed = prepared.ok() ? client.Report("ok") : prepared;
  if (!handed.ok()) return monitor.GiveUp(handed);
  const int status = monitor.Supervise(caller_stdio);
  monitor.Teardown();
  // Relay threads may still block on a reader that never reads: do not join them.
  std::fflush(stderr);
  ::_exit(status);
}

}  // namespace sandbox::shim
