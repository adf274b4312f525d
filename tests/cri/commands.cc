#include "tests/cri/commands.h"

#include "tests/cri/proto_json.h"

namespace sandbox::cri::commands {
namespace {

Status PrintJson(const google::protobuf::Message& message, std::ostream& out) {
  SANDBOX_ASSIGN_OR_RETURN(std::string json, ToJson(message));
  out << json << std::flush;
  return Status::Ok();
}

// Prints the JSON of a call's response, or returns its error.
template <class Response>
Status PrintResult(const Result<Response>& response, std::ostream& out) {
  if (!response.ok()) return response.status();
  return PrintJson(*response, out);
}

Status PrintId(const std::string& id, std::ostream& out) {
  out << id << '\n' << std::flush;
  return Status::Ok();
}

// Prints `id` once the call that acted on it succeeded.
template <class Response>
Status PrintIdAfter(const Result<Response>& response, const std::string& id, std::ostream& out) {
  if (!response.ok()) return response.status();
  return PrintId(id, out);
}

}  // namespace

Status Version(const CriClient& client, std::ostream& out) {
  v1::VersionRequest request;
  request.set_version(kCriApiVersion);
  return PrintResult(client.Version(request), out);
}

Status Runp(const CriClient& client, const std::string& config_path, const std::string& handler,
            std::ostream& out) {
  v1::RunPodSandboxRequest request;
  SANDBOX_RETURN_IF_ERROR(ReadJsonFile(config_path, *request.mutable_config()));
  request.set_runtime_handler(handler);
  SANDBOX_ASSIGN_OR_RETURN(v1::RunPodSandboxResponse response, client.RunPodSandbox(request));
  return PrintId(response.pod_sandbox_id(), out);
}

Status Stopp(const CriClient& client, const std::string& pod_id, std::ostream& out) {
  v1::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(pod_id);
  return PrintIdAfter(client.StopPodSandbox(request), pod_id, out);
}

Status Rmp(const CriClient& client, const std::string& pod_id, std::ostream& out) {
  v1::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(pod_id);
  return PrintIdAfter(client.RemovePodSandbox(request), pod_id, out);
}

Status Inspectp(const CriClient& client, const std::string& pod_id, bool verbose,
                std::ostream& out) {
  v1::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(pod_id);
  request.set_verbose(verbose);
  return PrintResult(client.PodSandboxStatus(request), out);
}

Status Pods(const CriClient& client, std::ostream& out) {
  return PrintResult(client.ListPodSandbox(v1::ListPodSandboxRequest()), out);
}

Status Create(const CriClient& client, const std::string& pod_id,
              const std::string& container_config_path, const std::string& pod_config_path,
              std::ostream& out) {
  v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod_id);
  SANDBOX_RETURN_IF_ERROR(ReadJsonFile(container_config_path, *request.mutable_config()));
  SANDBOX_RETURN_IF_ERROR(ReadJsonFile(pod_config_path, *request.mutable_sandbox_config()));
  SANDBOX_ASSIGN_OR_RETURN(v1::CreateContainerResponse response, client.CreateContainer(request));
  return PrintId(response.container_id(), out);
}

Status Start(const CriClient& client, const std::string& container_id, std::ostream& out) {
  v1::StartContainerRequest request;
  request.set_container_id(container_id);
  return PrintIdAfter(client.StartContainer(request), container_id, out);
}

Status Stop(const CriClient& client, const std::string& container_id, int64_t timeout_seconds,
            std::ostream& out) {
  v1::StopContainerRequest request;
  request.set_container_id(container_id);
  request.set_timeout(timeout_seconds);
  return PrintIdAfter(client.StopContainer(request), container_id, out);
}

Status Rm(const CriClient& client, const std::string& container_id, std::ostream& out) {
  v1::RemoveContainerRequest request;
  request.set_container_id(container_id);
  return PrintIdAfter(client.RemoveContainer(request), container_id, out);
}

Status Inspect(const CriClient& client, const std::string& container_id, bool verbose,
               std::ostream& out) {
  v1::ContainerStatusRequest request;
  request.set_container_id(container_id);
  request.set_verbose(verbose);
  return PrintResult(client.ContainerStatus(request), out);
}

Status Ps(const CriClient& client, const std::string& pod_id, std::ostream& out) {
  v1::ListContainersRequest request;
  if (!pod_id.empty()) request.mutable_filter()->set_pod_sandbox_id(pod_id);
  return PrintResult(client.ListContainers(request), out);
}

Status Stats(const CriClient& client, const std::string& container_id, std::ostream& out) {
  v1::ContainerStatsRequest request;
  request.set_container_id(container_id);
  return PrintResult(client.ContainerStats(request), out);
}

Result<int> ExecSync(const CriClient& client, const std::string& container_id,
                     const std::vector<std::string>& cmd, int64_t timeout_seconds,
                     std::ostream& out, std::ostream& err) {
  if (cmd.empty()) return InvalidArgument("exec-sync: no command given");
  v1::ExecSyncRequest request;
  request.set_container_id(container_id);
  for (const std::string& arg : cmd) request.add_cmd(arg);
  request.set_timeout(timeout_seconds);
  SANDBOX_ASSIGN_OR_RETURN(v1::ExecSyncResponse response, client.ExecSync(request));
  out.write(response.stdout().data(), static_cast<std::streamsize>(response.stdout().size()));
  out.flush();
  err.write(response.stderr().data(), static_cast<std::streamsize>(response.stderr().size()));
  err.flush();
  return response.exit_code();
}

Status Images(const CriClient& client, std::ostream& out) {
  return PrintResult(client.ListImages(v1::ListImagesRequest()), out);
}

Status ImageStatus(const CriClient& client, const std::string& image, bool verbose,
                   std::ostream& out) {
  v1::ImageStatusRequest request;
  request.mutable_image()->set_image(image);
  request.set_verbose(verbose);
  return PrintResult(client.ImageStatus(request), out);
}

}  // namespace sandbox::cri::commands
