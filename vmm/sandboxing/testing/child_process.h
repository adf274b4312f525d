// For tests of confinement (seccomp, the jail), which must not confine the
// test runner itself: runs a body in a forked child and reports how it ended
// and what it wrote to stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace sandbox::vmm::testing {

struct ChildEnd {
  int status = 0;  // as waitpid gives it
  std::string stderr_text;
};

// The child exits 0 once `body` returns (unless `body` ends it first).
inline ChildEnd RunInChild(const std::function<void()>& body) {
  int err[2];
  if (::pipe(err) != 0) return {.status = -1};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(err[0]);
    ::dup2(err[1], STDERR_FILENO);
    body();
    ::_exit(0);
  }
  ::close(err[1]);
  ChildEnd end;
  char buffer[512];
  for (ssize_t got; (got = ::read(err[0], buffer, sizeof(buffer))) > 0;) end.stderr_text.append(buffer, got);
  ::close(err[0]);
  ::waitpid(pid, &end.status, 0);
  return end;
}

inline bool ExitedZero(const ChildEnd& end) { return WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0; }

}  // namespace sandbox::vmm::testing
