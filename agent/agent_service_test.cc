// The agent in host test mode: the real binary listening on a Unix socket,
// driven by the ttrpc client, as the shim will drive it over vsock.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "agent.pb.h"
#include "agent/listener.h"
#include "common/base/temp_dir.h"
#include "common/ttrpc/client.h"
#include "common/ttrpc/frame.h"
#include "proto/agent_constants.h"

namespace sandbox::agent {
namespace {

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
      ::execl(SANDBOX_AGENT_BINARY, "sandbox-agent", "--listen", listen.c_str(), nullptr);
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
  pid_t agent_ = -1;
  UniqueFd log_;
  UniqueFd connection_;
};

TEST_F(AgentHostModeTest, CheckAndGuestDetails) {
  ttrpc::Client client(std::move(connection_));
  Result<std::string> check = client.Call(kAgentService, "Check", v1::Empty().SerializeAsString());
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  v1::CheckResponse response;
  ASSERT_TRUE(response.ParseFromString(*check));
  EXPECT_EQ(response.status(), v1::CheckResponse::SERVING);

  Result<std::string> details_bytes = client.Call(kAgentService, "GetGuestDetails", "");
  ASSERT_TRUE(details_bytes.ok());
  v1::GuestDetails details;
  ASSERT_TRUE(details.ParseFromString(*details_bytes));
  EXPECT_FALSE(details.kernel_release().empty());
  EXPECT_FALSE(details.pid1());
  EXPECT_EQ(details.agent_version(), SANDBOX_AGENT_VERSION);
}

TEST_F(AgentHostModeTest, BadRequestsAreAnsweredAndTheAgentLivesOn) {
  ttrpc::Client client(std::move(connection_));
  Result<std::string> unknown = client.Call(kAgentService, "Teleport", "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnimplemented);
  Result<std::string> not_yet = client.Call(kAgentService, "CreateContainer", "");
  EXPECT_EQ(not_yet.status().code(), StatusCode::kUnimplemented);
  Result<std::string> malformed = client.Call(kAgentService, "Check", std::string("\xff\xff\xff", 3));
  EXPECT_EQ(malformed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.status().message().find("malformed sandbox.agent.v1.Empty"), std::string::npos);
  EXPECT_TRUE(client.Call(kAgentService, "Check", "").ok());
  EXPECT_TRUE(AgentAlive());
}

TEST_F(AgentHostModeTest, GarbageOnTheWireDoesNotKillTheAgent) {
  ASSERT_EQ(::write(connection_.get(), "this is not ttrpc at all", 24), 24);
  connection_.Reset();
  Result<UniqueFd> again = Connect("unix:" + socket_);
  ASSERT_TRUE(again.ok());
  ttrpc::Client client(std::move(again).value());
  EXPECT_TRUE(client.Call(kAgentService, "Check", "").ok());
  EXPECT_TRUE(AgentAlive());
}

TEST_F(AgentHostModeTest, DestroySandboxEndsTheHostModeAgent) {
  {
    ttrpc::Client client(std::move(connection_));
    EXPECT_TRUE(client.Call(kAgentService, "DestroySandbox", "").ok());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(agent_, &status, 0), agent_);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(AgentListener, RejectsBadAddresses) {
  EXPECT_EQ(Listen("tcp:80").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Listen("vsock:abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Connect("vsock:3").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Connect("unix:/nonexistent/agent.sock").ok());
}

}  // namespace
}  // namespace sandbox::agent
