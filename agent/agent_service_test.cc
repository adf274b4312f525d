// The agent in host test mode: the real binary listening on a Unix socket,
// driven by the ttrpc client, as the shim will drive it over vsock.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "agent.pb.h"
#include "agent/agent_host_fixture.h"
#include "agent/listener.h"
#include "common/base/temp_dir.h"
#include "common/ttrpc/client.h"
#include "common/ttrpc/frame.h"
#include "proto/agent_constants.h"

namespace sandbox::agent {
namespace {



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

TEST_F(AgentHostModeTest, AfterRestoreChecksItsRequestAndNeverTouchesTheHost) {
  ttrpc::Client client(std::move(connection_));
  v1::AfterRestoreRequest request;
  request.set_entropy(std::string(8, 'x'));
  Result<std::string> short_entropy = client.Call(kAgentService, "AfterRestore", request.SerializeAsString());
  EXPECT_EQ(short_entropy.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_entropy.status().message().find("entropy: want 32 to 512 bytes, got 8"), std::string::npos);
  request.set_entropy(std::string(64, 'x'));
  request.set_realtime_ns(-1);
  Result<std::string> past = client.Call(kAgentService, "AfterRestore", request.SerializeAsString());
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument);
  // A well-formed one: the host's clock and RNG are not the agent's here.
  request.set_realtime_ns(1);
  Result<std::string> host = client.Call(kAgentService, "AfterRestore", request.SerializeAsString());
  EXPECT_EQ(host.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(host.status().message().find("needs the guest"), std::string::npos);
  EXPECT_TRUE(AgentAlive());
}

TEST_F(AgentHostModeTest, SharedRangesAreTheGuestsOnly) {
  ttrpc::Client client(std::move(connection_));
  v1::SharedRangesRequest request;
  Result<std::string> none = client.Call(kAgentService, "GetSharedRanges", request.SerializeAsString());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("max_ranges: must be 1 or more"), std::string::npos);
  request.set_max_ranges(4);
  Result<std::string> host = client.Call(kAgentService, "GetSharedRanges", request.SerializeAsString());
  EXPECT_EQ(host.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(host.status().message().find("needs the guest"), std::string::npos);
  EXPECT_TRUE(AgentAlive());
}

TEST_F(AgentHostModeTest, BadRequestsAreAnsweredAndTheAgentLivesOn) {
  ttrpc::Client client(std::move(connection_));
  Result<std::string> unknown = client.Call(kAgentService, "Teleport", "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnimplemented);
  Result<std::string> no_id = client.Call(kAgentService, "CreateContainer", "");
  EXPECT_EQ(no_id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_id.status().message().find("container_id"), std::string::npos);
  v1::ContainerRequest ghost;
  ghost.set_container_id("ghost");
  Result<std::string> unknown_id = client.Call(kAgentService, "StartContainer", ghost.SerializeAsString());
  EXPECT_EQ(unknown_id.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown_id.status().message().find("\"ghost\" does not exist"), std::string::npos);
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

// With nothing killed, GetOomEvent answers empty before the caller's
// deadline (the shim then asks again), and a shut-down client's call ends.
TEST_F(AgentHostModeTest, GetOomEventAnswersBeforeTheDeadline) {
  ttrpc::Client client(std::move(connection_));
  const auto started = std::chrono::steady_clock::now();
  Result<std::string> reply = client.Call(kAgentService, "GetOomEvent", "", std::chrono::seconds(7));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  v1::OomEvent event;
  ASSERT_TRUE(event.ParseFromString(*reply));
  EXPECT_EQ(event.container_id(), "");
  EXPECT_GE(took, std::chrono::milliseconds(1500)) << "it waited for an event";
  EXPECT_LT(took, std::chrono::seconds(6)) << "it answers well before the deadline";

  std::thread stopper([&client] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    client.Shutdown();
  });
  Result<std::string> stopped = client.Call(kAgentService, "GetOomEvent", "", std::chrono::seconds(30));
  stopper.join();
  EXPECT_EQ(stopped.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
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

// A host-mode agent checks the config as the guest would, but never
// applies it: its network namespace is the host's.
TEST_F(AgentHostModeTest, UpdateNetworkIsCheckedButRefusedOutsideTheGuest) {
  ttrpc::Client client(std::move(connection_));
  v1::UpdateNetworkRequest request;
  v1::NetworkInterface* eth0 = request.mutable_network()->add_interfaces();
  eth0->set_name("eth0");
  eth0->set_mac("zz");
  eth0->set_mtu(1500);
  Result<std::string> bad = client.Call(kAgentService, "UpdateNetwork", request.SerializeAsString());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("network.interfaces[0].mac: \"zz\" is not a MAC address"),
            std::string::npos)
      << bad.status().message();

  eth0->set_mac("02:42:ac:11:00:02");
  eth0->add_addresses("10.1.2.3/24");
  Result<std::string> refused = client.Call(kAgentService, "UpdateNetwork", request.SerializeAsString());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("UpdateNetwork needs the guest (the agent is not PID 1)"),
            std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(AgentAlive());
}

TEST(AgentListener, RejectsBadAddresses) {
  EXPECT_EQ(Listen("tcp:80").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Listen("vsock:abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Connect("vsock:3").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Connect("unix:/nonexistent/agent.sock").ok());
}

}  // namespace
}  // namespace sandbox::agent
