#include "agent/agent_service.h"

#include <sys/utsname.h>

#include "agent.pb.h"
#include "agent/guest_init.h"
#include "proto/agent_constants.h"

namespace sandbox::agent {
namespace {

// Parses the request type, runs `body`, serialises the reply.
template <class Request, class Reply, class Body>
ttrpc::Handler Unary(Body body) {
  return [body](const std::string& payload, const ttrpc::CallContext&) -> Result<std::string> {
    Request request;
    if (!request.ParseFromString(payload)) return InvalidArgument("malformed " + Request().GetTypeName());
    Result<Reply> reply = body(request);
    if (!reply.ok()) return reply.status();
    return reply->SerializeAsString();
  };
}

}  // namespace

void AgentService::RegisterOn(ttrpc::Server& server) {
  using namespace sandbox::agent::v1;
  server.Register(kAgentService, "Check", Unary<Empty, CheckResponse>([](const Empty&) -> Result<CheckResponse> {
    CheckResponse response;
    response.set_status(CheckResponse::SERVING);
    return response;
  }));
  server.Register(kAgentService, "GetGuestDetails",
                  Unary<Empty, GuestDetails>([this](const Empty&) -> Result<GuestDetails> {
                    GuestDetails details;
                    struct utsname name;
                    if (::uname(&name) == 0) details.set_kernel_release(name.release);
                    details.set_agent_version(SANDBOX_AGENT_VERSION);
                    details.set_pid1(options_.pid1);
                    details.add_features("check");
                    details.add_features("guest-details");
                    details.add_features("destroy-sandbox");
                    return details;
                  }));
  server.Register(kAgentService, "DestroySandbox", Unary<Empty, Empty>([this](const Empty&) -> Result<Empty> {
    destroy_requested_ = true;
    return Empty();
  }));
}

}  // namespace sandbox::agent
