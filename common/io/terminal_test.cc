#include "common/io/terminal.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/io/resize_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <string>

namespace sandbox {
namespace {

// Reads what is available within `ms` milliseconds.
std::string ReadFor(int fd, int ms) {
  std::string data;
  pollfd ready{fd, POLLIN, 0};
  while (::poll(&ready, 1, ms) == 1) {
    char buffer[256];
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got <= 0) break;
    data.append(buffer, static_cast<size_t>(got));
  }
  return data;
}

TEST(Terminal, APairCarriesBytesAndSharesItsWindowSize) {
  Result<PtyPair> pty = OpenPty();
  ASSERT_TRUE(pty.ok()) << pty.status().message();
  EXPECT_TRUE(pty->slave_name.starts_with("/dev/pts/")) << pty->slave_name;
  EXPECT_TRUE(::isatty(pty->slave.get()));
  EXPECT_EQ(::fcntl(pty->master.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(::fcntl(pty->slave.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ASSERT_TRUE(SetWindowSize(pty->master.get(), {.rows = 33, .columns = 111}).ok());
  Result<WindowSize> size = GetWindowSize(pty->slave.get());
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->rows, 33);
  EXPECT_EQ(size->columns, 111);
  // Cooked mode: output "\n" becomes "\r\n".
  ASSERT_EQ(::write(pty->slave.get(), "a\n", 2), 2);
  EXPECT_EQ(ReadFor(pty->master.get(), 500), "a\r\n");
}

TEST(Terminal, RawModeStopsOutputProcessingAndIsRestored) {
  Result<PtyPair> pty = OpenPty();
  ASSERT_TRUE(pty.ok());
  {
    Result<RawTerminalMode> raw = RawTerminalMode::Enter(pty->slave.get());
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(::write(pty->slave.get(), "b\n", 2), 2);
    EXPECT_EQ(ReadFor(pty->master.get(), 500), "b\n");
  }
  ASSERT_EQ(::write(pty->slave.get(), "c\n", 2), 2);
  EXPECT_EQ(ReadFor(pty->master.get(), 500), "c\r\n");
}

TEST(Terminal, NotATerminalIsAnError) {
  EXPECT_FALSE(OpenPty("/dev/null").ok());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  EXPECT_FALSE(GetWindowSize(a.get()).ok());
  EXPECT_FALSE(MakeRaw(a.get()).ok());
  EXPECT_FALSE(RawTerminalMode::Enter(a.get()).ok());
}

TEST(ResizeWatcher, RunsAtStartAndOnEachSigwinch) {
  Result<std::unique_ptr<ResizeWatcher>> watcher = ResizeWatcher::Create();
  ASSERT_TRUE(watcher.ok()) << watcher.status().message();
  std::atomic<int> calls = 0;
  (*watcher)->Start([&] { ++calls; });
  EXPECT_EQ(calls.load(), 1);
  ASSERT_EQ(::kill(::getpid(), SIGWINCH), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (calls.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(calls.load(), 2);
  watcher->reset();
  sigset_t blocked;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &blocked);
  EXPECT_FALSE(::sigismember(&blocked, SIGWINCH)) << "unblocked again";
}

}  // namespace
}  // namespace sandbox
