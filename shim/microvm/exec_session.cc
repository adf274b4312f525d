#include "shim/microvm/exec_session.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <thread>


#include "common/base/fd_passing.h"
#include "common/base/file_util.h"
#include "common/base/unix_socket.h"
#include "common/io/preserved_fds.h"
#include "common/io/process_relay.h"
#include "common/io/resize_watcher.h"
#include "common/io/stream_relay.h"
#include "common/io/terminal.h"
#include "common/oci/spec_json.h"
#include "shim/microvm/agent_client.h"
#include "shim/microvm/host_process.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/microvm/signal_forwarding.h"

namespace sandbox::shim {
namespace {

constexpr auto kAgentConnectTimeout = std::chrono::seconds(10);
constexpr auto kStreamAcceptLimit = std::chrono::seconds(30);
// Exec stream ports: consecutive ports (stdin, stdout, stderr, then the
// preserved fds) in a random slot above the container's own (1025-...), so
// concurrent execs rarely collide; a collision shows as an existing
// <vsock>_P socket and another slot is drawn.
constexpr uint32_t kFirstExecPort = 0x10000;
constexpr uint32_t kExecPortSlots = 0x100000;
constexpr uint32_t kPortsPerExec = 64;
static_assert(3 + kMaxPreservedFds <= kPortsPerExec);

const char* const kStreamNames[] = {"stdin", "stdout", "stderr"};

// The host ends of one exec's stdio: <vsock>_P listeners, unlinked when dropped.
class ExecStreams {
 public:
  // Streams 0-2 are stdio (each when `wanted`), 3+i the preserved fd 3+i.
  static Result<std::unique_ptr<ExecStreams>> Listen(const std::string& vsock, const std::array<bool, 3>& wanted,
                                                     size_t extra_fds) {
    std::random_device random;
    for (int attempt = 0; attempt < 16; ++attempt) {
      std::unique_ptr<ExecStreams> streams(new ExecStreams());
      streams->first_port_ = kFirstExecPort + (random() % kExecPortSlots) * kPortsPerExec;
      streams->listeners_.resize(3 + extra_fds);
      streams->paths_.resize(3 + extra_fds);
      bool taken = false;
      for (size_t stream = 0; stream < 3 + extra_fds && !taken; ++stream) {
        if (stream < 3 && !wanted[stream]) continue;
        const uint32_t port = streams->first_port_ + static_cast<uint32_t>(stream);
        const std::string path = GuestPortSocket(vsock, port);
        if (PathExists(path)) {
          taken = true;
          break;
        }
        SANDBOX_ASSIGN_OR_RETURN(streams->listeners_[stream], ListenForGuestPort(vsock, port));
        streams->paths_[stream] = path;
      }
      if (!taken) return streams;
    }
    return Unavailable("no free vsock ports for the exec's stdio next to " + vsock);
  }
  ~ExecStreams() {
    for (const std::string& path : paths_) {
      if (!path.empty()) (void)::unlink(path.c_str());
    }
  }
  ExecStreams(const ExecStreams&) = delete;
  ExecStreams& operator=(const ExecStreams&) = delete;

  std::array<uint32_t, 3> ports() const {
    std::array<uint32_t, 3> ports{};
    for (size_t stream = 0; stream < 3; ++stream) {
      if (listeners_[stream].valid()) ports[stream] = first_port_ + static_cast<uint32_t>(stream);
    }
    return ports;
  }
  std::vector<ExtraFdStream> extra_fds(const std::vector<FdAccess>& accesses) const {
    std::vector<ExtraFdStream> streams;
    for (size_t index = 0; index < accesses.size(); ++index) {
      streams.push_back({.port = first_port_ + 3 + static_cast<uint32_t>(index), .access = accesses[index]});
    }
    return streams;
  }
  // The agent's connection for each stream that has a listener.
  Result<std::vector<UniqueFd>> AcceptAll() {
    std::vector<UniqueFd> connections(listeners_.size());
    for (size_t stream = 0; stream < listeners_.size(); ++stream) {
      if (!listeners_[stream].valid()) continue;
      const std::string name =
          stream < 3 ? std::string("the exec's ") + kStreamNames[stream] : "the exec's fd " + std::to_string(stream);
      Result<UniqueFd> accepted = AcceptWithin(listeners_[stream].get(), kStreamAcceptLimit, name);
      if (!accepted.ok()) return accepted.status().Wrap("the agent did not connect");
      connections[stream] = std::move(accepted).value();
    }
    return connections;
  }

 private:
  ExecStreams() = default;

