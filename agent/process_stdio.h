// The stdio of one container process as byte streams to the host.
//
// For each stream with a port the agent connects to the host (vsock CID 2,
// port P: sandbox-vmm hands the connection to the host socket <uds>_P) and
// relays between that connection and a pipe whose other end becomes the
// process's fd 0, 1 or 2. Pipes rather than the sockets themselves, so the
// process sees what runc gives it (open("/dev/stdout") works on a pipe, not
// on a socket). EOF travels both ways: the host half-closes stdin, the
// process's last writer closing stdout half-closes the connection.
//
// Terminal mode (process.terminal): no pipes. The process's init makes a
// pty in the container and hands its master over (AttachTerminal); stdin
// is relayed into the master and the master's output (stdout and stderr,
// merged as on any terminal) to the stdout stream. There is no stderr
// stream. EOF on stdin does not close the terminal: a terminal has no EOF
// of its own (the user types ^D); the pty ends when the process exits.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/io/stream_relay.h"

namespace sandbox::agent {

// One --preserve-fds fd: the process gets a pipe end (or a socket pair's
// end when both readable and writable) at fd 3+i, relayed to the stream.
struct ExtraFdPort {
  uint32_t port = 0;
  bool readable = false;
  bool writable = false;
};

struct StdioPorts {
  uint32_t stdin_port = 0;  // 0: the process gets /dev/null
  uint32_t stdout_port = 0;  // 0: the process shares the agent's stdout (the console)
  uint32_t stderr_port = 0;  // 0: likewise for stderr
  bool terminal = false;      // stdout_port required, stderr_port must be 0
  std::vector<ExtraFdPort> extra;  // fds 3, 4, ... in order
};

// "vsock:2:P" in the guest; "unix:<prefix>_P" in host test mode, where
// `unix_prefix` plays sandbox-vmm's part.
std::string HostPortAddress(const std::string& unix_prefix, uint32_t port);

class ProcessStdio {
 public:
  // Connects every stream that has a port and makes the pipes.
  static Result<std::unique_ptr<ProcessStdio>> Open(const StdioPorts& ports, const std::string& unix_prefix);
  // Stops the relays (a process that outlives its container loses its streams).
  ~ProcessStdio();
  ProcessStdio(const ProcessStdio&) = delete;
  ProcessStdio& operator=(const ProcessStdio&) = delete;

  // What the process gets as fds 0, 1, 2; -1 means "keep the agent's".
  std::array<int, 3> child_fds() const;
  // What the process gets as fds 3, 4, ...
  std::vector<int> extra_child_fds() const;
  // Once the process holds its ends: closes the agent's copies (or EOF
  // would never come) and starts relaying (terminal mode: at AttachTerminal).
  void StartRelays();
  bool terminal() const { return terminal_; }
  // Terminal mode: the pty master the process's init sent; relays start.
  void AttachTerminal(UniqueFd master);
  // ResizeTty; kFailedPrecondition unless a terminal is attached.
  Status Resize(uint32_t rows, uint32_t columns);
  // CloseStdin: input stops now (bytes not yet relayed are dropped) and,
  // for pipes, the process reads EOF. A client that wants every byte
  // delivered half-closes its stdin stream instead.
  void CloseStdin();
  // Every relay has ended: the process's output reached the host up to EOF
  // (or the host went away), so dropping this object loses nothing.
  bool Finished() const;

 private:
  ProcessStdio() = default;
  Status OpenExtraFds(const std::vector<ExtraFdPort>& ports, const std::string& unix_prefix);

  std::array<UniqueFd, 3> child_ends_;
  std::array<UniqueFd, 3> pipe_ends_;    // the agent's end of each pipe
  std::array<UniqueFd, 3> connections_;  // to the host
  bool terminal_ = false;
  UniqueFd terminal_master_;  // kept for Resize
  StopSignal stop_;
  StopSignal stdin_stop_;  // CloseStdin, or the end of everything
  std::vector<RelayThread> relays_;
  struct ExtraFd {
    ExtraFdPort port;
    UniqueFd child_end;
    UniqueFd agent_end;
    UniqueFd connection;
  };
  std::vector<ExtraFd> extra_;
};

}  // namespace sandbox::agent
