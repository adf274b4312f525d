// A typed ttrpc handler: parses the protobuf request, runs the body (with
// the call's context when it takes one: a deadline to honour), and
// serialises its reply; a request that does not parse is an InvalidArgument
// naming its type. Used by every ttrpc service we serve (agent, containerd shim).
#pragma once

#include <string>
#include <type_traits>

#include "common/base/status.h"
#include "common/ttrpc/server.h"

namespace sandbox::ttrpc {

template <class Request, class Reply, class Body>
Handler Unary(Body body) {
  return [body](const std::string& payload, const CallContext& context) -> Result<std::string> {
    Request request;
    if (!request.ParseFromString(payload)) return InvalidArgument("malformed " + Request().GetTypeName());
    Result<Reply> reply = [&] {
      if constexpr (std::is_invocable_v<Body, const Request&, const CallContext&>) {
        return body(request, context);
      } else {
        return body(request);
      }
    }();
    if (!reply.ok()) return reply.status();
    return reply->SerializeAsString();
  };
}

}  // namespace sandbox::ttrpc
