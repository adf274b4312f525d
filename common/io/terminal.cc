#include "common/io/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace sandbox {

Result<PtyPair> OpenPty(const std::string& ptmx) {
  PtyPair pair;
  pair.master.Reset(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pair.master.valid()) return ErrnoStatus("open", ptmx);
  int unlock = 0;
  if (::ioctl(pair.master.get(), TIOCSPTLCK, &unlock) != 0) return ErrnoStatus("unlock pty", ptmx);
  unsigned int number = 0;
  if (::ioctl(pair.master.get(), TIOCGPTN, &number) != 0) return ErrnoStatus("TIOCGPTN", ptmx);
  pair.slave_name = "/dev/pts/" + std::to_string(number);
  pair.slave.Reset(::ioctl(pair.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pair.slave.valid()) return ErrnoStatus("TIOCGPTPEER", ptmx);
  return pair;
}

Result<WindowSize> GetWindowSize(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0) return ErrnoStatus("TIOCGWINSZ", "terminal");
  return WindowSize{.rows = size.ws_row, .columns = size.ws_col};
}

Status SetWindowSize(int fd, WindowSize size) {
  winsize wanted{};
  wanted.ws_row = size.rows;
  wanted.ws_col = size.columns;
  if (::ioctl(fd, TIOCSWINSZ, &wanted) != 0) return ErrnoStatus("TIOCSWINSZ", "terminal");
  return Status::Ok();
}

Status MakeRaw(int fd) {
  termios mode{};
  if (::tcgetattr(fd, &mode) != 0) return ErrnoStatus("tcgetattr", "terminal");
  ::cfmakeraw(&mode);
  if (::tcsetattr(fd, TCSANOW, &mode) != 0) return ErrnoStatus("tcsetattr", "terminal");
  return Status::Ok();
}

Result<RawTerminalMode> RawTerminalMode::Enter(int fd) {
  termios saved{};
  if (::tcgetattr(fd, &saved) != 0) return ErrnoStatus("tcgetattr", "terminal");
  SANDBOX_RETURN_IF_ERROR(MakeRaw(fd));
  return RawTerminalMode(fd, saved);
}

RawTerminalMode::~RawTerminalMode() {
  if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace sandbox
