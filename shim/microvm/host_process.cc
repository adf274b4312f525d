#include "shim/microvm/host_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <optional>

namespace sandbox::shim {

void BecomeHelperOf(int parent_pidfd, int in, int out) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  pollfd parent_ended{parent_pidfd, POLLIN, 0};
  if (parent_pidfd < 0 || ::poll(&parent_ended, 1, 0) != 0) ::_exit(1);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGHUP, SIG_DFL);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
}

pid_t ForkIntoNamespaces(unsigned long namespaces) {
  return static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD | namespaces, nullptr, nullptr, nullptr, nullptr));
}

UniqueFd OpenOwnPidfd() { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0))); }

std::function<bool()> VmmExitedCheck(const std::string& vmm_pid_file) {
  return [vmm_pid_file] {
    const std::optional<ProcessIdentity> vmm = ReadIdentity(vmm_pid_file);
    return vmm && !IsRunning(*vmm);
  };
}

}  // namespace sandbox::shim
