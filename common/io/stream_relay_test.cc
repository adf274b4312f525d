#include "common/io/stream_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>
#include <thread>

namespace sandbox {
namespace {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe MakePipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string ReadAll(int fd) {
  std::string data;
  char buffer[8192];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got <= 0) return data;
    data.append(buffer, static_cast<size_t>(got));
  }
}

std::string RandomBytes(size_t size) {
  std::mt19937 generator(42);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(generator());
  return bytes;
}

TEST(StreamRelayTest, MovesOneMebibyteThroughASocketAndSignalsEof) {
  ::signal(SIGPIPE, SIG_IGN);
  Pipe input = MakePipe();
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  UniqueFd near(sockets[0]);
  UniqueFd far(sockets[1]);
  const std::string payload = RandomBytes(1 << 20);
  std::thread writer([&, fd = std::move(input.write)]() mutable {
    size_t sent = 0;
    while (sent < payload.size()) {
      const ssize_t put = ::write(fd.get(), payload.data() + sent, payload.size() - sent);
      ASSERT_GT(put, 0);
      sent += static_cast<size_t>(put);
    }
  });
  StopSignal stop;
  RelayThread relay(std::move(input.read), std::move(near), stop.fd());
  // The reader only gets EOF if the relay half-closed the socket after the source's EOF.
  const std::string received = ReadAll(far.get());
  writer.join();
  relay.Join();
  EXPECT_EQ(received.size(), payload.size());
  EXPECT_TRUE(received == payload);
}

TEST(StreamRelayTest, ReportsEofAndCountsBytes) {
  Pipe input = MakePipe();
  Pipe output = MakePipe();
  ASSERT_EQ(::write(input.write.get(), "hello", 5), 5);
  input.write.Reset();
  uint64_t bytes = 0;
  EXPECT_EQ(RelayStream(input.read.get(), output.write.get(), -1, &bytes), RelayEnd::kEof);
  EXPECT_EQ(bytes, 5u);
  output.write.Reset();
  EXPECT_EQ(ReadAll(output.read.get()), "hello");
}

TEST(StreamRelayTest, StopEndsARelayBlockedOnAQuietSource) {
  Pipe input = MakePipe();  // the write end stays open: no EOF ever comes
  Pipe output = MakePipe();
  StopSignal stop;
  std::thread stopper([&] { stop.Set(); });
  EXPECT_EQ(RelayStream(input.read.get(), output.write.get(), stop.fd()), RelayEnd::kStopped);
  stopper.join();
}

TEST(StreamRelayTest, AGoneReaderIsAnError) {
  ::signal(SIGPIPE, SIG_IGN);
  Pipe input = MakePipe();
  Pipe output = MakePipe();
  output.read.Reset();
  ASSERT_EQ(::write(input.write.get(), "x", 1), 1);
  EXPECT_EQ(RelayStream(input.read.get(), output.write.get(), -1), RelayEnd::kError);
}

}  // namespace
}  // namespace sandbox
