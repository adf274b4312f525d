// Our ttrpc client against containerd's own (Go) ttrpc server: the Task
// service of Debian's containerd-shim-runc-v2, started as containerd starts
// it (bundle dir as cwd, a log FIFO), serving on a socket of our choosing.
// Protobuf payloads are written and read field by field, so the test needs
// none of containerd's .proto files.
#include <fcntl.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/base/unix_socket.h"
#include "common/ttrpc/client.h"

namespace sandbox::ttrpc {
namespace {

constexpr char kShim[] = "/usr/bin/containerd-shim-runc-v2";
constexpr char kTaskService[] = "containerd.task.v2.Task";

// A message whose field 1 is the string `id` (ConnectRequest, StateRequest).
std::string IdRequest(const std::string& id) {
  std::string message = "\x0a";
  message += static_cast<char>(id.size());
  return message + id;
}

class ContainerdShimInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PathExists(kShim)) GTEST_FAIL() << kShim << " is missing (Debian's containerd; scripts/setup.sh)";
    ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/config.json", R"({"ociVersion": "1.0.2"})", 0644).ok());
    ASSERT_EQ(::mkfifo((dir_.path() + "/log").c_str(), 0600), 0);
    // The shim opens its log FIFO for writing, which waits for a reader.
    log_.Reset(::open((dir_.path() + "/log").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(log_.valid());
    shim_ = ::fork();
    ASSERT_GE(shim_, 0);
    if (shim_ == 0) {
      if (::chdir(dir_.path().c_str()) != 0) ::_exit(126);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(kShim, "containerd-shim-runc-v2", "-namespace", "sandbox-rt-test", "-id", "interop", "-address",
              (dir_.path() + "/no-containerd.sock").c_str(), "-socket", socket_.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !connection_.valid(); ++i) {
      Result<UniqueFd> connected = ConnectUnix(socket_);
      if (connected.ok()) {
        connection_ = std::move(connected).value();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_TRUE(connection_.valid()) << "the shim did not serve " << socket_;
  }
  void TearDown() override {
    if (shim_ > 0) {
      ::kill(shim_, SIGKILL);
      ::waitpid(shim_, nullptr, 0);
    }
  }

  TempDir dir_ = TempDir::CreateOrDie("/tmp/ttrpc-interop-");
  const std::string socket_ = dir_.path() + "/shim.sock";
  UniqueFd log_;
  UniqueFd connection_;
  pid_t shim_ = -1;
};

TEST_F(ContainerdShimInterop, UnaryCallsErrorsAndConcurrentStreams) {
  Client client(std::move(connection_));
  // Connect answers with the shim's pid (field 1).
  Result<std::string> connected = client.Call(kTaskService, "Connect", IdRequest("interop"));
  ASSERT_TRUE(connected.ok()) << connected.status().message();
  google::protobuf::UnknownFieldSet fields;
  ASSERT_TRUE(fields.ParseFromString(*connected));
  ASSERT_GE(fields.field_count(), 1);
  EXPECT_EQ(fields.field(0).number(), 1);
  EXPECT_EQ(fields.field(0).varint(), static_cast<uint64_t>(shim_)) << "ConnectResponse.shim_pid";

  // Go's status codes and messages come back as ours.
  Result<std::string> unknown = client.Call(kTaskService, "Teleport", "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnimplemented) << unknown.status().message();
  Result<std::string> no_service = client.Call("containerd.nothing.v1.Nothing", "Connect", "");
  EXPECT_EQ(no_service.status().code(), StatusCode::kUnimplemented) << no_service.status().message();
  Result<std::string> no_task = client.Call(kTaskService, "State", IdRequest("interop"));
  EXPECT_FALSE(no_task.ok()) << "no container was created";
  EXPECT_FALSE(no_task.status().message().empty());

  // Many requests in flight on one connection, each answered on its stream.
  std::vector<std::thread> callers;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      Result<std::string> again = client.Call(kTaskService, "Connect", IdRequest("interop"));
      if (again.ok() && *again == *connected) ++answered;
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(answered, 8);

  // Shutdown (field 1 id, field 2 now): the shim ends.
  std::string shutdown = IdRequest("interop") + std::string("\x10\x01", 2);
  (void)client.Call(kTaskService, "Shutdown", shutdown, std::chrono::seconds(5));
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    ended = ::waitpid(shim_, nullptr, WNOHANG) == shim_;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(ended) << "the shim ends after Shutdown";
  if (ended) shim_ = -1;
}

}  // namespace
}  // namespace sandbox::ttrpc
