#include "shim/microvm/exec_session.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <thread>


#include "common/base/file_util.h"
#include "common/base/unix_socket.h"
#include "common/io/resize_watcher.h"
#include "common/io/stream_relay.h"
#include "common/io/terminal.h"
#include "common/oci/spec_json.h"
#include "shim/microvm/agent_client.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/microvm/signal_forwarding.h"

namespace sandbox::shim {
namespace {

constexpr auto kAgentConnectTimeout = std::chrono::seconds(10);
constexpr auto kStreamAcceptLimit = std::chrono::seconds(30);
constexpr auto kOutputDrainLimit = std::chrono::seconds(5);
// Exec stdio ports: three consecutive ports at a random multiple of 4 above
// the container's own (1025-1027), so concurrent execs rarely collide; a
// collision shows as an existing <vsock>_P socket and another slot is drawn.
constexpr uint32_t kFirstExecPort = 0x10000;
constexpr uint32_t kExecPortSlots = 0x100000;

const char* const kStreamNames[] = {"stdin", "stdout", "stderr"};

// The host ends of one exec's stdio: <vsock>_P listeners, unlinked when dropped.
class ExecStreams {
 public:
  static Result<std::unique_ptr<ExecStreams>> Listen(const std::string& vsock, const std::array<bool, 3>& wanted) {
    std::random_device random;
    for (int attempt = 0; attempt < 16; ++attempt) {
      std::unique_ptr<ExecStreams> streams(new ExecStreams());
      streams->first_port_ = kFirstExecPort + (random() % kExecPortSlots) * 4;
      bool taken = false;
      for (size_t stream = 0; stream < 3 && !taken; ++stream) {
        if (!wanted[stream]) continue;
        const std::string path = vsock + "_" + std::to_string(streams->first_port_ + stream);
        if (PathExists(path)) {
          taken = true;
          break;
        }
        SANDBOX_ASSIGN_OR_RETURN(streams->listeners_[stream], ListenUnix(path, 1));
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
  // The agent's connection for each stream that has a listener.
  Result<std::array<UniqueFd, 3>> AcceptAll() {
    std::array<UniqueFd, 3> connections;
    for (size_t stream = 0; stream < 3; ++stream) {
      if (!listeners_[stream].valid()) continue;
      Result<UniqueFd> accepted =
          AcceptWithin(listeners_[stream].get(), kStreamAcceptLimit, std::string("the exec's ") + kStreamNames[stream]);
      if (!accepted.ok()) return accepted.status().Wrap("the agent did not connect");
      connections[stream] = std::move(accepted).value();
    }
    return connections;
  }

 private:
  ExecStreams() = default;

  uint32_t first_port_ = 0;
  std::array<UniqueFd, 3> listeners_;
  std::array<std::string, 3> paths_;
};

std::string NewExecId() {
  std::random_device random;
  char id[48];
  std::snprintf(id, sizeof(id), "exec-%d-%08x", static_cast<int>(::getpid()), static_cast<unsigned>(random()));
  return id;
}

// exec --detach: the foreground session runs in a child of its own (a new
// session, holding the caller's stdio), which reports the process started
// over a pipe and then relays and waits until the process ends. This
// process returns at the report; the child's pid is the exec's host pid.
Result<ExecResult> RunDetached(const SandboxRef& ref, const ExecRequest& request) {
  if (request.process.terminal.value_or(false)) {
    return InvalidArgument("exec --detach --tty: a detached terminal needs --console-socket, which the microVM "
                           "backend does not support yet");
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "exec --detach");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  // No thread exists yet in this process (the agent client's starts later).
  const pid_t relay = ::fork();
  if (relay < 0) return ErrnoStatus("fork", "exec --detach");
  if (relay == 0) {
    report_read.Reset();
    ::setsid();  // the caller's terminal and its signals are not the relay's
    auto send = [fd = report_write.get()](const std::string& message) {
      (void)!::write(fd, message.data(), message.size());
    };
    ExecRequest foreground = request;
    foreground.detach = false;
    foreground.on_started = [&](int64_t pid) {
      send("ok " + std::to_string(pid));
      report_write.Reset();
      return Status::Ok();
    };
    Result<ExecResult> ran = RunExec(ref, foreground);
    if (!ran.ok() && report_write.valid()) send("error: " + ran.status().message());
    std::fflush(nullptr);
    ::_exit(ran.ok() ? 0 : 1);
  }
  report_write.Reset();
  std::string message;
  char buffer[4096];
  for (ssize_t got; (got = ::read(report_read.get(), buffer, sizeof(buffer))) != 0;) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    message.append(buffer, static_cast<size_t>(got));
  }
  if (!message.starts_with("ok ")) {
    ::waitpid(relay, nullptr, 0);
    if (message.starts_with("error: ")) return FailedPrecondition(message.substr(7));
    return Internal("the exec relay ended without reporting");
  }
  const int64_t pid = std::atoll(message.c_str() + 3);
  if (request.on_started) SANDBOX_RETURN_IF_ERROR(request.on_started(pid));
  return ExecResult{.pid = pid, .exit_code = std::nullopt};
}

}  // namespace

Result<ExecResult> RunExec(const SandboxRef& ref, const ExecRequest& request) {
  const std::string later = " is not supported by sandbox-rt's microVM backend yet";
  if (!request.console_socket.empty()) {
    return Unimplemented("exec --console-socket" + later + " (exec --tty relays the terminal to this process's own "
                         "stdin/stdout)");
  }
  if (request.preserve_fds > 0) return Unimplemented("exec --preserve-fds" + later);
  if (request.detach) return RunDetached(ref, request);
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
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<ExecStreams> streams, ExecStreams::Listen(files.vsock, open));
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<AgentClient> agent, AgentClient::Connect(files.vsock, kAgentConnectTimeout));
  const std::string exec_id = NewExecId();
  SANDBOX_RETURN_IF_ERROR(
      agent->ExecProcess(ref.id, exec_id, oci::ProcessToJson(request.process), streams->ports(), terminal));
  auto signal_exec = [&](int signal) {
    Result<std::unique_ptr<AgentClient>> signaller = AgentClient::Connect(files.vsock, kAgentConnectTimeout);
    if (signaller.ok()) (void)(*signaller)->Signal(ref.id, signal, /*all=*/false, exec_id);
  };
  Result<std::array<UniqueFd, 3>> connections = streams->AcceptAll();
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