  uint32_t first_port_ = 0;
  std::vector<UniqueFd> listeners_;
  std::vector<std::string> paths_;
};

std::string NewExecId() {
  std::random_device random;
  char id[48];
  std::snprintf(id, sizeof(id), "exec-%d-%08x", static_cast<int>(::getpid()), static_cast<unsigned>(random()));
  return id;
}

// exec --console-socket, in the relay child: a host pty whose slave is this
// process's stdio and the controlling terminal of its new session (so a
// resize of the master by the socket's owner arrives as SIGWINCH and reaches
// the exec's guest pty), and whose master goes to the socket with runc's
// message (the pty's name, the fd attached).
Status HandConsoleToSocket(const std::string& console_socket, const std::optional<oci::ConsoleSize>& size) {
  SANDBOX_ASSIGN_OR_RETURN(PtyPair pty, OpenPty());
  if (size) {
    SANDBOX_RETURN_IF_ERROR(SetWindowSize(pty.master.get(), {.rows = static_cast<uint16_t>(size->height),
                                                             .columns = static_cast<uint16_t>(size->width)}));
  }
  if (::ioctl(pty.slave.get(), TIOCSCTTY, 0) != 0) return ErrnoStatus("TIOCSCTTY", "the host pty");
  if (::dup2(pty.slave.get(), STDIN_FILENO) < 0 || ::dup2(pty.slave.get(), STDOUT_FILENO) < 0) {
    return ErrnoStatus("dup2", "the host pty");
  }
  Result<UniqueFd> socket = ConnectUnix(console_socket);
  if (!socket.ok()) return socket.status().Wrap("--console-socket");
  return SendWithFd(socket->get(), pty.slave_name.data(), pty.slave_name.size(), pty.master.get());
}

// exec --detach and exec --console-socket: the foreground session runs in a
// child of its own (a new session, holding the caller's stdio or the host
// pty), which reports "ok PID" over a pipe once the process runs and
// "exit N" when it ended. With `wait_for_exit` this process forwards its
// signals to the child and returns the exit status; otherwise it returns at
// the first report, and the child's pid is the exec's host pid.
Result<ExecResult> RunInRelay(const SandboxRef& ref, const ExecRequest& request, bool wait_for_exit) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "the exec relay");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  // No thread exists yet in this process (the agent client's starts later).
  const pid_t relay = ::fork();
  if (relay < 0) return ErrnoStatus("fork", "the exec relay");
  if (relay == 0) {
    report_read.Reset();
    ::setsid();  // the caller's terminal and its signals are not the relay's
    auto send = [fd = report_write.get()](const std::string& message) {
      (void)!::write(fd, message.data(), message.size());
    };
    Status console = Status::Ok();
    if (!request.console_socket.empty()) console = HandConsoleToSocket(request.console_socket, request.process.console_size);
    if (!console.ok()) {
      send("error: " + console.message());
      ::_exit(1);
    }
    ExecRequest foreground = request;
    foreground.detach = false;
    foreground.console_socket.clear();
    foreground.on_started = [&](int64_t pid) {
      send("ok " + std::to_string(pid) + "\n");
      if (!wait_for_exit) report_write.Reset();
      return Status::Ok();
    };
    Result<ExecResult> ran = RunExec(ref, foreground);
    if (report_write.valid()) {
      send(ran.ok() ? "exit " + std::to_string(ran->exit_code.value_or(0)) + "\n" : "error: " + ran.status().message());
    }
    std::fflush(nullptr);
    // This process is the exec's host pid (--pid-file): whoever waits for it,
    // as conmon does for `podman exec`, reads the process's exit status here.
    ::_exit(ran.ok() ? ran->exit_code.value_or(0) & 0xff : 255);
  }
  report_write.Reset();
  std::string message;
  char buffer[4096];
  bool started = false;
  int64_t pid = 0;
  for (;;) {
    const ssize_t got = ::read(report_read.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    message.append(buffer, static_cast<size_t>(got));
    if (started || !message.starts_with("ok ") || message.find('\n') == std::string::npos) continue;
    started = true;
    pid = std::atoll(message.c_str() + 3);
    if (request.on_started) {
      const Status noted = request.on_started(pid);
      if (!noted.ok()) {
        ::kill(relay, SIGKILL);
        ::waitpid(relay, nullptr, 0);
        return noted;
      }
    }
    if (!wait_for_exit) return ExecResult{.pid = pid, .exit_code = std::nullopt};
    // Until the end the caller's signals go to the relay, which hands them
    // to the process, as a foreground exec does.
    (void)ForwardSignalsUntil(report_read.get(), [&](int signal) { ::kill(relay, signal); });
  }
  if (!started) {
    ::waitpid(relay, nullptr, 0);
    if (message.starts_with("error: ")) return FailedPrecondition(message.substr(7));
    return Internal("the exec relay ended without reporting");
  }
  ::waitpid(relay, nullptr, 0);
  const std::string ending = message.substr(message.find('\n') + 1);
  if (ending.starts_with("exit ")) return ExecResult{.pid = pid, .exit_code = std::atoi(ending.c_str() + 5)};
  if (ending.starts_with("error: ")) return FailedPrecondition(ending.substr(7));
  return Internal("the exec relay ended without an exit status");
}

}  // namespace

