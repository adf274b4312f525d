#include "shim/microvm/monitor_spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "common/base/file_util.h"

namespace sandbox::shim {
namespace {

// Runs `check` in a forked child (what it changes stays there) and returns
// its exit status: 0 when every expectation held, else which one failed.
int InChild(const std::function<int()>& check) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(check());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

void IgnoreSignal(int) {}

bool HasEffectiveCapability(int capability) {
  const Result<std::string> status = ReadFile("/proc/self/status");
  const size_t at = status.ok() ? status->find("CapEff:\t") : std::string::npos;
  if (at == std::string::npos) return false;
  return ((std::stoull(status->substr(at + 8, 16), nullptr, 16) >> capability) & 1) != 0;
}

TEST(MonitorSpawnTest, ClosesOnlyTheCloseOnExecFds) {
  EXPECT_EQ(InChild([] {
              const int kept = ::open("/dev/null", O_RDONLY);
              const int closed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
              if (kept < 0 || closed < 0) return 1;
              CloseCloseOnExecFds();
              if (::fcntl(kept, F_GETFD) < 0) return 2;
              if (::fcntl(closed, F_GETFD) >= 0 || errno != EBADF) return 3;
              if (::fcntl(1, F_GETFD) < 0) return 4;  // stdio is left
              return 0;
            }),
            0);
}

TEST(MonitorSpawnTest, ResetsHandledSignalsAndKeepsIgnoredOnes) {
  EXPECT_EQ(InChild([] {
              ::signal(SIGUSR1, IgnoreSignal);
              ::signal(SIGUSR2, SIG_IGN);
              struct sigaction with_info {};
              with_info.sa_flags = SA_SIGINFO;
              with_info.sa_sigaction = [](int, siginfo_t*, void*) {};
              ::sigaction(SIGTERM, &with_info, nullptr);
              ResetSignalHandlers();
              struct sigaction now {};
              ::sigaction(SIGUSR1, nullptr, &now);
              if (now.sa_handler != SIG_DFL) return 1;
              ::sigaction(SIGUSR2, nullptr, &now);
              if (now.sa_handler != SIG_IGN) return 2;
              ::sigaction(SIGTERM, nullptr, &now);
              if ((now.sa_flags & SA_SIGINFO) != 0 || now.sa_handler != SIG_DFL) return 3;
              return 0;
            }),
            0);
}

TEST(MonitorSpawnTest, SetsTheCommandLinePsShows) {
  if (!HasEffectiveCapability(CAP_SYS_RESOURCE)) GTEST_SKIP() << "PR_SET_MM needs CAP_SYS_RESOURCE";
  EXPECT_EQ(InChild([] {
              const std::string argv = std::string("sandbox-rt") + '\0' + "__monitor" + '\0' + "/run/x/a b" + '\0';
              if (!SetCommandLine(argv)) return 1;
              const Result<std::string> shown = ReadFile("/proc/self/cmdline");
              if (!shown.ok()) return 2;
              return *shown == argv ? 0 : 3;
            }),
            0);
}

}  // namespace
}  // namespace sandbox::shim
