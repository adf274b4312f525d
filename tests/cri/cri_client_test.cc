// cri-client's commands against an in-process gRPC server on a Unix socket
// that serves a fake RuntimeService and ImageService recording what they get.
#include "tests/cri/cri_client.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "tests/cri/commands.h"

namespace sandbox::cri {
namespace {

// EXPECT_TRUE(Contains(text, part)) prints both on failure.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// Test double: answers with canned responses and keeps the last request of
// each kind. gRPC calls it on its own threads, hence the mutex.
class FakeRuntimeService final : public v1::RuntimeService::Service {
 public:
  grpc::Status Version(grpc::ServerContext*, const v1::VersionRequest* request,
                       v1::VersionResponse* response) override {
    Record(version_, *request);
    response->set_version("0.1.0");
    response->set_runtime_name("fake");
    response->set_runtime_version("1.6.20");
    response->set_runtime_api_version("v1");
    return grpc::Status::OK;
  }

  grpc::Status RunPodSandbox(grpc::ServerContext*, const v1::RunPodSandboxRequest* request,
                             v1::RunPodSandboxResponse* response) override {
    Record(run_pod_, *request);
    response->set_pod_sandbox_id("pod-1");
    return grpc::Status::OK;
  }

  grpc::Status StopPodSandbox(grpc::ServerContext*, const v1::StopPodSandboxRequest* request,
                              v1::StopPodSandboxResponse*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "an error occurred when try to find sandbox \"" +
                            request->pod_sandbox_id() + "\": not found");
  }

  grpc::Status CreateContainer(grpc::ServerContext*, const v1::CreateContainerRequest* request,
                               v1::CreateContainerResponse* response) override {
    Record(create_, *request);
    response->set_container_id("ctr-1");
    return grpc::Status::OK;
  }

  grpc::Status StopContainer(grpc::ServerContext*, const v1::StopContainerRequest* request,
                             v1::StopContainerResponse*) override {
    Record(stop_, *request);
    return grpc::Status::OK;
  }

  grpc::Status ListContainers(grpc::ServerContext*, const v1::ListContainersRequest* request,
                              v1::ListContainersResponse* response) override {
    Record(list_containers_, *request);
    response->add_containers()->set_id("ctr-1");
    return grpc::Status::OK;
  }

  // A container just created: every field at its default but the id.
  grpc::Status ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest* request,
                               v1::ContainerStatusResponse* response) override {
    response->mutable_status()->set_id(request->container_id());
    response->mutable_status()->set_state(v1::CONTAINER_CREATED);
    return grpc::Status::OK;
  }

  grpc::Status ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* request,
                        v1::ExecSyncResponse* response) override {
    Record(exec_, *request);
    response->set_stdout(std::string("out\0put\n", 8));
    response->set_stderr("warning: something\n");
    response->set_exit_code(3);
    return grpc::Status::OK;
  }

  // Never answers: waits until the client gives up.
  grpc::Status ContainerStats(grpc::ServerContext* context, const v1::ContainerStatsRequest*,
                              v1::ContainerStatsResponse*) override {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!context->IsCancelled() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "client did not give up");
  }

  v1::VersionRequest version() const { return Get(version_); }
  v1::RunPodSandboxRequest run_pod() const { return Get(run_pod_); }
  v1::CreateContainerRequest create() const { return Get(create_); }
  v1::StopContainerRequest stop() const { return Get(stop_); }
  v1::ListContainersRequest list_containers() const { return Get(list_containers_); }
  v1::ExecSyncRequest exec() const { return Get(exec_); }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  template <class Request>
  void Record(Request& slot, const Request& request) {
    std::lock_guard lock(mutex_);
    slot = request;
    ++calls_;
  }
  template <class Request>
  Request Get(const Request& slot) const {
    std::lock_guard lock(mutex_);
    return slot;
  }

  mutable std::mutex mutex_;
  int calls_ = 0;
  v1::VersionRequest version_;
  v1::RunPodSandboxRequest run_pod_;
  v1::CreateContainerRequest create_;
  v1::StopContainerRequest stop_;
  v1::ListContainersRequest list_containers_;
  v1::ExecSyncRequest exec_;
};

class FakeImageService final : public v1::ImageService::Service {
 public:
  grpc::Status ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* request,
                           v1::ImageStatusResponse* response) override {
    if (request->image().image() == "docker.io/library/busybox:latest") {
      response->mutable_image()->set_id("sha256:abc");
      response->mutable_image()->add_repo_tags(request->image().image());
    }
    return grpc::Status::OK;
  }
};

constexpr char kPodConfig[] = R"({
  "metadata": {"name": "nginx-sandbox", "namespace": "default", "uid": "hdishd83djaidwnduwk28bcsb"},
  "log_directory": "/tmp",
  "linux": {"security_context": {"namespace_options": {"network": "NODE"}}}
})";

