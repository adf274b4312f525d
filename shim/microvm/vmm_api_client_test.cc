#include "shim/microvm/vmm_api_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/base/temp_dir.h"
#include "common/base/unix_socket.h"

namespace sandbox::shim {
namespace {

// A one-shot stand-in for sandbox-vmm's API: reads one request line, checks
// its op, answers `answer`.
class FakeVmmApi {
 public:
  FakeVmmApi(const std::string& path, std::string expected_op, std::string answer)
      : listener_(ListenUnix(path, 1).value()),
        server_([this, expected_op = std::move(expected_op), answer = std::move(answer)] {
          UniqueFd client(::accept(listener_.get(), nullptr, nullptr));
          std::string request;
          char byte;
          while (request.find('\n') == std::string::npos && ::read(client.get(), &byte, 1) == 1) request += byte;
          request_ok_ = request == "{\"op\":\"" + expected_op + "\"}\n";
          (void)!::write(client.get(), answer.data(), answer.size());
        }) {}
  ~FakeVmmApi() {
    if (server_.joinable()) server_.join();
  }
  bool request_ok() {
    if (server_.joinable()) server_.join();
    return request_ok_;
  }

 private:
  UniqueFd listener_;
  bool request_ok_ = false;
  std::thread server_;
};

class VmmApiClientTest : public ::testing::Test {
 protected:
  TempDir dir_ = TempDir::CreateOrDie("/tmp/vmm-api-client-");
  std::string path_ = dir_.path() + "/api.sock";
};

TEST_F(VmmApiClientTest, ReturnsTheState) {
  FakeVmmApi api(path_, "pause", "{\"ok\":true,\"state\":\"paused\"}\n");
  Result<std::string> state = CallVmmApi(path_, "pause");
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(*state, "paused");
  EXPECT_TRUE(api.request_ok());
}

TEST_F(VmmApiClientTest, AnErrorAnswerBecomesAnErrorWithItsMessage) {
  FakeVmmApi api(path_, "resume", "{\"ok\":false,\"error\":\"the VM is stopping\"}\n");
  Result<std::string> state = CallVmmApi(path_, "resume");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().message(), "VMM API resume: the VM is stopping");
}

TEST_F(VmmApiClientTest, AMalformedAnswerIsAnError) {
  FakeVmmApi api(path_, "status", "[1,2]\n");
  Result<std::string> state = CallVmmApi(path_, "status");
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("malformed answer"), std::string::npos);
}

TEST_F(VmmApiClientTest, DescribesTheVcpusOneLineEach) {
  FakeVmmApi api(path_, "vcpus", "{\"ok\":true,\"state\":\"running\",\"vcpus\":[\"vCPU 0 halted\",\"vCPU 1 runnable\"]}\n");
  EXPECT_EQ(DescribeGuestVcpus(path_), "vCPU 0 halted\nvCPU 1 runnable");
  EXPECT_TRUE(api.request_ok());
}

TEST_F(VmmApiClientTest, DescribingTheVcpusOfAGoneVmmSaysWhy) {
  EXPECT_NE(DescribeGuestVcpus(path_).find(path_), std::string::npos);
}

}  // namespace
}  // namespace sandbox::shim
