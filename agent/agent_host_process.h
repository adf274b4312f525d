// Test-only: the real sandbox-agent binary started in host test mode, for the
// agent tests' fixture and the agent benchmark.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "proto/agent_constants.h"

namespace sandbox::agent {

// Forks `binary` with `args` (argv[0] included), its stderr into `log`, and
// returns its pid once it printed the ready marker (it listens then). `log`
// must stay open: a closed pipe would SIGPIPE the agent.
inline Result<pid_t> StartHostModeAgent(const std::string& binary, std::vector<std::string> args, UniqueFd& log) {
  int log_pipe[2];
  if (::pipe2(log_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "agent log");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", binary);
  if (pid == 0) {
    ::dup2(log_pipe[1], 2);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(log_pipe[1]);
  log.Reset(log_pipe[0]);
  std::string output;
  char buffer[256];
  while (output.find(kReadyMarker) == std::string::npos) {
    const ssize_t got = ::read(log.get(), buffer, sizeof(buffer));
    if (got <= 0) return Unavailable("the agent did not start: " + output);
    output.append(buffer, static_cast<size_t>(got));
  }
  return pid;
}

}  // namespace sandbox::agent
