// The guest's OOM kills as they happen: a thread asks the agent
// (GetOomEvent, on a connection of its own) and reports each container id,
// until stopped or the VM is gone. containerd publishes them as TaskOOM,
// which CRI turns into a container's "OOMKilled" reason.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "shim/microvm/agent_client.h"

namespace sandbox::shim::containerd {

class OomEventWatch {
 public:
  OomEventWatch(std::unique_ptr<AgentClient> agent, std::function<void(const std::string& container_id)> report);
  ~OomEventWatch();  // stops: ends the connection and joins the thread
  OomEventWatch(const OomEventWatch&) = delete;
  OomEventWatch& operator=(const OomEventWatch&) = delete;

 private:
  void Run();

  std::unique_ptr<AgentClient> agent_;
  std::function<void(const std::string&)> report_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sandbox::shim::containerd
