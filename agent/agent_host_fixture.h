// Test-only: the real sandbox-agent binary in host test mode (listening on a
// Unix socket in a temp dir), started before and killed after each test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "agent/listener.h"
#include "common/base/temp_dir.h"
#include "proto/agent_constants.h"

namespace sandbox::agent {

class AgentHostModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int log_pipe[2];
    ASSERT_EQ(::pipe2(log_pipe, O_CLOEXEC), 0);
    agent_ = ::fork();
    ASSERT_GE(agent_, 0);
    if (agent_ == 0) {
      ::dup2(log_pipe[1], 2);
      std::string listen = "unix:" + socket_;
      std::vector<std::string> args = {"sandbox-agent", "--listen", listen, "--host-socket-prefix", host_prefix_};
      args.insert(args.end(), extra_args_.begin(), extra_args_.end());
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(SANDBOX_AGENT_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(log_pipe[1]);
    // The agent prints its ready marker once it listens: wait for that line.
    log_.Reset(log_pipe[0]);  // kept open: a closed pipe would SIGPIPE the agent
    std::string output;
    char buffer[256];
    while (output.find(kReadyMarker) == std::string::npos) {
      ssize_t n = ::read(log_.get(), buffer, sizeof(buffer));
      if (n <= 0) break;
      output.append(buffer, static_cast<size_t>(n));
    }
    ASSERT_NE(output.find(kReadyMarker), std::string::npos) << "agent output: " << output;
    Result<UniqueFd> fd = Connect("unix:" + socket_);
    ASSERT_TRUE(fd.ok()) << fd.status().ToString();
    connection_ = std::move(fd).value();
    ASSERT_TRUE(connection_.valid()) << "agent did not start listening";
  }
  void TearDown() override {
    ::kill(agent_, SIGKILL);
    ::waitpid(agent_, nullptr, 0);
  }
  bool AgentAlive() { return ::waitpid(agent_, nullptr, WNOHANG) == 0; }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-agent-test-");
  const std::string socket_ = temp_.path() + "/agent.sock";
  // Host stdio port P is the Unix socket <host_prefix_>_P (sandbox-vmm's hybrid vsock naming).
  const std::string host_prefix_ = temp_.path() + "/host";
  // More sandbox-agent flags, set by a derived fixture before SetUp().
  std::vector<std::string> extra_args_;
  pid_t agent_ = -1;
  UniqueFd log_;
  UniqueFd connection_;
};

}  // namespace sandbox::agent
