// A typed ttrpc handler: parses the protobuf request, runs the body, and
// serialises its reply; a request that does not parse is an InvalidArgument
// naming its type. Used by every ttrpc service we serve (agent, containerd shim).
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/ttrpc/server.h"

namespace sandbox::ttrpc {

template <class Request, class Reply, class Body>
Handler Unary(Body body) {
  return [body](const std::string& payload, const CallContext&) -> Result<std::string> {
    Request request;
    if (!request.ParseFromString(payload)) return InvalidArgument("malformed " + Request().GetTypeName());
    Result<Reply> reply = body(request);
    if (!reply.ok()) return reply.status();
    return reply->SerializeAsString();
  };
}

}  // namespace sandbox::ttrpc
