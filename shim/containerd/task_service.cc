#include "shim/containerd/task_service.h"

#include <chrono>
#include <string_view>
#include <unistd.h>

#include <cstdio>

#include <google/protobuf/empty.pb.h>

#include "common/ttrpc/unary.h"
#include "containerd/cgroup2_metrics.pb.h"
#include "containerd/events.pb.h"
#include "containerd/task.pb.h"

namespace sandbox::shim::containerd {
namespace {

namespace api = ::containerd::task::v2;
namespace events = ::containerd::events;
namespace types = ::containerd::v1::types;
using Empty = google::protobuf::Empty;
using ttrpc::Unary;

// The Any types containerd's typeurl gives the runtime-spec structs it
// marshals as JSON (an exec's process, an update's resources).
constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";
constexpr char kResourcesTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
constexpr char kMetricsTypeUrl[] = "io.containerd.cgroups.v2.Metrics";

void SetTime(google::protobuf::Timestamp& timestamp, std::chrono::system_clock::time_point time) {
  const auto since = time.time_since_epoch();
  timestamp.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(since).count());
  timestamp.set_nanos(static_cast<int32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since).count() %
                                           1'000'000'000));
}

types::Status StatusFor(TaskStatus status) {
  switch (status) {
    case TaskStatus::kCreated: return types::CREATED;
    case TaskStatus::kRunning: return types::RUNNING;
    case TaskStatus::kStopped: return types::STOPPED;
    case TaskStatus::kPaused: return types::PAUSED;
  }
  return types::UNKNOWN;
}

template <class Message>
Event MakeEvent(const char* topic, const char* type, const Message& message) {
  return Event{.topic = topic, .type_name = std::string("containerd.events.") + type,
               .payload = message.SerializeAsString()};
}

// The JSON containerd put in an Any for a runtime-spec struct.
Result<std::string> SpecJson(const google::protobuf::Any& any, const char* type_url, const char* field) {
  if (any.type_url() != type_url) {
    return InvalidArgument(std::string(field) + ": type " + any.type_url() + ", want " + type_url);
  }
  return any.value();
}

// A call that takes longer than this is logged: containerd gives up on some
// after 10 s (its event handlers' Delete), and then the shim's log is all
// that says where the time went.
constexpr auto kSlowCall = std::chrono::seconds(3);

// Registers a Task method whose failures (and slow calls; Wait blocks by
// design) also go to the shim's log (containerd only shows them to the
// client that called).
void Add(ttrpc::Server& server, const char* method, ttrpc::Handler handler) {
  server.Register(kTaskService, method,
                  [method, handler = std::move(handler)](const std::string& payload,
                                                         const ttrpc::CallContext& context) -> Result<std::string> {
                    const auto started = std::chrono::steady_clock::now();
                    Result<std::string> reply = handler(payload, context);
                    const auto took = std::chrono::steady_clock::now() - started;
                    if (!reply.ok()) {
                      std::fprintf(stderr, "containerd-shim-sandbox-rt-v2: %s: %s\n", method,
                                   reply.status().message().c_str());
                    }
                    if (took > kSlowCall && std::string_view(method) != "Wait") {
                      std::fprintf(stderr, "containerd-shim-sandbox-rt-v2: %s took %lld ms\n", method,
                                   static_cast<long long>(
                                       std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
                    }
                    return reply;
                  });
}

}  // namespace

TaskService::TaskService(PodConfig pod, EventPublisher& events, std::function<void()> on_shutdown)
    : events_(events),
      on_shutdown_(std::move(on_shutdown)),
      pod_(std::move(pod), {.started = [this](const std::string& id, const std::string& exec_id,
                                              uint32_t pid) { PublishStarted(id, exec_id, pid); },
                             .exited = [this](const std::string& id, const std::string& exec_id,
                                             const ProcessExit& exit) { PublishExited(id, exec_id, exit); },
                             .oom = [this](const std::string& id) { PublishOom(id); }}) {}

void TaskService::PublishStarted(const std::string& id, const std::string& exec_id, uint32_t pid) {
  if (exec_id.empty()) {
    events::TaskStart event;
    event.set_container_id(id);
    event.set_pid(pid);
    events_.Publish(MakeEvent("/tasks/start", "TaskStart", event));
    return;
  }
  events::TaskExecStarted event;
  event.set_container_id(id);
  event.set_exec_id(exec_id);
  event.set_pid(pid);
  events_.Publish(MakeEvent("/tasks/exec-started", "TaskExecStarted", event));
}

void TaskService::PublishExited(const std::string& id, const std::string& exec_id, const ProcessExit& exit) {
  events::TaskExit event;
  event.set_container_id(id);
  event.set_id(exec_id.empty() ? id : exec_id);
  event.set_pid(exit.pid);
  event.set_exit_status(exit.exit_status);
  SetTime(*event.mutable_exited_at(), exit.exited_at);
  events_.Publish(MakeEvent("/tasks/exit", "TaskExit", event));
}

void TaskService::PublishOom(const std::string& id) {
  events::TaskOOM event;
  event.set_container_id(id);
  events_.Publish(MakeEvent("/tasks/oom", "TaskOOM", event));
}

void TaskService::Register(ttrpc::Server& server) {
  RegisterLifecycle(server);
  RegisterProcessCalls(server);
  RegisterSandboxCalls(server);
}

void TaskService::RegisterLifecycle(ttrpc::Server& server) {
  Add(server, "Create",
                  Unary<api::CreateTaskRequest, api::CreateTaskResponse>(
                      [this](const api::CreateTaskRequest& request) -> Result<api::CreateTaskResponse> {
                        if (!request.checkpoint().empty()) {
                          return Unimplemented("checkpoint: restoring a task from a checkpoint is not supported");
                        }
                        CreateTask task{.id = request.id(),
                                        .bundle = request.bundle(),
                                        .stdio = {.stdin_path = request.stdin(),
                                                  .stdout_path = request.stdout(),
                                                  .stderr_path = request.stderr(),
                                                  .terminal = request.terminal()}};
                        for (const auto& mount : request.rootfs()) {
                          task.rootfs.push_back({.type = mount.type(), .source = mount.source(),
                                                 .options = {mount.options().begin(), mount.options().end()}});
                        }
                        SANDBOX_ASSIGN_OR_RETURN(uint32_t pid, pod_.Create(task));
                        events::TaskCreate event;
                        event.set_container_id(request.id());
                        event.set_bundle(request.bundle());
                        *event.mutable_rootfs() = request.rootfs();
                        event.mutable_io()->set_stdin(request.stdin());
                        event.mutable_io()->set_stdout(request.stdout());
                        event.mutable_io()->set_stderr(request.stderr());
                        event.mutable_io()->set_terminal(request.terminal());
                        event.set_pid(pid);
                        events_.Publish(MakeEvent("/tasks/create", "TaskCreate", event));
                        api::CreateTaskResponse response;
                        response.set_pid(pid);
                        return response;
                      }));
  Add(server, "Start",
                  Unary<api::StartRequest, api::StartResponse>(
                      [this](const api::StartRequest& request) -> Result<api::StartResponse> {
                        // The start event goes out from the pod, before any exit.
                        SANDBOX_ASSIGN_OR_RETURN(uint32_t pid, pod_.Start(request.id(), request.exec_id()));
                        api::StartResponse response;
                        response.set_pid(pid);
                        return response;
                      }));
  Add(server, "Delete",
                  Unary<api::DeleteRequest, api::DeleteResponse>(
                      [this](const api::DeleteRequest& request) -> Result<api::DeleteResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(ProcessExit exit, pod_.Delete(request.id(), request.exec_id()));
                        api::DeleteResponse response;
                        response.set_pid(exit.pid);
                        response.set_exit_status(exit.exit_status);
                        SetTime(*response.mutable_exited_at(), exit.exited_at);
                        if (request.exec_id().empty()) {
                          events::TaskDelete event;
                          event.set_container_id(request.id());
                          event.set_pid(exit.pid);
                          event.set_exit_status(exit.exit_status);
                          SetTime(*event.mutable_exited_at(), exit.exited_at);  // id empty: the init
                          events_.Publish(MakeEvent("/tasks/delete", "TaskDelete", event));
                        }
                        return response;
                      }));
  Add(server, "Checkpoint",
                  Unary<api::CheckpointTaskRequest, Empty>([](const api::CheckpointTaskRequest&) -> Result<Empty> {
                    return Unimplemented("checkpoint: sandbox-rt cannot checkpoint a task (no CRIU in the guest; "
                                         "VM snapshots are not exposed as task checkpoints)");
                  }));
  Add(server, "Connect",
                  Unary<api::ConnectRequest, api::ConnectResponse>(
                      [this](const api::ConnectRequest&) -> Result<api::ConnectResponse> {
                        api::ConnectResponse response;
                        response.set_shim_pid(static_cast<uint32_t>(::getpid()));
                        response.set_task_pid(pod_.vmm_pid());
                        response.set_version("sandbox-rt");
                        return response;
                      }));
  Add(server, "Shutdown",
                  Unary<api::ShutdownRequest, Empty>([this](const api::ShutdownRequest& request) -> Result<Empty> {
                    // The pod's shim stays while a task of the pod is left.
                    if (request.now() || !pod_.HasTasks()) on_shutdown_();
                    return Empty();
                  }));
}

void TaskService::RegisterProcessCalls(ttrpc::Server& server) {
  Add(server, "State",
                  Unary<api::StateRequest, api::StateResponse>(
                      [this](const api::StateRequest& request) -> Result<api::StateResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(TaskState state, pod_.State(request.id(), request.exec_id()));
                        api::StateResponse response;
                        response.set_id(request.exec_id().empty() ? state.id : state.exec_id);
                        response.set_exec_id(state.exec_id);
                        response.set_bundle(state.bundle);
                        response.set_pid(state.pid);
                        response.set_status(StatusFor(state.status));
                        response.set_stdin(state.stdio.stdin_path);
                        response.set_stdout(state.stdio.stdout_path);
                        response.set_stderr(state.stdio.stderr_path);
                        response.set_terminal(state.stdio.terminal);
                        if (state.exit) {
                          response.set_exit_status(state.exit->exit_status);
                          SetTime(*response.mutable_exited_at(), state.exit->exited_at);
                        }
                        return response;
                      }));
  Add(server, "Kill", Unary<api::KillRequest, Empty>([this](const api::KillRequest& request) -> Result<Empty> {
                    SANDBOX_RETURN_IF_ERROR(pod_.Kill(request.id(), request.exec_id(),
                                                      static_cast<int>(request.signal()), request.all()));
                    return Empty();
                  }));
  Add(server, "Wait",
                  Unary<api::WaitRequest, api::WaitResponse>(
                      [this](const api::WaitRequest& request) -> Result<api::WaitResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(ProcessExit exit, pod_.Wait(request.id(), request.exec_id()));
                        api::WaitResponse response;
                        response.set_exit_status(exit.exit_status);
                        SetTime(*response.mutable_exited_at(), exit.exited_at);
                        return response;
                      }));
  Add(server, "Exec",
                  Unary<api::ExecProcessRequest, Empty>([this](const api::ExecProcessRequest& request) -> Result<Empty> {
                    SANDBOX_ASSIGN_OR_RETURN(std::string process, SpecJson(request.spec(), kProcessTypeUrl, "spec"));
                    SANDBOX_RETURN_IF_ERROR(pod_.Exec(request.id(), request.exec_id(), process,
                                                      {.stdin_path = request.stdin(),
                                                       .stdout_path = request.stdout(),
                                                       .stderr_path = request.stderr(),
                                                       .terminal = request.terminal()}));
                    events::TaskExecAdded event;
                    event.set_container_id(request.id());
                    event.set_exec_id(request.exec_id());
                    events_.Publish(MakeEvent("/tasks/exec-added", "TaskExecAdded", event));
                    return Empty();
                  }));
  Add(server, "ResizePty",
                  Unary<api::ResizePtyRequest, Empty>([this](const api::ResizePtyRequest& request) -> Result<Empty> {
                    SANDBOX_RETURN_IF_ERROR(
                        pod_.ResizePty(request.id(), request.exec_id(), request.width(), request.height()));
                    return Empty();
                  }));
  Add(server, "CloseIO",
                  Unary<api::CloseIORequest, Empty>([this](const api::CloseIORequest& request) -> Result<Empty> {
                    if (request.stdin()) SANDBOX_RETURN_IF_ERROR(pod_.CloseIO(request.id(), request.exec_id()));
                    return Empty();
                  }));
  Add(server, "Pids",
                  Unary<api::PidsRequest, api::PidsResponse>(
                      [this](const api::PidsRequest& request) -> Result<api::PidsResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(std::vector<ProcessInfo> processes, pod_.Pids(request.id()));
                        api::PidsResponse response;
                        for (const ProcessInfo& process : processes) {
                          response.add_processes()->set_pid(static_cast<uint32_t>(process.pid));
                        }
                        return response;
                      }));
}

