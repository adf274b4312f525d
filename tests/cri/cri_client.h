// CriClient: the Kubernetes CRI (runtime.v1) RuntimeService and ImageService
// over one gRPC channel, as kubelet and crictl call them; the test client of
// containerd's CRI plugin (tests/cri/README.md).
//
// Every call carries a deadline (ClientOptions::timeout; ExecSync adds the
// command's own timeout). A failed call comes back as a Status naming the
// method and the gRPC code the way Go's gRPC prints it: "StopPodSandbox: rpc
// error: code = NotFound desc = ...". The generated protobuf types are this
// tool's whole subject, so they are used as they are, not converted.
//
// Thread safety: the methods are const and may be called from several threads
// (gRPC stubs are thread-safe).
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "cri/api.grpc.pb.h"

namespace sandbox::cri {

namespace v1 = ::runtime::v1;

struct ClientOptions {
  // A gRPC target: unix:///run/containerd/containerd.sock; a bare absolute
  // path stands for unix://<path>.
  std::string endpoint;
  // The deadline of each call.
  std::chrono::seconds timeout{60};
};

class CriClient {
 public:
  // Checks the options and makes the channel; it connects on the first call,
  // so an absent runtime shows up there as Unavailable.
  static Result<CriClient> Create(const ClientOptions& options);

  // Over an existing channel.
  CriClient(const std::shared_ptr<grpc::Channel>& channel, std::chrono::seconds timeout);

  Result<v1::VersionResponse> Version(const v1::VersionRequest& request) const;
  Result<v1::RunPodSandboxResponse> RunPodSandbox(const v1::RunPodSandboxRequest& request) const;
  Result<v1::StopPodSandboxResponse> StopPodSandbox(const v1::StopPodSandboxRequest& request) const;
  Result<v1::RemovePodSandboxResponse> RemovePodSandbox(
      const v1::RemovePodSandboxRequest& request) const;
  Result<v1::PodSandboxStatusResponse> PodSandboxStatus(
      const v1::PodSandboxStatusRequest& request) const;
  Result<v1::ListPodSandboxResponse> ListPodSandbox(const v1::ListPodSandboxRequest& request) const;
  Result<v1::CreateContainerResponse> CreateContainer(
      const v1::CreateContainerRequest& request) const;
  Result<v1::StartContainerResponse> StartContainer(const v1::StartContainerRequest& request) const;
  Result<v1::StopContainerResponse> StopContainer(const v1::StopContainerRequest& request) const;
  Result<v1::RemoveContainerResponse> RemoveContainer(
      const v1::RemoveContainerRequest& request) const;
  Result<v1::ListContainersResponse> ListContainers(const v1::ListContainersRequest& request) const;
  Result<v1::ContainerStatusResponse> ContainerStatus(
      const v1::ContainerStatusRequest& request) const;
  // The deadline is the timeout plus request.timeout(), so the runtime's own
  // timeout of the command ends it first.
  Result<v1::ExecSyncResponse> ExecSync(const v1::ExecSyncRequest& request) const;
  Result<v1::ContainerStatsResponse> ContainerStats(const v1::ContainerStatsRequest& request) const;

  Result<v1::ListImagesResponse> ListImages(const v1::ListImagesRequest& request) const;
  Result<v1::ImageStatusResponse> ImageStatus(const v1::ImageStatusRequest& request) const;

 private:
  std::chrono::seconds timeout_;
  std::unique_ptr<v1::RuntimeService::StubInterface> runtime_;
  std::unique_ptr<v1::ImageService::StubInterface> images_;
};

// Go's name of a gRPC code ("NotFound", "DeadlineExceeded"), as crictl and
// containerd's logs print it.
std::string_view GrpcCodeName(grpc::StatusCode code);

// "<method>: rpc error: code = <GrpcCodeName> desc = <message>", with the
// nearest StatusCode (kInternal where there is none).
Status GrpcError(std::string_view method, const grpc::Status& status);

}  // namespace sandbox::cri
