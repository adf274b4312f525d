#include "tests/cri/cri_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>

namespace sandbox::cri {
namespace {

// containerd's CRI server accepts messages up to 16 MiB; crictl reads as much.
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

using RuntimeStub = v1::RuntimeService::StubInterface;
using ImageStub = v1::ImageService::StubInterface;

// One unary call through `stub` with a deadline `timeout` from now.
template <class Stub, class Request, class Response>
Result<Response> Invoke(std::string_view method, std::chrono::seconds timeout, Stub& stub,
                        grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                        const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  Response response;
  grpc::Status status = (stub.*rpc)(&context, request, &response);
  if (!status.ok()) return GrpcError(method, status);
  return response;
}

StatusCode NearestStatusCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return StatusCode::kOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return StatusCode::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return StatusCode::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return StatusCode::kAlreadyExists;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return StatusCode::kFailedPrecondition;
    case grpc::StatusCode::UNAVAILABLE:
      return StatusCode::kUnavailable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return StatusCode::kDeadlineExceeded;
    case grpc::StatusCode::UNIMPLEMENTED:
      return StatusCode::kUnimplemented;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "Canceled";
    case grpc::StatusCode::UNKNOWN:
      return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FailedPrecondition";
    case grpc::StatusCode::ABORTED:
      return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "Unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "Internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "Unavailable";
    case grpc::StatusCode::DATA_LOSS:
      return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "Unauthenticated";
    default:
      return "Unknown";
  }
}

Status GrpcError(std::string_view method, const grpc::Status& status) {
  std::string message(method);
  message += ": rpc error: code = ";
  message += GrpcCodeName(status.error_code());
  message += " desc = ";
  message += status.error_message();
  return Status(NearestStatusCode(status.error_code()), std::move(message));
}

Result<CriClient> CriClient::Create(const ClientOptions& options) {
  if (options.endpoint.empty())
    return InvalidArgument("--endpoint is empty (unix:///path/to/socket)");
  if (options.timeout.count() <= 0)
    return InvalidArgument("--timeout must be a positive number of seconds");
  std::string target = options.endpoint;
  if (target.front() == '/') target = "unix://" + target;
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxMessageBytes);
  arguments.SetMaxSendMessageSize(kMaxMessageBytes);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments);
  if (channel == nullptr) return InvalidArgument("cannot make a gRPC channel to " + target);
  return CriClient(channel, options.timeout);
}

CriClient::CriClient(const std::shared_ptr<grpc::Channel>& channel, std::chrono::seconds timeout)
    : timeout_(timeout),
      runtime_(v1::RuntimeService::NewStub(channel)),
      images_(v1::ImageService::NewStub(channel)) {}

Result<v1::VersionResponse> CriClient::Version(const v1::VersionRequest& request) const {
  return Invoke("Version", timeout_, *runtime_, &RuntimeStub::Version, request);
}

Result<v1::RunPodSandboxResponse> CriClient::RunPodSandbox(
    const v1::RunPodSandboxRequest& request) const {
  return Invoke("RunPodSandbox", timeout_, *runtime_, &RuntimeStub::RunPodSandbox, request);
}

Result<v1::StopPodSandboxResponse> CriClient::StopPodSandbox(
    const v1::StopPodSandboxRequest& request) const {
  return Invoke("StopPodSandbox", timeout_, *runtime_, &RuntimeStub::StopPodSandbox, request);
}

Result<v1::RemovePodSandboxResponse> CriClient::RemovePodSandbox(
    const v1::RemovePodSandboxRequest& request) const {
  return Invoke("RemovePodSandbox", timeout_, *runtime_, &RuntimeStub::RemovePodSandbox, request);
}

Result<v1::PodSandboxStatusResponse> CriClient::PodSandboxStatus(
    const v1::PodSandboxStatusRequest& request) const {
  return Invoke("PodSandboxStatus", timeout_, *runtime_, &RuntimeStub::PodSandboxStatus, request);
}

Result<v1::ListPodSandboxResponse> CriClient::ListPodSandbox(
    const v1::ListPodSandboxRequest& request) const {
  return Invoke("ListPodSandbox", timeout_, *runtime_, &RuntimeStub::ListPodSandbox, request);
}

Result<v1::CreateContainerResponse> CriClient::CreateContainer(
    const v1::CreateContainerRequest& request) const {
  return Invoke("CreateContainer", timeout_, *runtime_, &RuntimeStub::CreateContainer, request);
}

Result<v1::StartContainerResponse> CriClient::StartContainer(
    const v1::StartContainerRequest& request) const {
  return Invoke("StartContainer", timeout_, *runtime_, &RuntimeStub::StartContainer, request);
}

Result<v1::StopContainerResponse> CriClient::StopContainer(
    const v1::StopContainerRequest& request) const {
  return Invoke("StopContainer", timeout_, *runtime_, &RuntimeStub::StopContainer, request);
}

Result<v1::RemoveContainerResponse> CriClient::RemoveContainer(
    const v1::RemoveContainerRequest& request) const {
  return Invoke("RemoveContainer", timeout_, *runtime_, &RuntimeStub::RemoveContainer, request);
}

Result<v1::ListContainersResponse> CriClient::ListContainers(
    const v1::ListContainersRequest& request) const {
  return Invoke("ListContainers", timeout_, *runtime_, &RuntimeStub::ListContainers, request);
}

Result<v1::ContainerStatusResponse> CriClient::ContainerStatus(
    const v1::ContainerStatusRequest& request) const {
  return Invoke("ContainerStatus", timeout_, *runtime_, &RuntimeStub::ContainerStatus, request);
}

Result<v1::ExecSyncResponse> CriClient::ExecSync(const v1::ExecSyncRequest& request) const {
  std::chrono::seconds deadline =
      timeout_ + std::chrono::seconds(std::max<int64_t>(request.timeout(), 0));
  return Invoke("ExecSync", deadline, *runtime_, &RuntimeStub::ExecSync, request);
}

Result<v1::ContainerStatsResponse> CriClient::ContainerStats(
    const v1::ContainerStatsRequest& request) const {
  return Invoke("ContainerStats", timeout_, *runtime_, &RuntimeStub::ContainerStats, request);
}

Result<v1::ListImagesResponse> CriClient::ListImages(const v1::ListImagesRequest& request) const {
  return Invoke("ListImages", timeout_, *images_, &ImageStub::ListImages, request);
}

Result<v1::ImageStatusResponse> CriClient::ImageStatus(
    const v1::ImageStatusRequest& request) const {
  return Invoke("ImageStatus", timeout_, *images_, &ImageStub::ImageStatus, request);
}

}  // namespace sandbox::cri
