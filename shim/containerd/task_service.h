// containerd.task.v2.Task over our ttrpc: decodes containerd's requests,
// calls the PodSandbox, encodes the answers, and publishes the task events
// containerd expects (TaskCreate, TaskStart, TaskExit, TaskDelete,
// TaskExecAdded, TaskExecStarted, TaskPaused, TaskResumed, TaskOOM).
#pragma once

#include <functional>
#include <memory>

#include "common/ttrpc/server.h"
#include "shim/containerd/event_publisher.h"
#include "shim/containerd/pod_sandbox.h"

namespace sandbox::shim::containerd {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";

class TaskService {
 public:
  // `on_shutdown`: Shutdown was asked with no task left; the server ends.
  TaskService(PodConfig pod, EventPublisher& events, std::function<void()> on_shutdown);

  void Register(ttrpc::Server& server);
  // Ends the VM and whatever tasks are left.
  void Close() { pod_.Shutdown(); }

 private:
  void RegisterLifecycle(ttrpc::Server& server);
  void RegisterProcessCalls(ttrpc::Server& server);
  void RegisterSandboxCalls(ttrpc::Server& server);
  void PublishStarted(const std::string& id, const std::string& exec_id, uint32_t pid);
  void PublishExited(const std::string& id, const std::string& exec_id, const ProcessExit& exit);
  void PublishOom(const std::string& id);

  EventPublisher& events_;
  std::function<void()> on_shutdown_;
  PodSandbox pod_;
};

}  // namespace sandbox::shim::containerd
