#include "agent/process_stdio.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/listener.h"
#include "common/io/preserved_fds.h"
#include "common/io/terminal.h"

namespace sandbox::agent {
namespace {

// A process's bulk output in full flow is gathered for up to 8 ms before it
// leaves for the host: a writer's 4 KiB chunks then go out as fewer, larger
// vsock packets (each a VM exit), and the guest's next tick (10 ms at
// HZ=100) may end the window instead of a timer of its own. A flood makes
// half the exits (docs/measurements.md, stop 40); prompts, echoes and
// replies are not delayed (RelayStream).
constexpr Coalescing kOutputCoalescing{.window = std::chrono::milliseconds(8),
                                       .timer_slack = std::chrono::milliseconds(10)};

}  // namespace

std::string HostPortAddress(const std::string& unix_prefix, uint32_t port) {
  if (unix_prefix.empty()) return "vsock:2:" + std::to_string(port);
  return "unix:" + unix_prefix + "_" + std::to_string(port);
}

Result<std::unique_ptr<ProcessStdio>> ProcessStdio::Open(const StdioPorts& ports, const std::string& unix_prefix) {
  if (ports.terminal && ports.stdout_port == 0) {
    return InvalidArgument("io.stdout_port: a terminal needs a stream for its output");
  }
  if (ports.terminal && ports.stderr_port != 0) {
    return InvalidArgument("io.stderr_port: must be 0 with io.terminal (a terminal has one output stream)");
  }
  std::unique_ptr<ProcessStdio> stdio(new ProcessStdio());
  stdio->terminal_ = ports.terminal;
  const std::array<uint32_t, 3> port_of = {ports.stdin_port, ports.stdout_port, ports.stderr_port};
  const char* const names[] = {"stdin", "stdout", "stderr"};
  for (size_t stream = 0; stream < 3; ++stream) {
    if (port_of[stream] == 0) continue;
    Result<UniqueFd> connection = Connect(HostPortAddress(unix_prefix, port_of[stream]));
    if (!connection.ok()) return connection.status().Wrap(std::string("connecting the host's ") + names[stream]);
    stdio->connections_[stream] = std::move(connection).value();
    if (ports.terminal) continue;  // the pty comes later (AttachTerminal)
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", names[stream]);
    // stdin: the process reads fds[0]; stdout/stderr: the process writes fds[1].
    const bool input = stream == 0;
    stdio->child_ends_[stream].Reset(input ? fds[0] : fds[1]);
    stdio->pipe_ends_[stream].Reset(input ? fds[1] : fds[0]);
  }
  if (ports.stdin_port == 0 || ports.terminal) {
    stdio->child_ends_[0].Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!stdio->child_ends_[0].valid()) return ErrnoStatus("open", "/dev/null");
  }
  SANDBOX_RETURN_IF_ERROR(stdio->OpenExtraFds(ports.extra, unix_prefix));
  return stdio;
}

Status ProcessStdio::OpenExtraFds(const std::vector<ExtraFdPort>& ports, const std::string& unix_prefix) {
  if (ports.size() > kMaxPreservedFds) {
    return InvalidArgument("io.extra_fds: " + std::to_string(ports.size()) + " fds, at most " +
                           std::to_string(kMaxPreservedFds));
  }
  for (size_t index = 0; index < ports.size(); ++index) {
    const ExtraFdPort& port = ports[index];
    const std::string field = "io.extra_fds[" + std::to_string(index) + "]";
    if (port.port == 0) return InvalidArgument(field + ".port: must not be 0");
    if (!port.readable && !port.writable) return InvalidArgument(field + ": neither readable nor writable");
    ExtraFd extra{.port = port};
    Result<UniqueFd> connection = Connect(HostPortAddress(unix_prefix, port.port));
    if (!connection.ok()) return connection.status().Wrap("connecting the host's fd " + std::to_string(3 + index));
    extra.connection = std::move(connection).value();
    int fds[2];
    if (port.readable && port.writable) {
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return ErrnoStatus("socketpair", field);
      extra.child_end.Reset(fds[0]);
      extra.agent_end.Reset(fds[1]);
    } else {
      if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", field);
      extra.child_end.Reset(port.readable ? fds[0] : fds[1]);
      extra.agent_end.Reset(port.readable ? fds[1] : fds[0]);
    }
    extra_.push_back(std::move(extra));
  }
  return Status::Ok();
}

