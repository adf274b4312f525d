#include "shim/microvm/host_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace sandbox::shim {

void BecomeHelperOf(pid_t parent, int in, int out) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGHUP, SIG_DFL);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
}

}  // namespace sandbox::shim
