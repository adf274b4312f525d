#include "agent/process_table.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include "agent/guest_init.h"

namespace sandbox::agent {

pid_t ProcessTable::SpawnTracked(const std::function<pid_t()>& spawn) {
  std::lock_guard lock(mutex_);
  const pid_t pid = spawn();
  if (pid > 0) tracked_[pid] = std::nullopt;
  return pid;
}

void ProcessTable::Reaped(pid_t pid, int wait_status) {
  {
    std::lock_guard lock(mutex_);
    auto it = tracked_.find(pid);
    if (it == tracked_.end()) return;
    it->second = wait_status;
  }
  exited_.notify_all();
}

int ProcessTable::Wait(pid_t pid) {
  std::unique_lock lock(mutex_);
  exited_.wait(lock, [&] {
    auto it = tracked_.find(pid);
    return it == tracked_.end() || it->second.has_value();
  });
  auto it = tracked_.find(pid);
  return it == tracked_.end() ? -1 : *it->second;
}

std::optional<int> ProcessTable::ExitStatus(pid_t pid) {
  std::lock_guard lock(mutex_);
  auto it = tracked_.find(pid);
  return it == tracked_.end() ? std::nullopt : it->second;
}

void ProcessTable::Forget(pid_t pid) {
  {
    std::lock_guard lock(mutex_);
    tracked_.erase(pid);
  }
  exited_.notify_all();
}

int ShellExitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

void StartReaper(ProcessTable& table, bool pid1) {
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  if (pid1) {
    sigaddset(&handled, SIGINT);
    // Ctrl-Alt-Del now sends SIGINT to PID 1 instead of an immediate reboot.
    ::reboot(RB_DISABLE_CAD);
  } else {
    // Host test mode: orphaned container processes come back to the agent.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  const int signals = ::signalfd(-1, &handled, SFD_CLOEXEC);
  std::thread([signals, &table] {
    for (;;) {
      struct signalfd_siginfo info;
      if (::read(signals, &info, sizeof(info)) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (info.ssi_signo == SIGINT) {
        std::fprintf(stderr, "sandbox-agent: Ctrl-Alt-Del: shutting down\n");
        (void)PowerOff();
      }
      int status = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) table.Reaped(pid, status);
    }
  }).detach();
}

}  // namespace sandbox::agent