  auto stop = std::make_shared<StopSignal>();
  // stdin: a thread of its own, never waited for (the caller may never close it).
  if ((*connections)[0].valid()) {
    std::thread([from = std::move(caller[0]), to = std::move((*connections)[0]), stop]() mutable {
      RelayStream(from.get(), to.get(), stop->fd());
      ShutdownWrite(to.get());
    }).detach();
  }
  OutputRelays output;
  for (size_t stream = 1; stream < 3; ++stream) {
    if ((*connections)[stream].valid()) output.Add(std::move((*connections)[stream]), std::move(caller[stream]), stop->fd());
  }

  // WaitProcess blocks on its own connection; signals go through new ones.
  struct WaitOutcome {
    UniqueFd done{::eventfd(0, EFD_CLOEXEC)};
    Result<int> exit_code = Internal("not waited");
  };
  auto outcome = std::make_shared<WaitOutcome>();
  std::thread waiter([outcome, agent = agent.get(), &ref, &exec_id] {
    outcome->exit_code = agent->Wait(ref.id, exec_id);
    const uint64_t one = 1;
    (void)!::write(outcome->done.get(), &one, sizeof(one));
  });
  const Status forwarded = ForwardSignalsUntil(outcome->done.get(), signal_exec);
  waiter.join();
  resizes.reset();  // it uses `agent`
  SANDBOX_RETURN_IF_ERROR(forwarded);
  if (!output.WaitAll(kOutputDrainLimit)) stop->Set();
  SANDBOX_RETURN_IF_ERROR(outcome->exit_code.status());
  return ExecResult{.pid = relay_pid, .exit_code = *outcome->exit_code};
}

}  // namespace sandbox::shim
