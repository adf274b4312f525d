// Test-only: the real sandbox-agent binary in host test mode (listening on a
// Unix socket in a temp dir), started before and killed after each test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "agent/agent_host_process.h"
#include "agent/listener.h"
#include "common/base/file_util.h"
#include "common/base/testing/children.h"
#include "common/base/temp_dir.h"
#include "proto/agent_constants.h"

namespace sandbox::agent {

class AgentHostModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Containers outlive a killed agent; as their subreaper the test can end
    // them, so a failed test leaves no container processes behind.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    std::vector<std::string> args = {"sandbox-agent", "--listen", "unix:" + socket_, "--host-socket-prefix",
                                     host_prefix_};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    // SANDBOX_AGENT_BINARY in the environment: a copy elsewhere (private_tree_test.sh).
    const char* binary = std::getenv("SANDBOX_AGENT_BINARY");
    Result<pid_t> started = StartHostModeAgent(binary != nullptr ? binary : SANDBOX_AGENT_BINARY, args, log_);
    ASSERT_TRUE(started.ok()) << started.status().message();
    agent_ = *started;
    Result<UniqueFd> fd = Connect("unix:" + socket_);
    ASSERT_TRUE(fd.ok()) << fd.status().ToString();
    connection_ = std::move(fd).value();
    ASSERT_TRUE(connection_.valid()) << "agent did not start listening";
  }
  void TearDown() override {
    ::kill(agent_, SIGKILL);
    ::waitpid(agent_, nullptr, 0);
    KillOrphans();
  }
  // Every process re-parented to this one (the agent's containers).
  static void KillOrphans() {
    for (pid_t pid : testing::ChildrenOf(::getpid())) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
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
