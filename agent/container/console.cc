#include "agent/container/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "agent/container/init_channel.h"
#include "common/io/terminal.h"

namespace sandbox::agent {
namespace {

Status BindDevConsole(const std::string& slave_name) {
  // A mount point for the bind; runc makes it the same way.
  UniqueFd target(::open("/dev/console", O_RDONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0666));
  if (!target.valid()) return ErrnoStatus("create", "/dev/console (process.terminal)");
  if (::mount(slave_name.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoStatus("bind mount " + slave_name, "/dev/console (process.terminal)");
  }
  return Status::Ok();
}

}  // namespace

Status SetUpConsole(int channel, const std::optional<oci::ConsoleSize>& size, bool bind_dev_console) {
  Result<PtyPair> pty = OpenPty("/dev/ptmx");
  if (!pty.ok()) {
    return pty.status().Wrap("process.terminal: no pty from the container's /dev/ptmx (mount devpts with "
                             "newinstance on /dev/pts)");
  }
  if (size && (size->height > 0xffff || size->width > 0xffff)) {
    return InvalidArgument("process.consoleSize: height and width must fit 16 bits");
  }
  if (size) {
    SANDBOX_RETURN_IF_ERROR(SetWindowSize(pty->master.get(), {.rows = static_cast<uint16_t>(size->height),
                                                               .columns = static_cast<uint16_t>(size->width)}));
  }
  if (bind_dev_console) SANDBOX_RETURN_IF_ERROR(BindDevConsole(pty->slave_name));
  SANDBOX_RETURN_IF_ERROR(SendInitMessage(channel, "console", pty->master.get()));
  pty->master.Reset();
  if (::setsid() < 0) return ErrnoStatus("setsid", "process.terminal");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(pty->slave.get(), fd) < 0) return ErrnoStatus("dup2", "the pty onto stdio");
  }
  if (::ioctl(0, TIOCSCTTY, 0) != 0) return ErrnoStatus("TIOCSCTTY", "process.terminal");
  return Status::Ok();
}

}  // namespace sandbox::agent
