#include "shim/runtime/process_identity.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox::shim {
namespace {

TEST(ProcessIdentityTest, IdentityRoundTripsAndRejectsGarbage) {
  Result<ProcessIdentity> parsed = ParseIdentity(FormatIdentity({.pid = 42, .start_time = 12345}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->pid, 42);
  EXPECT_EQ(parsed->start_time, 12345u);
  EXPECT_FALSE(ParseIdentity("").ok());
  EXPECT_FALSE(ParseIdentity("-3 1").ok());
  EXPECT_FALSE(ParseIdentity("abc").ok());
}

TEST(ProcessIdentityTest, SelfIsRunningAndReadsBackFromItsFile) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-identity-");
  const ProcessIdentity self = SelfIdentity();
  EXPECT_EQ(self.pid, ::getpid());
  EXPECT_TRUE(IsRunning(self));
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/self.pid", FormatIdentity(self)).ok());
  const std::optional<ProcessIdentity> read = ReadIdentity(dir.path() + "/self.pid");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->pid, self.pid);
  EXPECT_EQ(read->start_time, self.start_time);
  EXPECT_FALSE(ReadIdentity(dir.path() + "/missing.pid").has_value());
}

TEST(ProcessIdentityTest, ARecycledPidIsNotTheSameProcess) {
  const pid_t self = ::getpid();
  const std::optional<uint64_t> start = ProcessStartTime(self);
  ASSERT_TRUE(start.has_value());
  EXPECT_TRUE(IsRunning({.pid = self, .start_time = *start}));
  EXPECT_FALSE(IsRunning({.pid = self, .start_time = *start + 1}));
}

TEST(ProcessIdentityTest, AnExitedChildIsGoneEvenBeforeItIsReaped) {
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(go[1]);
    char byte;
    (void)!::read(go[0], &byte, 1);
    ::_exit(0);
  }
  ::close(go[0]);
  const ProcessIdentity identity{.pid = child, .start_time = ProcessStartTime(child).value_or(0)};
  EXPECT_TRUE(IsRunning(identity));
  EXPECT_FALSE(WaitForExit(identity, std::chrono::milliseconds(50)));
  ::close(go[1]);  // lets it exit
  EXPECT_TRUE(WaitForExit(identity, std::chrono::seconds(10)));
  EXPECT_FALSE(IsRunning(identity));  // a zombie now
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
}

TEST(ProcessIdentityTest, KillAndWaitEndsAProcess) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const ProcessIdentity identity{.pid = child, .start_time = ProcessStartTime(child).value_or(0)};
  KillAndWait(identity);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

}  // namespace
}  // namespace sandbox::shim
