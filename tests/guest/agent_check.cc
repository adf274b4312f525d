// agent_check ADDRESS [--destroy]: calls Check and GetGuestDetails on a
// sandbox-agent at vsock:CID:PORT, hybrid:UDS:PORT or unix:PATH and prints
// what it answered; --destroy then asks it to end the VM (DestroySandbox).
// Exit 0 only when the agent is SERVING, runs as the guest's PID 1 and (with
// --destroy) accepted the request.
#include <cstdio>
#include <string>

#include "agent.pb.h"
#include "agent/listener.h"
#include "common/ttrpc/client.h"
#include "proto/agent_constants.h"

int main(int argc, char** argv) {
  using namespace sandbox;
  const bool destroy = argc == 3 && std::string(argv[2]) == "--destroy";
  if (argc != 2 && !destroy) {
    std::fprintf(stderr, "usage: agent_check vsock:CID:PORT|hybrid:UDS:PORT|unix:PATH [--destroy]\n");
    return 2;
  }
  Result<UniqueFd> connection = agent::Connect(argv[1]);
  if (!connection.ok()) {
    std::fprintf(stderr, "agent_check: %s\n", connection.status().message().c_str());
    return 1;
  }
  ttrpc::Client client(std::move(connection).value());
  Result<std::string> check = client.Call(agent::kAgentService, "Check", "", std::chrono::seconds(30));
  agent::v1::CheckResponse health;
  if (!check.ok() || !health.ParseFromString(*check)) {
    std::fprintf(stderr, "agent_check: Check failed: %s\n", check.status().message().c_str());
    return 1;
  }
  Result<std::string> details_bytes = client.Call(agent::kAgentService, "GetGuestDetails", "");
  agent::v1::GuestDetails details;
  if (!details_bytes.ok() || !details.ParseFromString(*details_bytes)) {
    std::fprintf(stderr, "agent_check: GetGuestDetails failed: %s\n", details_bytes.status().message().c_str());
    return 1;
  }
  std::printf("agent_check: Check %s; kernel %s, agent %s, pid1 %s\n",
              agent::v1::CheckResponse::ServingStatus_Name(health.status()).c_str(), details.kernel_release().c_str(),
              details.agent_version().c_str(), details.pid1() ? "yes" : "no");
  if (health.status() != agent::v1::CheckResponse::SERVING || !details.pid1()) return 1;
  if (destroy) {
    Result<std::string> destroyed = client.Call(agent::kAgentService, "DestroySandbox", "");
    if (!destroyed.ok()) {
      std::fprintf(stderr, "agent_check: DestroySandbox failed: %s\n", destroyed.status().message().c_str());
      return 1;
    }
    std::printf("agent_check: DestroySandbox accepted\n");
  }
  return 0;
}
