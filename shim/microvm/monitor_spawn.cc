#include "shim/microvm/monitor_spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <memory>
#include <vector>

#include "common/base/unique_fd.h"
#include "common/log/log.h"
#include "shim/microvm/monitor.h"

namespace sandbox::shim {
namespace {

// In the forked child: becomes the monitor and never returns.
[[noreturn]] void RunForkedMonitor(const std::string& state_dir, UniqueFd report_write) {
  // Its own session: a terminal's signals for the CLI do not reach it.
  ::setsid();
  // fds 3, 4, ... (--preserve-fds) pass through as they are.
  if (report_write.get() == kMonitorReportFd) {
    if (::fcntl(kMonitorReportFd, F_SETFD, 0) != 0) ::_exit(126);
    (void)report_write.Release();
  } else if (::dup2(report_write.get(), kMonitorReportFd) < 0) {
    ::_exit(126);
  }
  // The CLI's logger goes, its --log file with it; the monitor logs to
  // stderr, which RunMonitor points at monitor.log.
  (void)InitLogging({});
  ResetSignalHandlers();
  CloseCloseOnExecFds();
  // comm too: the CLI may have been started through a link of another name.
  ::prctl(PR_SET_NAME, "sandbox-rt", 0, 0, 0);
  // Lives until _exit: the kernel reads the command line from it.
  const std::string command_line = std::string("sandbox-rt") + '\0' + kMonitorCommand + '\0' + state_dir + '\0';
  if (!SetCommandLine(command_line)) {
    // Without CAP_SYS_RESOURCE: exec'd after all, so that ps and pgrep -f
    // still tell the monitor from the CLI (shim/cli/main.cc).
    ::execl("/proc/self/exe", "sandbox-rt", kMonitorCommand, state_dir.c_str(), nullptr);
    ::_exit(127);
  }
  ::_exit(RunMonitor(state_dir));
}

}  // namespace

void CloseCloseOnExecFds() {
  std::vector<int> to_close;
  {
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc/self/fd"), ::closedir);
    if (!dir) return;
    while (const dirent* entry = ::readdir(dir.get())) {
      int fd = -1;
      const std::string_view name = entry->d_name;
      if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc() || fd == ::dirfd(dir.get())) {
        continue;
      }
      const int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0 && (flags & FD_CLOEXEC) != 0) to_close.push_back(fd);
    }
  }  // the listing's own fd is closed before the others
  for (const int fd : to_close) ::close(fd);
}

void ResetSignalHandlers() {
  for (int signal = 1; signal < NSIG; ++signal) {
    struct sigaction action {};
    if (::sigaction(signal, nullptr, &action) != 0) continue;
    const bool handled = (action.sa_flags & SA_SIGINFO) != 0 ||
                         (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN);
    if (!handled) continue;
    action = {};
    action.sa_handler = SIG_DFL;
    ::sigaction(signal, &action, nullptr);
  }
}

bool SetCommandLine(const std::string& nul_separated_argv) {
  const auto begin = reinterpret_cast<unsigned long>(nul_separated_argv.data());
  const unsigned long end = begin + nul_separated_argv.size();
  // The start first: the kernel checks start <= end after each, and the new
  // storage (the heap) lies below the old (the stack).
  return ::prctl(PR_SET_MM, PR_SET_MM_ARG_START, begin, 0, 0) == 0 &&
         ::prctl(PR_SET_MM, PR_SET_MM_ARG_END, end, 0, 0) == 0;
}

Result<pid_t> SpawnMonitor(const std::string& state_dir) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "monitor report");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  // Nothing buffered is written twice, by the CLI and by the child.
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", "monitor");
  if (pid == 0) RunForkedMonitor(state_dir, std::move(report_write));
  report_write.Reset();
  std::string message;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(report_read.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    message.append(buffer, static_cast<size_t>(got));
  }
  if (message == "ok") return pid;
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (message.starts_with("error: ")) return Unavailable(message.substr(7));
  return Internal("the sandbox monitor exited (status " + std::to_string(status) + ") without reporting");
}

}  // namespace sandbox::shim
