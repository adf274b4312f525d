#include "common/io/preserved_fds.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/base/temp_dir.h"
#include "common/base/unix_socket.h"

namespace sandbox {
namespace {

std::string ReadToEof(int fd) {
  std::string data;
  char buffer[256];
  ssize_t got;
  while ((got = ::read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, static_cast<size_t>(got));
  return data;
}

TEST(ClassifyPreservedFdTest, PipeEndsFlowOneWay) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  Result<FdAccess> reader = ClassifyPreservedFd(read_end.get());
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_TRUE(reader->readable);
  EXPECT_FALSE(reader->writable);
  Result<FdAccess> writer = ClassifyPreservedFd(write_end.get());
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  EXPECT_FALSE(writer->readable);
  EXPECT_TRUE(writer->writable);
}

TEST(ClassifyPreservedFdTest, ConnectedSocketFlowsBothWays) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd ours(fds[0]), theirs(fds[1]);
  Result<FdAccess> access = ClassifyPreservedFd(ours.get());
  ASSERT_TRUE(access.ok()) << access.status().message();
  EXPECT_TRUE(access->readable);
  EXPECT_TRUE(access->writable);
}

TEST(ClassifyPreservedFdTest, ReadOnlyFileIsAStreamIntoTheGuest) {
  UniqueFd file(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  Result<FdAccess> access = ClassifyPreservedFd(file.get());
  ASSERT_TRUE(access.ok()) << access.status().message();
  EXPECT_TRUE(access->readable);
  EXPECT_FALSE(access->writable);
}

TEST(ClassifyPreservedFdTest, RefusesWhatAStreamCannotStandFor) {
  const TempDir temp = TempDir::CreateOrDie("/tmp/preserved-fds-");
  const std::string dir = temp.path();

  UniqueFd directory(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  Result<FdAccess> refused = ClassifyPreservedFd(directory.get());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("is a directory"), std::string::npos) << refused.status().message();

  UniqueFd file(::open((dir + "/data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  refused = ClassifyPreservedFd(file.get());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("reading and writing"), std::string::npos) << refused.status().message();

  UniqueFd path_only(::open(dir.c_str(), O_PATH | O_CLOEXEC));
  refused = ClassifyPreservedFd(path_only.get());
  ASSERT_FALSE(refused.ok());

  Result<UniqueFd> listener = ListenUnix(dir + "/listen.sock", 1);
  ASSERT_TRUE(listener.ok()) << listener.status().message();
  refused = ClassifyPreservedFd(listener->get());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("listening socket"), std::string::npos) << refused.status().message();

  const int closed = ::fcntl(0, F_DUPFD_CLOEXEC, 100);
  ASSERT_GE(closed, 0);
  ::close(closed);
  refused = ClassifyPreservedFd(closed);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "fd " + std::to_string(closed) + " is not open");

}

TEST(ClassifyPreservedFdsTest, RefusesMoreThanTheLimit) {
  Result<std::vector<FdAccess>> refused = ClassifyPreservedFds(kMaxPreservedFds + 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--preserve-fds 33"), std::string::npos) << refused.status().message();
}

// A socket the caller preserved: bytes go both ways, and each direction's
// EOF reaches the other side on its own.
TEST(RelayPreservedFdTest, SocketRelaysBothWaysWithSeparateEofs) {
  int caller[2], stream[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, caller), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stream), 0);
  UniqueFd caller_end(caller[0]);
  UniqueFd guest_end(stream[1]);
  auto stop = std::make_shared<StopSignal>();
  OutputRelays output;
  RelayPreservedFd(UniqueFd(caller[1]), {.readable = true, .writable = true}, UniqueFd(stream[0]), output, stop);

  ASSERT_EQ(::write(caller_end.get(), "ping", 4), 4);
  ::shutdown(caller_end.get(), SHUT_WR);
  EXPECT_EQ(ReadToEof(guest_end.get()), "ping");  // the host's EOF arrived
  ASSERT_EQ(::write(guest_end.get(), "pong", 4), 4);
  ::shutdown(guest_end.get(), SHUT_WR);
  EXPECT_TRUE(output.WaitAll(std::chrono::seconds(10)));
  EXPECT_EQ(ReadToEof(caller_end.get()), "pong");
}

TEST(RelayPreservedFdTest, WriteOnlyFdGetsTheGuestsBytesOnly) {
  int pipe_fds[2], stream[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stream), 0);
  UniqueFd host_reader(pipe_fds[0]);
  UniqueFd guest_end(stream[1]);
  auto stop = std::make_shared<StopSignal>();
  {
    OutputRelays output;
    RelayPreservedFd(UniqueFd(pipe_fds[1]), {.readable = false, .writable = true}, UniqueFd(stream[0]), output, stop);
    ASSERT_EQ(::write(guest_end.get(), "out", 3), 3);
    ::shutdown(guest_end.get(), SHUT_WR);
    EXPECT_TRUE(output.WaitAll(std::chrono::seconds(10)));
  }
  EXPECT_EQ(ReadToEof(host_reader.get()), "out");  // the relay closed the pipe's only writer
}

}  // namespace
}  // namespace sandbox