void TaskService::RegisterSandboxCalls(ttrpc::Server& server) {
  Add(server, "Pause", Unary<api::PauseRequest, Empty>([this](const api::PauseRequest& request) -> Result<Empty> {
                    SANDBOX_RETURN_IF_ERROR(pod_.Pause(request.id()));
                    events::TaskPaused event;
                    event.set_container_id(request.id());
                    events_.Publish(MakeEvent("/tasks/paused", "TaskPaused", event));
                    return Empty();
                  }));
  Add(server, "Resume",
                  Unary<api::ResumeRequest, Empty>([this](const api::ResumeRequest& request) -> Result<Empty> {
                    SANDBOX_RETURN_IF_ERROR(pod_.Resume(request.id()));
                    events::TaskResumed event;
                    event.set_container_id(request.id());
                    events_.Publish(MakeEvent("/tasks/resumed", "TaskResumed", event));
                    return Empty();
                  }));
  Add(server, "Update",
                  Unary<api::UpdateTaskRequest, Empty>([this](const api::UpdateTaskRequest& request) -> Result<Empty> {
                    SANDBOX_ASSIGN_OR_RETURN(std::string resources,
                                             SpecJson(request.resources(), kResourcesTypeUrl, "resources"));
                    SANDBOX_RETURN_IF_ERROR(pod_.Update(request.id(), resources));
                    return Empty();
                  }));
  Add(server, "Stats",
                  Unary<api::StatsRequest, api::StatsResponse>(
                      [this](const api::StatsRequest& request) -> Result<api::StatsResponse> {
                        SANDBOX_ASSIGN_OR_RETURN(ContainerStats stats, pod_.Stats(request.id()));
                        ::io::containerd::cgroups::v2::Metrics metrics;
                        metrics.mutable_pids()->set_current(stats.pids_current);
                        metrics.mutable_cpu()->set_usage_usec(stats.cpu_usage_ns / 1000);
                        metrics.mutable_memory()->set_usage(stats.memory_usage_bytes);
                        // CRI takes usage_limit - working set as what is available: no
                        // limit is the largest value, never 0.
                        metrics.mutable_memory()->set_usage_limit(
                            stats.memory_limit_bytes > 0 ? stats.memory_limit_bytes : UINT64_MAX);
                        api::StatsResponse response;
                        response.mutable_stats()->set_type_url(kMetricsTypeUrl);
                        response.mutable_stats()->set_value(metrics.SerializeAsString());
                        return response;
                      }));
}

}  // namespace sandbox::shim::containerd
