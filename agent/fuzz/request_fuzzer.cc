// libFuzzer target: a hostile host (or anything that reaches the agent's
// vsock port) writing the byte stream the agent's ttrpc server reads. The
// input is that stream as is: ttrpc frames (or garbage), their Request
// envelopes and every method's protobuf payload, served by the real
// AgentService (host test mode, no containers) on one end of a socketpair.
// Nothing may abort, leak, hang or touch memory it should not (ASan).
//
// Two handlers are swapped for what they check first, since the rest acts on
// the machine the fuzzer runs on: CreateContainer runs the agent's checks of
// the request and its config (CheckCreateContainerRequest,
// Container::CheckConfig) but starts nothing, and GetOomEvent (which waits up
// to a minute for an event) answers at once.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "agent.pb.h"
#include "agent/agent_service.h"
#include "agent/container/container.h"
#include "agent/process_table.h"
#include "common/base/temp_dir.h"
#include "common/ttrpc/server.h"
#include "common/ttrpc/unary.h"
#include "proto/agent_constants.h"
#include "tests/lib/fuzz_input.h"

namespace {

using namespace sandbox;
using namespace sandbox::agent;

class Fixture {
 public:
  Fixture() {
    // Host test mode: stdio ports are Unix sockets under the prefix, and
    // none exists, so a request's stdio fails to connect.
    options_.host_socket_prefix = directory_.path() + "/stdio";
    options_.work_dir = directory_.path() + "/containers";
    service_ = std::make_unique<AgentService>(options_, processes_);
    service_->RegisterOn(server_);
    server_.Register(kAgentService, "CreateContainer",
                     ttrpc::Unary<v1::CreateContainerRequest, v1::CreateContainerResponse>(
                         [this](const v1::CreateContainerRequest& request) -> Result<v1::CreateContainerResponse> {
                           SANDBOX_RETURN_IF_ERROR(CheckCreateContainerRequest(request));
                           const ContainerOptions create = ContainerOptionsFor(request, options_, nullptr);
                           SANDBOX_RETURN_IF_ERROR(Container::CheckConfig(create).status());
                           return FailedPrecondition("fuzzing: checked, not created");
                         }));
    server_.Register(kAgentService, "GetOomEvent",
                     ttrpc::Unary<v1::Empty, v1::OomEvent>([](const v1::Empty&) { return v1::OomEvent(); }));
  }

  const ttrpc::Server& server() const { return server_; }

 private:
  TempDir directory_ = TempDir::CreateOrDie("/tmp/agent-request-fuzz.");  // removed at exit
  AgentOptions options_;
  ProcessTable processes_;
  std::unique_ptr<AgentService> service_;
  ttrpc::Server server_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) std::abort();
  UniqueFd host(pair[0]);
  // The host writes the input and hangs up its side; it reads the answers
  // meanwhile, so a full socket buffer never blocks the server's writes.
  std::thread writer([&] {
    (void)sandbox::fuzzing::SendAll(host.get(), std::string(reinterpret_cast<const char*>(data), size));
    ::shutdown(host.get(), SHUT_WR);
  });
  std::thread reader([&] {
    char buffer[4096];
    while (::read(host.get(), buffer, sizeof(buffer)) > 0) {
    }
  });
  // Returns once the stream ends and every call's answer is out; the server
  // side closes when the UniqueFd goes, which ends the reader.
  (void)fixture.server().ServeConnection(UniqueFd(pair[1]));
  writer.join();
  reader.join();
  return 0;
}