// lowerCamelCase names, as crictl's examples write them.
constexpr char kContainerConfig[] = R"({
  "metadata": {"name": "busybox"},
  "image": {"image": "docker.io/library/busybox:latest"},
  "command": ["sleep", "3600"],
  "logPath": "busybox.log",
  "envs": [{"key": "A", "value": "b"}]
})";

class CriClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = temp_.path() + "/cri.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(&runtime_);
    builder.RegisterService(&images_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr) << "cannot serve on " << socket_;
  }

  void TearDown() override {
    if (server_ != nullptr)
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  CriClient Client(std::chrono::seconds timeout = std::chrono::seconds(10)) const {
    Result<CriClient> client =
        CriClient::Create({.endpoint = "unix://" + socket_, .timeout = timeout});
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  std::string WriteFile(const std::string& name, const std::string& content) const {
    std::string path = temp_.path() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, content).ok());
    return path;
  }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/cri-client-test-");
  std::string socket_;
  FakeRuntimeService runtime_;
  FakeImageService images_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CriClientTest, VersionSendsTheApiVersionAndPrintsTheResponse) {
  std::ostringstream out;
  ASSERT_TRUE(commands::Version(Client(), out).ok());
  EXPECT_EQ(runtime_.version().version(), commands::kCriApiVersion);
  EXPECT_TRUE(Contains(out.str(), R"("runtimeName": "fake")"));
  EXPECT_TRUE(Contains(out.str(), R"("runtimeApiVersion": "v1")"));
  EXPECT_EQ(out.str().back(), '\n');
}

TEST_F(CriClientTest, RunpSendsTheHandlerAndTheConfigAndPrintsThePodId) {
  std::string config = WriteFile("pod.json", kPodConfig);
  std::ostringstream out;
  Status status = commands::Runp(Client(), config, "sandbox-rt", out);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(out.str(), "pod-1\n");
  v1::RunPodSandboxRequest request = runtime_.run_pod();
  EXPECT_EQ(request.runtime_handler(), "sandbox-rt");
  EXPECT_EQ(request.config().metadata().name(), "nginx-sandbox");
  EXPECT_EQ(request.config().metadata().uid(), "hdishd83djaidwnduwk28bcsb");
  EXPECT_EQ(request.config().log_directory(), "/tmp");
  EXPECT_EQ(request.config().linux().security_context().namespace_options().network(), v1::NODE);
}

TEST_F(CriClientTest, RunpWithAMalformedConfigNamesTheFileAndSendsNothing) {
  std::string config = WriteFile("broken.json", R"({"metadata": {"name": )");
  std::ostringstream out;
  Status status = commands::Runp(Client(), config, "", out);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), config));
  EXPECT_TRUE(Contains(status.message(), "runtime.v1.PodSandboxConfig"));
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(runtime_.calls(), 0);
}

TEST_F(CriClientTest, RunpRejectsAnUnknownFieldNamingIt) {
  std::string config = WriteFile("typo.json", R"({"metadata": {"name": "p"}, "hostnme": "x"})");
  std::ostringstream out;
  Status status = commands::Runp(Client(), config, "", out);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), config));
  EXPECT_TRUE(Contains(status.message(), "hostnme"));
  EXPECT_EQ(runtime_.calls(), 0);
}

TEST_F(CriClientTest, RunpWithAMissingConfigNamesTheFile) {
  std::string config = temp_.path() + "/absent.json";
  std::ostringstream out;
  Status status = commands::Runp(Client(), config, "", out);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), config));
}

TEST_F(CriClientTest, CreateSendsBothConfigsAndPrintsTheContainerId) {
  std::string container = WriteFile("container.json", kContainerConfig);
  std::string pod = WriteFile("pod.json", kPodConfig);
  std::ostringstream out;
  Status status = commands::Create(Client(), "pod-1", container, pod, out);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(out.str(), "ctr-1\n");
  v1::CreateContainerRequest request = runtime_.create();
  EXPECT_EQ(request.pod_sandbox_id(), "pod-1");
  EXPECT_EQ(request.config().metadata().name(), "busybox");
  EXPECT_EQ(request.config().image().image(), "docker.io/library/busybox:latest");
  ASSERT_EQ(request.config().command_size(), 2);
  EXPECT_EQ(request.config().command(1), "3600");
  EXPECT_EQ(request.config().log_path(), "busybox.log");
  EXPECT_EQ(request.config().envs(0).value(), "b");
  EXPECT_EQ(request.sandbox_config().metadata().name(), "nginx-sandbox");
}

