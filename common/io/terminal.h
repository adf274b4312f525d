// Pseudo-terminals: a pty pair from a given ptmx (the host's, or the one a
// container's /dev/pts instance offers), raw mode and window sizes.
#pragma once

#include <termios.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

struct PtyPair {
  UniqueFd master;
  UniqueFd slave;  // opened without becoming a controlling terminal
  std::string slave_name;  // "/dev/pts/N" in the devpts instance of `ptmx`
};

// Opens `ptmx`, unlocks it and opens the peer through the master
// (TIOCGPTPEER: no path lookup, so the slave comes from the same devpts
// instance even inside a container). Both ends are close-on-exec.
Result<PtyPair> OpenPty(const std::string& ptmx = "/dev/ptmx");

struct WindowSize {
  uint16_t rows = 0;
  uint16_t columns = 0;
};
Result<WindowSize> GetWindowSize(int fd);
Status SetWindowSize(int fd, WindowSize size);

// Puts a terminal in raw mode (no echo, no line editing, no signals from
// keys, no output processing) and restores its previous mode when dropped.
class RawTerminalMode {
 public:
  static Result<RawTerminalMode> Enter(int fd);
  RawTerminalMode(RawTerminalMode&& other) noexcept : fd_(other.fd_), saved_(other.saved_) { other.fd_ = -1; }
  RawTerminalMode& operator=(RawTerminalMode&&) = delete;
  RawTerminalMode(const RawTerminalMode&) = delete;
  ~RawTerminalMode();

 private:
  RawTerminalMode(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  int fd_;
  termios saved_;
};

// Raw mode for a terminal nobody restores (a host pty's relay end).
Status MakeRaw(int fd);

}  // namespace sandbox