Result<ExecResult> RunExec(const SandboxRef& ref, const ExecRequest& request) {
  if (request.preserve_fds < 0) return InvalidArgument("--preserve-fds: must not be negative");
  SANDBOX_ASSIGN_OR_RETURN(std::vector<FdAccess> preserved_fds,
                           ClassifyPreservedFds(static_cast<size_t>(request.preserve_fds)));
  const bool wants_terminal = request.process.terminal.value_or(false);
  if (!request.console_socket.empty()) {
    // runc's rules: the socket is for a terminal's pty, and must be a socket.
    if (!wants_terminal) return InvalidArgument("--console-socket: only with --tty (there is no pty to send)");
    struct stat info {};
    if (::stat(request.console_socket.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) {
      return InvalidArgument("--console-socket " + request.console_socket + ": not a Unix socket");
    }
    return RunInRelay(ref, request, /*wait_for_exit=*/!request.detach);
  }
  if (request.detach) {
    if (wants_terminal) {
      return InvalidArgument("exec --detach --tty: a detached terminal needs --console-socket to receive its pty");
    }
    return RunInRelay(ref, request, /*wait_for_exit=*/false);
  }
  const SandboxFiles files(ref.state_dir);
  const bool terminal = request.process.terminal.value_or(false);
  // Before any thread exists (ResizeWatcher); raw mode lets keys such as ^C
  // reach the container's terminal as bytes.
  std::unique_ptr<ResizeWatcher> resizes;
  std::optional<RawTerminalMode> raw_mode;
  if (terminal && ::isatty(STDIN_FILENO)) {
    SANDBOX_ASSIGN_OR_RETURN(resizes, ResizeWatcher::Create());
  }

  // This process's stdio, as the exec'd process's: closed fds stay closed.
  std::array<UniqueFd, 3> caller;
  std::array<bool, 3> open{};
  for (int fd = 0; fd < 3; ++fd) {
    caller[fd].Reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    open[fd] = caller[fd].valid();
  }
  if (terminal) {
    // The terminal's output (stdout and stderr merged) goes to stdout.
    if (!open[1]) return InvalidArgument("exec --tty: stdout is closed; the terminal's output has nowhere to go");
    open[2] = false;
    caller[2].Reset();
  }
  std::vector<UniqueFd> preserved;
  for (size_t index = 0; index < preserved_fds.size(); ++index) {
    preserved.emplace_back(::fcntl(static_cast<int>(3 + index), F_DUPFD_CLOEXEC, 3));
    if (!preserved.back().valid()) return ErrnoStatus("dup", "--preserve-fds fd " + std::to_string(3 + index));
  }
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<ExecStreams> streams,
                           ExecStreams::Listen(files.vsock, open, preserved_fds.size()));
  const std::function<bool()> vmm_exited = VmmExitedCheck(files.vmm_pid);
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent,
                           AgentClient::Connect(files.vsock, kAgentConnectTimeout, vmm_exited));
  const std::string exec_id = NewExecId();
  SANDBOX_RETURN_IF_ERROR(agent->ExecProcess(ref.id, exec_id, oci::ProcessToJson(request.process), streams->ports(),
                                             terminal, streams->extra_fds(preserved_fds)));
  auto signal_exec = [&](int signal) {
    Result<std::unique_ptr<AgentClient>> signaller = AgentClient::Connect(files.vsock, kAgentConnectTimeout, vmm_exited);
    if (signaller.ok()) (void)(*signaller)->Signal(ref.id, signal, /*all=*/false, exec_id);
  };
  Result<std::vector<UniqueFd>> connections = streams->AcceptAll();
  Status started = connections.status();
  const int64_t relay_pid = ::getpid();
  if (started.ok() && request.on_started) started = request.on_started(relay_pid);
  if (!started.ok()) {
    signal_exec(SIGKILL);
    (void)agent->Wait(ref.id, exec_id);
    return started;
  }
  streams.reset();  // every stream is connected: the sockets' names can go
  if (resizes) {
    Result<RawTerminalMode> raw = RawTerminalMode::Enter(STDIN_FILENO);
    if (raw.ok()) raw_mode.emplace(std::move(raw).value());
    resizes->Start([&] {
      Result<WindowSize> size = GetWindowSize(STDIN_FILENO);
      if (size.ok()) (void)agent->ResizeTty(ref.id, exec_id, size->rows, size->columns);
    });
  }

  ProcessStreamEnds guest;
  for (size_t stream = 0; stream < connections->size(); ++stream) {
    if (stream < 3) {
      guest.stdio[stream] = std::move((*connections)[stream]);
    } else {
      guest.preserved.push_back(std::move((*connections)[stream]));
    }
  }
  ProcessRelay relay({.stdio = std::move(caller), .preserved = std::move(preserved)}, std::move(guest), preserved_fds);
  // WaitProcess blocks on its own connection; signals go through new ones.
  BackgroundWait wait([agent = agent.get(), &ref, &exec_id] { return agent->Wait(ref.id, exec_id); });
  const Status forwarded = ForwardSignalsUntil(wait.done_fd(), signal_exec);
  const Result<int> exit_code = wait.Join();
  resizes.reset();  // it uses `agent`
  SANDBOX_RETURN_IF_ERROR(forwarded);
  relay.Drain();
  SANDBOX_RETURN_IF_ERROR(exit_code.status());
  return ExecResult{.pid = relay_pid, .exit_code = *exit_code};
}

}  // namespace sandbox::shim
