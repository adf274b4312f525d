// A ttrpc server: handlers registered by service and method, one connection
// served per ServeConnection call. Each request runs on its own thread, so a
// slow call never blocks the others on the connection; responses go out as
// they finish. Malformed requests, unknown methods and oversized frames get
// an error response and the connection lives on; a peer that vanishes ends
// ServeConnection after the running handlers return.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::ttrpc {

struct CallContext {
  std::string service;
  std::string method;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // from timeout_nano
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Takes the serialised request; returns the serialised response or a Status.
using Handler = std::function<Result<std::string>(const std::string& payload, const CallContext& context)>;

class Server {
 public:
  void Register(const std::string& service, const std::string& method, Handler handler);

  // Serves until the peer closes the connection (returns OK) or it breaks.
  Status ServeConnection(UniqueFd connection) const;

 private:
  std::map<std::string, Handler> handlers_;  // "service/method"; fixed before serving
};

}  // namespace sandbox::ttrpc
