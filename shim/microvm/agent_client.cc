#include "shim/microvm/agent_client.h"

#include <sys/random.h>

#include "agent.pb.h"
#include "common/vsock/hybrid_vsock.h"
#include "proto/agent_constants.h"
#include "proto/network_config_convert.h"

namespace sandbox::shim {
namespace {

namespace v1 = sandbox::agent::v1;

void AddExtraFds(const std::vector<ExtraFdStream>& extra_fds, v1::ProcessIo& io) {
  for (const ExtraFdStream& stream : extra_fds) {
    v1::ExtraFd* extra = io.add_extra_fds();
    extra->set_port(stream.port);
    extra->set_readable(stream.access.readable);
    extra->set_writable(stream.access.writable);
  }
}

v1::ContainerRequest ContainerRequestFor(const std::string& id) {
  v1::ContainerRequest request;
  request.set_container_id(id);
  return request;
}

}  // namespace

Result<std::unique_ptr<AgentClient>> AgentClient::Connect(const std::string& vsock_socket,
                                                          std::chrono::milliseconds timeout,
                                                          const std::function<bool()>& vmm_gone) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd connection,
                           ConnectHybridVsock(vsock_socket, agent::kAgentVsockPort, timeout, vmm_gone));
  return std::unique_ptr<AgentClient>(new AgentClient(std::move(connection)));
}

Result<std::string> AgentClient::Call(const char* method, const std::string& payload,
                                      std::chrono::nanoseconds timeout) {
  Result<std::string> reply = client_.Call(agent::kAgentService, method, payload, timeout);
  if (!reply.ok()) return reply.status().Wrap(std::string("agent ") + method);
  return reply;
}

Status AgentClient::Check() {
  SANDBOX_ASSIGN_OR_RETURN(std::string reply, Call("Check", ""));
  v1::CheckResponse health;
  if (!health.ParseFromString(reply) || health.status() != v1::CheckResponse::SERVING) {
    return Unavailable("agent Check: not serving");
  }
  return Status::Ok();
}

Result<int64_t> AgentClient::CreateContainer(const AgentContainerSpec& spec) {
  v1::CreateContainerRequest request;
  request.set_container_id(spec.id);
  request.set_config_json(spec.config_json);
  request.set_rootfs_source(spec.rootfs_device);
  request.set_rootfs_fstype(spec.rootfs_fstype);
  request.set_no_pivot(spec.no_pivot);
  request.mutable_io()->set_stdin_port(spec.stdin_port);
  request.mutable_io()->set_stdout_port(spec.stdout_port);
  request.mutable_io()->set_stderr_port(spec.stderr_port);
  request.mutable_io()->set_terminal(spec.terminal);
  AddExtraFds(spec.extra_fds, *request.mutable_io());
  request.set_state_json(spec.state_json);
  if (!spec.shared_fs_tag.empty()) {
    request.mutable_shared_fs()->set_tag(spec.shared_fs_tag);
    request.mutable_shared_fs()->set_mount_point(spec.shared_fs_mount_point);
  }
  SANDBOX_ASSIGN_OR_RETURN(std::string reply, Call("CreateContainer", request.SerializeAsString(), std::chrono::minutes(2)));
  v1::CreateContainerResponse response;
  if (!response.ParseFromString(reply)) return Internal("agent CreateContainer: malformed reply");
  return response.pid();
}

Status AgentClient::StartContainer(const std::string& id) {
  return Call("StartContainer", ContainerRequestFor(id).SerializeAsString()).status();
}

Status AgentClient::PauseContainer(const std::string& id) {
  return Call("PauseContainer", ContainerRequestFor(id).SerializeAsString()).status();
}

Status AgentClient::ResumeContainer(const std::string& id) {
  return Call("ResumeContainer", ContainerRequestFor(id).SerializeAsString()).status();
}

Status AgentClient::RemoveContainer(const std::string& id) {
  return Call("RemoveContainer", ContainerRequestFor(id).SerializeAsString()).status();
}

Status AgentClient::CloseStdin(const std::string& id, const std::string& exec_id) {
  v1::ProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  return Call("CloseStdin", request.SerializeAsString()).status();
}

Status AgentClient::Signal(const std::string& id, int signal, bool all, const std::string& exec_id) {
  v1::SignalProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_signal(static_cast<uint32_t>(signal));
  request.set_all(all);
  return Call("SignalProcess", request.SerializeAsString()).status();
}