ProcessStdio::~ProcessStdio() {
  stop_.Set();
  stdin_stop_.Set();
  relays_.clear();  // joins
}

std::array<int, 3> ProcessStdio::child_fds() const {
  return {child_ends_[0].valid() ? child_ends_[0].get() : -1, child_ends_[1].valid() ? child_ends_[1].get() : -1,
          child_ends_[2].valid() ? child_ends_[2].get() : -1};
}

std::vector<int> ProcessStdio::extra_child_fds() const {
  std::vector<int> fds;
  for (const ExtraFd& extra : extra_) fds.push_back(extra.child_end.get());
  return fds;
}

void ProcessStdio::StartRelays() {
  for (UniqueFd& end : child_ends_) end.Reset();
  for (ExtraFd& extra : extra_) {
    extra.child_end.Reset();
    // Both ways: each relay holds its own copies; the socket's half-close
    // (not the close of one copy) is what carries each direction's EOF.
    if (extra.port.readable && extra.port.writable) {
      relays_.emplace_back(UniqueFd(::fcntl(extra.connection.get(), F_DUPFD_CLOEXEC, 3)),
                           UniqueFd(::fcntl(extra.agent_end.get(), F_DUPFD_CLOEXEC, 3)), stop_.fd());
      relays_.emplace_back(std::move(extra.agent_end), std::move(extra.connection), stop_.fd());
    } else if (extra.port.readable) {
      relays_.emplace_back(std::move(extra.connection), std::move(extra.agent_end), stop_.fd());
    } else {
      relays_.emplace_back(std::move(extra.agent_end), std::move(extra.connection), stop_.fd());
    }
  }
  if (terminal_) return;
  if (connections_[0].valid()) {
    relays_.emplace_back(std::move(connections_[0]), std::move(pipe_ends_[0]), stdin_stop_.fd());
  }
  for (size_t stream = 1; stream < 3; ++stream) {
    if (!connections_[stream].valid()) continue;
    relays_.emplace_back(std::move(pipe_ends_[stream]), std::move(connections_[stream]), stop_.fd(), kOutputCoalescing);
  }
}

void ProcessStdio::AttachTerminal(UniqueFd master) {
  terminal_master_ = std::move(master);
  if (connections_[0].valid()) {
    relays_.emplace_back(std::move(connections_[0]), UniqueFd(::fcntl(terminal_master_.get(), F_DUPFD_CLOEXEC, 3)),
                         stdin_stop_.fd());
  }
  // Ends with EIO once the process and everything it started closed the slave.
  relays_.emplace_back(UniqueFd(::fcntl(terminal_master_.get(), F_DUPFD_CLOEXEC, 3)), std::move(connections_[1]),
                       stop_.fd(), kOutputCoalescing);
}

Status ProcessStdio::Resize(uint32_t rows, uint32_t columns) {
  if (!terminal_master_.valid()) return FailedPrecondition("the process has no terminal");
  if (rows > 0xffff || columns > 0xffff) return InvalidArgument("rows/columns: must fit 16 bits");
  return SetWindowSize(terminal_master_.get(),
                       {.rows = static_cast<uint16_t>(rows), .columns = static_cast<uint16_t>(columns)});
}

void ProcessStdio::CloseStdin() { stdin_stop_.Set(); }

bool ProcessStdio::Finished() const {
  for (const RelayThread& relay : relays_) {
    if (!relay.finished()) return false;
  }
  return true;
}

}  // namespace sandbox::agent
