#include "common/io/process_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace sandbox {
namespace {

std::pair<UniqueFd, UniqueFd> Pipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A guest stream connection is a stream socket: two ends.
std::pair<UniqueFd, UniqueFd> Stream() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string ReadAll(int fd) {
  std::string data;
  char buffer[4096];
  ssize_t got;
  while ((got = ::read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, static_cast<size_t>(got));
  return data;
}

bool Readable(int fd, int timeout_ms) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, timeout_ms) == 1;
}

TEST(ProcessRelay, RelaysStdioBothWaysAndDrainsOutput) {
  auto [stdin_read, stdin_write] = Pipe();     // the caller's stdin
  auto [stdout_read, stdout_write] = Pipe();   // the caller's stdout
  auto [guest_in_host, guest_in] = Stream();   // host end, "guest" end
  auto [guest_out_host, guest_out] = Stream();
  ProcessStreamEnds host, guest;
  host.stdio[0] = std::move(stdin_read);
  host.stdio[1] = std::move(stdout_write);
  guest.stdio[0] = std::move(guest_in_host);
  guest.stdio[1] = std::move(guest_out_host);
  ProcessRelay relay(std::move(host), std::move(guest), {});

  ASSERT_EQ(::write(stdin_write.get(), "in", 2), 2);
  stdin_write.Reset();
  EXPECT_EQ(ReadAll(guest_in.get()), "in") << "stdin reaches the guest, and its EOF too";
  ASSERT_EQ(::write(guest_out.get(), "out", 3), 3);
  guest_out.Reset();
  relay.Drain();
  EXPECT_EQ(ReadAll(stdout_read.get()), "out") << "output drained, and the caller's end closed";
}

TEST(ProcessRelay, ADrainStopsOutputThatNeverEnds) {
  auto [stdout_read, stdout_write] = Pipe();
  auto [guest_out_host, guest_out] = Stream();
  ProcessStreamEnds host, guest;
  host.stdio[1] = std::move(stdout_write);
  guest.stdio[1] = std::move(guest_out_host);
  ProcessRelay relay(std::move(host), std::move(guest), {});
  const auto started = std::chrono::steady_clock::now();
  relay.Drain();  // the guest end stays open
  EXPECT_GE(std::chrono::steady_clock::now() - started, kOutputDrainLimit);
  EXPECT_EQ(ReadAll(stdout_read.get()), "") << "the stopped relay closed the caller's end";
}

TEST(BackgroundWait, ItsFdTurnsReadableWithTheResult) {
  BackgroundWait wait([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return Result<int>(7);
  });
  EXPECT_TRUE(Readable(wait.done_fd(), 5000));
  Result<int> status = wait.Join();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, 7);

  BackgroundWait failed([] { return Result<int>(Unavailable("the agent went away")); });
  EXPECT_EQ(failed.Join().status().message(), "the agent went away");
}

TEST(BackgroundWait, AnAbandonedWaitOutlivesItsOwner) {
  auto release = std::make_shared<std::pair<UniqueFd, UniqueFd>>(Pipe());
  {
    BackgroundWait wait([release] {
      char byte;
      (void)!::read(release->first.get(), &byte, 1);
      return Result<int>(0);
    });
    EXPECT_FALSE(Readable(wait.done_fd(), 20));
    wait.Abandon();
  }  // no join: the owner is gone while the wait blocks
  release->second.Reset();  // ends the abandoned thread's read
}

}  // namespace
}  // namespace sandbox
