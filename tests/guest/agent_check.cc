// agent_check ADDRESS [--after-restore] [--destroy]: calls Check and
// GetGuestDetails on a sandbox-agent at vsock:CID:PORT, hybrid:UDS:PORT or
// unix:PATH and prints what it answered; --after-restore then gives a
// restored guest entropy and the time (AfterRestore) and prints the random
// sample it answers in hex; --destroy asks it to end the VM (DestroySandbox).
// Exit 0 only when the agent is SERVING, runs as the guest's PID 1 and
// accepted what it was asked.
#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "agent.pb.h"
#include "agent/listener.h"
#include "common/ttrpc/client.h"
#include "proto/agent_constants.h"

int main(int argc, char** argv) {
  using namespace sandbox;
  bool destroy = false, after_restore = false, usage = argc < 2;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    destroy |= flag == "--destroy";
    after_restore |= flag == "--after-restore";
    usage |= flag != "--destroy" && flag != "--after-restore";
  }
  if (usage) {
    std::fprintf(stderr,
                 "usage: agent_check vsock:CID:PORT|hybrid:UDS:PORT|unix:PATH [--after-restore] [--destroy]\n");
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
  if (after_restore) {
    agent::v1::AfterRestoreRequest request;
    std::string entropy(64, '\0');
    if (::getrandom(entropy.data(), entropy.size(), 0) != static_cast<ssize_t>(entropy.size())) return 1;
    request.set_entropy(entropy);
    request.set_realtime_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
    Result<std::string> answer = client.Call(agent::kAgentService, "AfterRestore", request.SerializeAsString());
    agent::v1::AfterRestoreResponse restored;
    if (!answer.ok() || !restored.ParseFromString(*answer)) {
      std::fprintf(stderr, "agent_check: AfterRestore failed: %s\n", answer.status().message().c_str());
      return 1;
    }
    std::printf("agent_check: AfterRestore sample ");
    for (unsigned char byte : restored.random_sample()) std::printf("%02x", byte);
    std::printf("\n");
  }
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