Result<int> AgentClient::Wait(const std::string& id, const std::string& exec_id) {
  v1::ProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  SANDBOX_ASSIGN_OR_RETURN(std::string reply, Call("WaitProcess", request.SerializeAsString(), std::chrono::nanoseconds(0)));
  v1::WaitProcessResponse response;
  if (!response.ParseFromString(reply)) return Internal("agent WaitProcess: malformed reply");
  return response.exit_status();
}

Status AgentClient::ExecProcess(const std::string& id, const std::string& exec_id, const std::string& process_json,
                                const std::array<uint32_t, 3>& stdio_ports, bool terminal,
                                const std::vector<ExtraFdStream>& extra_fds) {
  v1::ExecProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_process_json(process_json);
  request.mutable_io()->set_stdin_port(stdio_ports[0]);
  request.mutable_io()->set_stdout_port(stdio_ports[1]);
  request.mutable_io()->set_stderr_port(stdio_ports[2]);
  request.mutable_io()->set_terminal(terminal);
  AddExtraFds(extra_fds, *request.mutable_io());
  return Call("ExecProcess", request.SerializeAsString(), std::chrono::minutes(1)).status();
}

Status AgentClient::ResizeTty(const std::string& id, const std::string& exec_id, uint16_t rows, uint16_t columns) {
  v1::ResizeTtyRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_rows(rows);
  request.set_columns(columns);
  return Call("ResizeTty", request.SerializeAsString()).status();
}

Status AgentClient::UpdateContainer(const std::string& id, const std::string& resources_json) {
  v1::UpdateContainerRequest request;
  request.set_container_id(id);
  request.set_resources_json(resources_json);
  return Call("UpdateContainer", request.SerializeAsString()).status();
}

Result<std::vector<ProcessInfo>> AgentClient::ListProcesses(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(std::string reply, Call("ListProcesses", ContainerRequestFor(id).SerializeAsString()));
  v1::ListProcessesResponse response;
  if (!response.ParseFromString(reply)) return Internal("agent ListProcesses: malformed reply");
  std::vector<ProcessInfo> processes;
  for (const v1::ProcessInfo& process : response.processes()) {
    processes.push_back({.pid = process.pid(), .uid = process.uid(), .command = process.command()});
  }
  return processes;
}

Result<ContainerStats> AgentClient::Stats(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(std::string reply, Call("StatsContainer", ContainerRequestFor(id).SerializeAsString()));
  v1::StatsContainerResponse response;
  if (!response.ParseFromString(reply)) return Internal("agent StatsContainer: malformed reply");
  return ContainerStats{.cpu_usage_ns = response.cpu_usage_ns(),
                        .memory_usage_bytes = response.memory_usage_bytes(),
                        .memory_limit_bytes = response.memory_limit_bytes(),
                        .pids_current = response.pids_current()};
}

Status AgentClient::DestroySandbox(std::chrono::milliseconds timeout) {
  return Call("DestroySandbox", v1::Empty().SerializeAsString(), timeout).status();
}

Status AgentClient::AfterRestore() {
  v1::AfterRestoreRequest request;
  std::string entropy(64, '\0');
  if (::getrandom(entropy.data(), entropy.size(), 0) != static_cast<ssize_t>(entropy.size())) {
    return ErrnoStatus("getrandom", "entropy for the restored guest");
  }
  request.set_entropy(std::move(entropy));
  request.set_realtime_ns(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  return Call("AfterRestore", request.SerializeAsString()).status();
}

Result<std::vector<GuestMemoryRange>> AgentClient::GetSharedRanges(uint32_t max_ranges) {
  v1::SharedRangesRequest request;
  request.set_max_ranges(max_ranges);
  SANDBOX_ASSIGN_OR_RETURN(std::string reply, Call("GetSharedRanges", request.SerializeAsString()));
  v1::SharedRangesResponse response;
  if (!response.ParseFromString(reply)) return Internal("agent GetSharedRanges: malformed reply");
  std::vector<GuestMemoryRange> ranges;
  for (const v1::MemoryRange& range : response.ranges()) ranges.push_back({range.address(), range.size()});
  return ranges;
}

Status AgentClient::UpdateNetwork(const net::NetworkConfig& network) {
  v1::UpdateNetworkRequest request;
  *request.mutable_network() = agent::ToProto(network);
  return Call("UpdateNetwork", request.SerializeAsString()).status();
}

Result<std::string> AgentClient::NextOomEvent(std::chrono::seconds timeout) {
  SANDBOX_ASSIGN_OR_RETURN(std::string reply, Call("GetOomEvent", v1::Empty().SerializeAsString(), timeout));
  v1::OomEvent event;
  if (!event.ParseFromString(reply)) return Internal("agent GetOomEvent: malformed reply");
  return event.container_id();
}

}  // namespace sandbox::shim
