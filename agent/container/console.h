// process.terminal inside the container: a pty from the container's own
// devpts instance (so `tty` names /dev/pts/N as the container sees it), its
// master handed to the agent, its slave made the process's stdio and
// controlling terminal, as runc's init does with --console-socket.
#pragma once

#include <optional>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

// Runs in container-init/exec-init, in the container's mount namespace and
// root. Sizes the pty from process.consoleSize, sends "console" with the
// master over `channel`, then makes the slave fds 0-2 in a new session with
// it as the controlling terminal. `bind_dev_console`: the container's init
// also gets it bind-mounted on /dev/console.
Status SetUpConsole(int channel, const std::optional<oci::ConsoleSize>& size, bool bind_dev_console);

}  // namespace sandbox::agent
