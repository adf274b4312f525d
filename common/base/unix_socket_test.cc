#include "common/base/unix_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <string>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox {
namespace {

constexpr auto kAcceptLimit = std::chrono::seconds(5);

class UnixSocketTest : public ::testing::Test {
 protected:
  // Connects to `path` and sends one byte each way through the listener.
  void ExpectRoundTrip(const std::string& path) {
    Result<UniqueFd> listener = ListenUnix(path, 1);
    ASSERT_TRUE(listener.ok()) << listener.status().message();
    EXPECT_TRUE(PathExists(path)) << "the socket is bound at its real path: " << path;
    Result<UniqueFd> client = ConnectUnix(path);
    ASSERT_TRUE(client.ok()) << client.status().message();
    Result<UniqueFd> server = AcceptWithin(listener->get(), kAcceptLimit, path);
    ASSERT_TRUE(server.ok()) << server.status().message();
    char byte = 'x';
    ASSERT_EQ(::send(client->get(), &byte, 1, MSG_NOSIGNAL), 1);
    ASSERT_EQ(::recv(server->get(), &byte, 1, 0), 1);
    EXPECT_EQ(byte, 'x');
    byte = 'y';
    ASSERT_EQ(::send(server->get(), &byte, 1, MSG_NOSIGNAL), 1);
    ASSERT_EQ(::recv(client->get(), &byte, 1, 0), 1);
    EXPECT_EQ(byte, 'y');
  }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-unix-socket-");
};

TEST_F(UnixSocketTest, AShortPathWorks) { ExpectRoundTrip(temp_.path() + "/s.sock"); }

// containerd's runc shim puts state under /run/containerd/runc/k8s.io/<64-hex id>.
TEST_F(UnixSocketTest, APathLongerThanSunPathWorks) {
  std::string dir = temp_.path();
  while (dir.size() < 230) dir += "/" + std::string(40, 'd');
  ASSERT_TRUE(MakeDirs(dir).ok());
  const std::string path = dir + "/vsock_1025";
  ASSERT_GT(path.size(), sizeof(sockaddr_un::sun_path));
  ExpectRoundTrip(path);
}

TEST_F(UnixSocketTest, ABasenameThatCannotFitIsRefusedByPath) {
  const std::string path = temp_.path() + "/" + std::string(108, 'b');
  Result<UniqueFd> listener = ListenUnix(path, 1);
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(listener.status().message().find(path), std::string::npos) << listener.status().message();
  Result<UniqueFd> client = ConnectUnix(path);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find(path), std::string::npos) << client.status().message();
  EXPECT_FALSE(PathExists(path));
}

TEST_F(UnixSocketTest, ALongPathInAMissingDirectoryNamesIt) {
  const std::string path = temp_.path() + "/" + std::string(120, 'm') + "/s.sock";
  Result<UniqueFd> client = ConnectUnix(path);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kNotFound);
  EXPECT_NE(client.status().message().find(path), std::string::npos) << client.status().message();
}

TEST_F(UnixSocketTest, NonBlockingSocketsOnALongPath) {
  const std::string dir = temp_.path() + "/" + std::string(120, 'n');
  ASSERT_TRUE(MakeDirs(dir).ok());
  const std::string path = dir + "/s.sock";
  Result<UniqueFd> listener = ListenUnix(path, 1, SOCK_NONBLOCK);
  ASSERT_TRUE(listener.ok()) << listener.status().message();
  Result<UniqueFd> client = ConnectUnix(path, SOCK_NONBLOCK);
  ASSERT_TRUE(client.ok()) << client.status().message();
  EXPECT_TRUE(AcceptWithin(listener->get(), kAcceptLimit, path).ok());
}

}  // namespace
}  // namespace sandbox
