#include "shim/containerd/oom_events.h"

#include <cstdio>

namespace sandbox::shim::containerd {
namespace {

// Each call's deadline; the agent answers (empty) 5 s before it.
constexpr std::chrono::seconds kOomCallTimeout{30};

}  // namespace

OomEventWatch::OomEventWatch(std::unique_ptr<AgentClient> agent,
                             std::function<void(const std::string& container_id)> report)
    : agent_(std::move(agent)), report_(std::move(report)) {
  thread_ = std::thread([this] { Run(); });
}

OomEventWatch::~OomEventWatch() {
  stopping_ = true;
  agent_->Disconnect();
  thread_.join();
}

void OomEventWatch::Run() {
  while (!stopping_) {
    Result<std::string> container_id = agent_->NextOomEvent(kOomCallTimeout);
    if (container_id.ok()) {
      if (!container_id->empty()) report_(*container_id);
      continue;
    }
    // A slow (nested, emulated) guest may miss one deadline; the next call waits again.
    if (stopping_ || container_id.status().code() == StatusCode::kDeadlineExceeded) continue;
    // The VM is gone, or its agent cannot watch: said once, where containerd logs the shim.
    std::fprintf(stderr, "containerd-shim-sandbox-rt-v2: no more OOM events from the guest: %s\n",
                 container_id.status().message().c_str());
    return;
  }
}

}  // namespace sandbox::shim::containerd
