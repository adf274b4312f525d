// Test helper: a child process that sits in namespaces of its own (made
// with unshare(2)) until the holder is dropped, so a test can hand
// /proc/<pid>/ns/<kind> to code that joins namespaces by path.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace sandbox::testing {

class NamespaceHolder {
 public:
  // `flags`: CLONE_NEW* for unshare(2). valid() is false when the child
  // could not make them.
  explicit NamespaceHolder(int flags) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::unshare(flags) != 0) ::_exit(1);
      (void)!::write(ready[1], "x", 1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char byte;
    valid_ = pid_ > 0 && ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
  }
  ~NamespaceHolder() { Release(); }
  NamespaceHolder(const NamespaceHolder&) = delete;
  NamespaceHolder& operator=(const NamespaceHolder&) = delete;

  bool valid() const { return valid_; }
  pid_t pid() const { return pid_; }
  // "/proc/<pid>/ns/<kind>", e.g. kind "net".
  std::string path(const std::string& kind) const { return "/proc/" + std::to_string(pid_) + "/ns/" + kind; }
  // Ends the child now (its namespaces live on while something else holds them).
  void Release() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool valid_ = false;
};

}  // namespace sandbox::testing
