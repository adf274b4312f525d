#include "vmm/api_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/base/unix_socket.h"

namespace sandbox::vmm {
namespace {

class FakeVm : public VmControl {
 public:
  std::string state() const override { return paused ? "paused" : "running"; }
  Status Pause() override {
    paused = true;
    return Status::Ok();
  }
  Status Resume() override {
    paused = false;
    return Status::Ok();
  }
  void RequestGuestShutdown() override { ++shutdown_requests; }
  void ForceStop() override { ++force_stops; }
  Result<std::vector<std::string>> DescribeVcpus() override {
    if (stopping) return FailedPrecondition("the VM is stopping");
    return std::vector<std::string>{"vCPU 0 halted: rip=0x1", "vCPU 1 runnable: rip=0x2"};
  }
  Result<BalloonDevice::Stats> Balloon() const override {
    return BalloonDevice::Stats{.reports = 2, .reported_bytes = 8192};
  }
  Status Snapshot(UniqueFd state, UniqueFd memory, std::vector<GuestRange> shared) override {
    paused = true;
    shared_ranges = std::move(shared);
    snapshot_fds = {state.get(), memory.get()};
    if (::write(state.get(), "s", 1) != 1 || ::write(memory.get(), "m", 1) != 1) return Internal("write");
    return Status::Ok();
  }
  std::pair<int, int> snapshot_fds{-1, -1};
  std::vector<GuestRange> shared_ranges;
  bool stopping = false;
  bool paused = false;
  int shutdown_requests = 0;
  int force_stops = 0;
};

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.emplace(TempDir::CreateOrDie("/tmp/api-test-"));
    loop_ = EventLoop::Create().value();
    server_ = ApiServer::Create(dir_->path() + "/api.sock", *loop_, vm_).value();
  }
  FakeVm vm_;
  std::optional<TempDir> dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ApiServerTest, PausesResumesAndReportsState) {
  EXPECT_EQ(server_->Handle(R"({"op":"status"})"), "{\"ok\":true,\"state\":\"running\"}\n");
  EXPECT_EQ(server_->Handle(R"({"op":"pause"})"), "{\"ok\":true,\"state\":\"paused\"}\n");
  EXPECT_TRUE(vm_.paused);
  EXPECT_EQ(server_->Handle(R"({"op":"resume"})"), "{\"ok\":true,\"state\":\"running\"}\n");
  EXPECT_FALSE(vm_.paused);
}

TEST_F(ApiServerTest, ShutdownAsksTheGuestAndZeroTimeoutForces) {
  EXPECT_EQ(server_->Handle(R"({"op":"shutdown","timeout_ms":60000})"), "{\"ok\":true,\"state\":\"stopping\"}\n");
  EXPECT_EQ(vm_.shutdown_requests, 1);
  EXPECT_EQ(vm_.force_stops, 0);
  vm_.paused = true;
  server_->Handle(R"({"op":"shutdown","timeout_ms":0})");
  EXPECT_FALSE(vm_.paused) << "a paused guest is resumed so it can shut down";
  EXPECT_EQ(vm_.force_stops, 1);
}

TEST_F(ApiServerTest, DescribesTheVcpus) {
  EXPECT_EQ(server_->Handle(R"({"op":"vcpus"})"),
            "{\"ok\":true,\"state\":\"running\",\"vcpus\":[\"vCPU 0 halted: rip=0x1\",\"vCPU 1 runnable: rip=0x2\"]}\n");
  vm_.stopping = true;
  EXPECT_EQ(server_->Handle(R"({"op":"vcpus"})"), "{\"error\":\"the VM is stopping\",\"ok\":false}\n");
}

TEST_F(ApiServerTest, SaysWhatTheBalloonGaveBack) {
  EXPECT_EQ(server_->Handle(R"({"op":"balloon"})"),
            "{\"ok\":true,\"reported_bytes\":8192,\"reports\":2,\"state\":\"running\"}\n");
}