TEST_F(CriClientTest, ExecSyncRelaysTheBytesAndReturnsTheExitCode) {
  std::ostringstream out;
  std::ostringstream err;
  Result<int> exit_code =
      commands::ExecSync(Client(), "ctr-1", {"sh", "-c", "exit 3"}, 5, out, err);
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 3);
  EXPECT_EQ(out.str(), std::string("out\0put\n", 8));
  EXPECT_EQ(err.str(), "warning: something\n");
  v1::ExecSyncRequest request = runtime_.exec();
  EXPECT_EQ(request.container_id(), "ctr-1");
  ASSERT_EQ(request.cmd_size(), 3);
  EXPECT_EQ(request.cmd(2), "exit 3");
  EXPECT_EQ(request.timeout(), 5);
}

TEST_F(CriClientTest, AnRpcErrorNamesTheMethodAndTheGrpcCode) {
  std::ostringstream out;
  Status status = commands::Stopp(Client(), "pod-9", out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(status.message(), "StopPodSandbox: rpc error: code = NotFound desc = "));
  EXPECT_TRUE(Contains(status.message(), "\"pod-9\": not found"));
  EXPECT_EQ(out.str(), "");
}

TEST_F(CriClientTest, AnUnimplementedRpcSaysSo) {
  std::ostringstream out;
  Status status = commands::Rm(Client(), "ctr-1", out);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), "RemoveContainer: rpc error: code = Unimplemented"));
}

TEST_F(CriClientTest, TheDeadlineEndsACallThatDoesNotAnswer) {
  std::ostringstream out;
  auto start = std::chrono::steady_clock::now();
  Status status = commands::Stats(Client(std::chrono::seconds(1)), "ctr-1", out);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), "ContainerStats: rpc error: code = DeadlineExceeded"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(CriClientTest, ANoServerIsUnavailable) {
  Result<CriClient> client = CriClient::Create(
      {.endpoint = temp_.path() + "/absent.sock", .timeout = std::chrono::seconds(5)});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::ostringstream out;
  Status status = commands::Version(*client, out);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), "Version: rpc error: code = Unavailable"));
}

TEST_F(CriClientTest, ABareSocketPathIsAUnixEndpoint) {
  Result<CriClient> client =
      CriClient::Create({.endpoint = socket_, .timeout = std::chrono::seconds(5)});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::ostringstream out;
  Status status = commands::Version(*client, out);
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST_F(CriClientTest, InspectPrintsDefaultValuedFields) {
  std::ostringstream out;
  ASSERT_TRUE(commands::Inspect(Client(), "ctr-1", false, out).ok());
  v1::ContainerStatusResponse printed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out.str(), &printed).ok()) << out.str();
  EXPECT_EQ(printed.status().id(), "ctr-1");
  EXPECT_TRUE(Contains(out.str(), R"("state": "CONTAINER_CREATED")"));
  EXPECT_TRUE(Contains(out.str(), R"("exitCode": 0)"));
  EXPECT_TRUE(Contains(out.str(), R"("reason": "")"));
}

TEST_F(CriClientTest, PsFiltersByPodOnlyWhenAsked) {
  std::ostringstream out;
  ASSERT_TRUE(commands::Ps(Client(), "", out).ok());
  EXPECT_FALSE(runtime_.list_containers().has_filter());
  ASSERT_TRUE(commands::Ps(Client(), "pod-1", out).ok());
  EXPECT_EQ(runtime_.list_containers().filter().pod_sandbox_id(), "pod-1");
}

TEST_F(CriClientTest, StopSendsTheGracePeriodAndPrintsTheId) {
  std::ostringstream out;
  ASSERT_TRUE(commands::Stop(Client(), "ctr-1", 7, out).ok());
  EXPECT_EQ(runtime_.stop().container_id(), "ctr-1");
  EXPECT_EQ(runtime_.stop().timeout(), 7);
  EXPECT_EQ(out.str(), "ctr-1\n");
}

TEST_F(CriClientTest, ImageStatusAsksForTheReference) {
  std::ostringstream present;
  ASSERT_TRUE(
      commands::ImageStatus(Client(), "docker.io/library/busybox:latest", false, present).ok());
  EXPECT_TRUE(Contains(present.str(), R"("id": "sha256:abc")"));
  std::ostringstream absent;
  ASSERT_TRUE(commands::ImageStatus(Client(), "nothere", false, absent).ok());
  EXPECT_EQ(absent.str().find("\"image\""), std::string::npos) << absent.str();
}

TEST(CriClientCreate, RejectsAnEmptyEndpoint) {
  Result<CriClient> client =
      CriClient::Create({.endpoint = "", .timeout = std::chrono::seconds(1)});
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(Contains(client.status().message(), "--endpoint"));
}

}  // namespace
}  // namespace sandbox::cri
