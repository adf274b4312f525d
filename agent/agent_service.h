// The Agent service's handlers, registered on a ttrpc server. Calls the
// agent does not implement yet are answered UNIMPLEMENTED by the server.
#pragma once

#include <atomic>
#include <string>

#include "common/ttrpc/server.h"

namespace sandbox::agent {

struct AgentOptions {
  bool pid1 = false;  // guest init duties done; DestroySandbox powers off
};

class AgentService {
 public:
  explicit AgentService(AgentOptions options) : options_(options) {}

  void RegisterOn(ttrpc::Server& server);

  // Set once DestroySandbox was called (host test mode: the agent exits).
  bool destroy_requested() const { return destroy_requested_.load(); }

 private:
  AgentOptions options_;
  std::atomic<bool> destroy_requested_{false};
};

}  // namespace sandbox::agent