TEST_F(ApiServerTest, SnapshotTakesTheTwoFilesSentWithIt) {
  EXPECT_NE(server_->Handle(R"({"op":"snapshot"})").find("send two fds"), std::string::npos);
  const std::string state = dir_->path() + "/state", memory = dir_->path() + "/memory";
  std::vector<UniqueFd> fds;
  fds.emplace_back(::open(state.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  fds.emplace_back(::open(memory.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  EXPECT_EQ(server_->Handle(R"({"op":"snapshot"})", std::move(fds)), "{\"ok\":true,\"state\":\"paused\"}\n");
  EXPECT_EQ(*ReadFile(state), "s");
  EXPECT_EQ(*ReadFile(memory), "m");
  EXPECT_TRUE(vm_.shared_ranges.empty());
}

TEST_F(ApiServerTest, SnapshotPassesTheSharedRangesOn) {
  auto snapshot = [&](const std::string& line) {
    std::vector<UniqueFd> fds;
    for (const char* name : {"/state", "/memory"}) {
      const std::string path = dir_->path() + name;
      fds.emplace_back(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    }
    return server_->Handle(line, std::move(fds));
  };
  EXPECT_EQ(snapshot(R"({"op":"snapshot","shared_ranges":[{"address":4096,"size":8192},{"size":4096,"address":0}]})"),
            "{\"ok\":true,\"state\":\"paused\"}\n");
  ASSERT_EQ(vm_.shared_ranges.size(), 2u);
  EXPECT_EQ(vm_.shared_ranges[0].address, 4096u);
  EXPECT_EQ(vm_.shared_ranges[0].size, 8192u);
  EXPECT_EQ(vm_.shared_ranges[1].address, 0u);
  vm_.shared_ranges.clear();
  for (const char* bad : {R"({"op":"snapshot","shared_ranges":{"address":0,"size":4096}})",
                          R"({"op":"snapshot","shared_ranges":[{"address":0}]})",
                          R"({"op":"snapshot","shared_ranges":[{"address":0,"size":4096,"extra":1}]})",
                          R"({"op":"snapshot","shared_ranges":[{"address":-4096,"size":4096}]})",
                          R"({"op":"snapshot","shared_ranges":[{"address":0,"size":"4096"}]})"}) {
    const std::string answer = snapshot(bad);
    EXPECT_NE(answer.find("shared_ranges"), std::string::npos) << bad << " -> " << answer;
    EXPECT_NE(answer.find("\"ok\":false"), std::string::npos) << bad;
  }
  EXPECT_TRUE(vm_.shared_ranges.empty());
  EXPECT_NE(server_->Handle(R"({"op":"pause","shared_ranges":[]})").find("shared_ranges: unknown key"),
            std::string::npos);
}

TEST_F(ApiServerTest, RejectsBadRequestsByName) {
  auto error_of = [&](const std::string& line) { return server_->Handle(line); };
  EXPECT_NE(error_of("not json").find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"op":"shutdown","timeout_ms":1e400})").find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of("[1]").find("op: required"), std::string::npos);
  EXPECT_NE(error_of(R"({"op":7})").find("op: required"), std::string::npos);
  EXPECT_NE(error_of(R"({"op":"explode"})").find("unknown operation"), std::string::npos);
  EXPECT_NE(error_of(R"({"op":"pause","force":true})").find("force: unknown key"), std::string::npos);
  EXPECT_NE(error_of(R"({"op":"shutdown","timeout_ms":-1})").find("timeout_ms"), std::string::npos);
  EXPECT_EQ(vm_.shutdown_requests, 0);
}

TEST_F(ApiServerTest, RemovesItsSocket) {
  const std::string path = dir_->path() + "/api.sock";
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  server_.reset();
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

// containerd's state dirs (/run/containerd/runc/k8s.io/<64-hex id>) are longer than sun_path.
TEST(ApiServerPathTest, ListensOnAPathLongerThanSunPath) {
  TempDir dir = TempDir::CreateOrDie("/tmp/api-test-");
  const std::string long_dir = dir.path() + "/" + std::string(150, 'k');
  ASSERT_TRUE(MakeDirs(long_dir).ok());
  const std::string path = long_dir + "/api.sock";
  FakeVm vm;
  std::unique_ptr<EventLoop> loop = EventLoop::Create().value();
  Result<std::unique_ptr<ApiServer>> server = ApiServer::Create(path, *loop, vm);
  ASSERT_TRUE(server.ok()) << server.status().message();
  EXPECT_TRUE(ConnectUnix(path).ok());
  server->reset();
  EXPECT_FALSE(PathExists(path));
}

}  // namespace
}  // namespace sandbox::vmm
