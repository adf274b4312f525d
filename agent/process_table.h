// Exit statuses of the agent's children. One reaper thread owns waitpid(-1)
// (PID 1 must reap every orphan anyway) and hands the status of the
// processes somebody tracks to whoever waits for them.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

namespace sandbox::agent {

class ProcessTable {
 public:
  // Runs `spawn` (which returns the new child's pid, or -1) with the table
  // locked and tracks the pid, so the reaper cannot see the child exit
  // before it is tracked.
  pid_t SpawnTracked(const std::function<pid_t()>& spawn);
  // Called by the reaper for every reaped child; statuses of untracked
  // children (orphans) are dropped.
  void Reaped(pid_t pid, int wait_status);
  // Blocks until `pid` exits; returns its wait status. The pid stays
  // tracked (several callers may wait) until Forget().
  int Wait(pid_t pid);
  std::optional<int> ExitStatus(pid_t pid);
  void Forget(pid_t pid);

 private:
  std::mutex mutex_;
  std::condition_variable exited_;
  std::map<pid_t, std::optional<int>> tracked_;
};

// Starts the reaper thread: SIGCHLD through a signalfd (blocked in every
// thread started afterwards). With `pid1`, also turns Ctrl-Alt-Del (SIGINT,
// sandbox-vmm's graceful shutdown) into PowerOff().
void StartReaper(ProcessTable& table, bool pid1);

// The exit status a shell reports: the code, or 128+n after signal n.
int ShellExitStatus(int wait_status);

}  // namespace sandbox::agent
