#include "common/io/stream_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

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

// One MiB from a pipe through a RelayThread to a socket, in the writer's
// chunks of `chunk` bytes; the reader only gets EOF if the relay half-closed
// the socket after the source's EOF.
void MoveOneMebibyte(Coalescing coalescing, size_t chunk) {
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
      const ssize_t put = ::write(fd.get(), payload.data() + sent, std::min(chunk, payload.size() - sent));
      ASSERT_GT(put, 0);
      sent += static_cast<size_t>(put);
    }
  });
  StopSignal stop;
  RelayThread relay(std::move(input.read), std::move(near), stop.fd(), coalescing);
  const std::string received = ReadAll(far.get());
  writer.join();
  relay.Join();
  EXPECT_EQ(received.size(), payload.size());
  EXPECT_TRUE(received == payload);
}

TEST(StreamRelayTest, MovesOneMebibyteThroughASocketAndSignalsEof) { MoveOneMebibyte({}, 1 << 20); }

TEST(StreamRelayTest, MovesOneMebibyteInSmallChunksWhileCoalescing) {
  MoveOneMebibyte({.window = std::chrono::milliseconds(2), .timer_slack = std::chrono::milliseconds(10)}, 4096);
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

// A socket that keeps each write a message of its own, so a test can count
// the relay's writes.
struct MessageSocket {
  UniqueFd relay_end;
  UniqueFd reader_end;
};

MessageSocket MakeMessageSocket() {
  int sockets[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets), 0);
  return {UniqueFd(sockets[0]), UniqueFd(sockets[1])};
}

// The messages until EOF.
std::vector<std::string> ReadMessages(int fd) {
  std::vector<std::string> messages;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got <= 0) return messages;
    messages.emplace_back(buffer, static_cast<size_t>(got));
  }
}

TEST(StreamRelayTest, WithoutCoalescingEachReadIsAWrite) {
  Pipe input = MakePipe();
  MessageSocket output = MakeMessageSocket();
  ASSERT_EQ(::write(input.write.get(), "a", 1), 1);
  std::thread relay([&] { RelayStream(input.read.get(), output.relay_end.get(), -1); });
  char first[8];
  ASSERT_EQ(::read(output.reader_end.get(), first, sizeof(first)), 1);  // "a" left on its own
  ASSERT_EQ(::write(input.write.get(), "b", 1), 1);
  input.write.Reset();
  relay.join();
  output.relay_end.Reset();
  EXPECT_EQ(ReadMessages(output.reader_end.get()), std::vector<std::string>{"b"});
}

TEST(StreamRelayTest, CoalescingGathersBulkOutputInFlow) {
  Pipe input = MakePipe();
  MessageSocket output = MakeMessageSocket();
  uint64_t bytes = 0;
  RelayEnd end = RelayEnd::kError;
  // A window far longer than the test: the source's EOF is what ends it.
  std::thread relay([&] {
    end = RelayStream(input.read.get(), output.relay_end.get(), -1, &bytes, std::chrono::seconds(60));
  });
  const std::string page(4096, 'x');
  std::vector<std::string> pieces = {"prompt> ", page, page, page, "tail"};
  for (const std::string& piece : pieces) {
    ASSERT_EQ(::write(input.write.get(), piece.data(), piece.size()), static_cast<ssize_t>(piece.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the relay reads each piece on its own
  }
  input.write.Reset();
  relay.join();
  EXPECT_EQ(end, RelayEnd::kEof);
  EXPECT_EQ(bytes, 8u + 3 * 4096 + 4);
  output.relay_end.Reset();
  // The prompt is short and went at once; the first page, read within the
  // window of that write, was bulk in flow and waited for the rest until EOF.
  const std::vector<std::string> messages = ReadMessages(output.reader_end.get());
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], "prompt> ");
  EXPECT_EQ(messages[1], page + page + page + "tail");
}

TEST(StreamRelayTest, CoalescingWritesShortReadsAtOnce) {
  Pipe input = MakePipe();
  MessageSocket output = MakeMessageSocket();
  std::thread relay([&] {
    RelayStream(input.read.get(), output.relay_end.get(), -1, nullptr, std::chrono::seconds(60));
  });
  char message[16];
  for (const char* line : {"one\n", "two\n", "three\n"}) {
    // A reply to each line, as a protocol's peer would wait for.
    ASSERT_EQ(::write(input.write.get(), line, std::strlen(line)), static_cast<ssize_t>(std::strlen(line)));
    ASSERT_EQ(::read(output.reader_end.get(), message, sizeof(message)), static_cast<ssize_t>(std::strlen(line)));
  }
  input.write.Reset();
  relay.join();
}

TEST(StreamRelayTest, CoalescingWritesWhatItHasOnceTheWindowPasses) {
  Pipe input = MakePipe();
  MessageSocket output = MakeMessageSocket();
  std::thread relay([&] {
    RelayStream(input.read.get(), output.relay_end.get(), -1, nullptr, std::chrono::milliseconds(500));
  });
  const std::string page(4096, 'p');
  std::vector<char> message(1 << 16);
  ASSERT_EQ(::write(input.write.get(), page.data(), page.size()), 4096);
  ASSERT_EQ(::read(output.reader_end.get(), message.data(), message.size()), 4096);  // after a pause: at once
  ASSERT_EQ(::write(input.write.get(), page.data(), page.size()), 4096);
  // The writer stays open and quiet: the window, not more data, sends the page.
  ASSERT_EQ(::read(output.reader_end.get(), message.data(), message.size()), 4096);
  ASSERT_EQ(::write(input.write.get(), "late", 4), 4);
  input.write.Reset();
  relay.join();
  output.relay_end.Reset();
  EXPECT_EQ(ReadMessages(output.reader_end.get()), std::vector<std::string>{"late"});
}

TEST(StreamRelayTest, CoalescingStillStopsAndFillsAtMostItsBuffer) {
  Pipe input = MakePipe();
  MessageSocket output = MakeMessageSocket();
  int size = 1 << 20;
  ASSERT_GE(::fcntl(input.write.get(), F_SETPIPE_SZ, size), 1 << 17);
  const std::string payload = RandomBytes(100'000);
  ASSERT_EQ(::write(input.write.get(), payload.data(), payload.size()), static_cast<ssize_t>(payload.size()));
  StopSignal stop;
  RelayEnd end = RelayEnd::kError;
  std::thread relay([&] {
    end = RelayStream(input.read.get(), output.relay_end.get(), stop.fd(), nullptr, std::chrono::seconds(60));
  });
  char buffer[1 << 17];
  // The first write is one full buffer (64 KiB), the rest waits for more.
  EXPECT_EQ(::read(output.reader_end.get(), buffer, sizeof(buffer)), 64 * 1024);
  stop.Set();
  relay.join();
  EXPECT_EQ(end, RelayEnd::kStopped);
}

}  // namespace
}  // namespace sandbox
