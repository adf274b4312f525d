#include "common/base/fd_passing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace sandbox {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.Reset(fds[0]);
    b.Reset(fds[1]);
  }
  UniqueFd a, b;
};

TEST(FdPassing, AnFdAndItsMessageArriveTogether) {
  SocketPair pair;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ASSERT_TRUE(SendWithFd(pair.a.get(), "/dev/pts/7", 10, write_end.get()).ok());
  char name[64] = {};
  Result<ReceivedFd> received = ReceiveWithFd(pair.b.get(), name, sizeof(name));
  ASSERT_TRUE(received.ok()) << received.status().message();
  EXPECT_EQ(std::string(name, received->bytes), "/dev/pts/7");
  ASSERT_TRUE(received->fd.valid());
  EXPECT_NE(received->fd.get(), write_end.get());
  EXPECT_EQ(::fcntl(received->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  // The same pipe: what goes in the received fd comes out of ours.
  ASSERT_EQ(::write(received->fd.get(), "x", 1), 1);
  char byte = 0;
  ASSERT_EQ(::read(read_end.get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
}

TEST(FdPassing, PlainBytesAndEofCarryNoFd) {
  SocketPair pair;
  ASSERT_EQ(::write(pair.a.get(), "hi", 2), 2);
  char buffer[8];
  Result<ReceivedFd> received = ReceiveWithFd(pair.b.get(), buffer, sizeof(buffer));
  ASSERT_TRUE(received.ok());
  EXPECT_EQ(received->bytes, 2u);
  EXPECT_FALSE(received->fd.valid());
  pair.a.Reset();
  received = ReceiveWithFd(pair.b.get(), buffer, sizeof(buffer));
  ASSERT_TRUE(received.ok());
  EXPECT_EQ(received->bytes, 0u);
}

TEST(FdPassing, MoreThanOneFdIsRefusedAndNoneLeaks) {
  SocketPair pair;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_TRUE(SendWithFds(pair.a.get(), "m", 1, fds).ok());
  ::close(fds[0]);
  ::close(fds[1]);
  // The lowest free fd number before and after: unchanged if nothing leaked.
  const int probe_before = ::dup(0);
  ::close(probe_before);
  char buffer[4];
  Result<ReceivedFd> received = ReceiveWithFd(pair.b.get(), buffer, sizeof(buffer));
  EXPECT_FALSE(received.ok());
  const int probe_after = ::dup(0);
  ::close(probe_after);
  EXPECT_EQ(probe_before, probe_after);
}

TEST(FdPassing, SeveralFdsArriveInOrder) {
  SocketPair pair;
  int first[2], second[2];
  ASSERT_EQ(::pipe2(first, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(second, O_CLOEXEC), 0);
  UniqueFd first_read(first[0]), first_write(first[1]), second_read(second[0]), second_write(second[1]);
  const int sent[] = {first_write.get(), second_write.get()};
  ASSERT_TRUE(SendWithFds(pair.a.get(), "two", 3, sent).ok());
  char buffer[4];
  Result<ReceivedFds> received = ReceiveWithFds(pair.b.get(), buffer, sizeof(buffer));
  ASSERT_TRUE(received.ok()) << received.status().message();
  EXPECT_EQ(received->bytes, 3u);
  ASSERT_EQ(received->fds.size(), 2u);
  UniqueFd got_first = std::move(received->fds[0]), got_second = std::move(received->fds[1]);
  ASSERT_EQ(::write(got_second.get(), "2", 1), 1);
  ASSERT_EQ(::write(got_first.get(), "1", 1), 1);
  char byte = 0;
  ASSERT_EQ(::read(first_read.get(), &byte, 1), 1);
  EXPECT_EQ(byte, '1');
  ASSERT_EQ(::read(second_read.get(), &byte, 1), 1);
  EXPECT_EQ(byte, '2');
}

TEST(FdPassing, NothingToReadWithoutWaitingSaysSo) {
  SocketPair pair;
  char buffer[4];
  Result<ReceivedFds> received = ReceiveWithFds(pair.b.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
  ASSERT_TRUE(received.ok());
  EXPECT_TRUE(received->would_block);
  EXPECT_TRUE(received->fds.empty());
}

TEST(FdPassing, TooManyFdsAreRefused) {
  SocketPair pair;
  const std::vector<int> fds(kMaxPassedFds + 1, 0);
  EXPECT_EQ(SendWithFds(pair.a.get(), "x", 1, fds).code(), StatusCode::kInvalidArgument);
}

TEST(FdPassing, AnEmptyMessageCannotCarryAnFd) {
  SocketPair pair;
  EXPECT_EQ(SendWithFd(pair.a.get(), "", 0, 0).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sandbox
