#include "shim/microvm/host_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox::shim {
namespace {

TEST(VmmExitedCheckTest, SaysNoWhileTheFileIsMissingOrItsProcessRuns) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-host-process-");
  const std::string file = dir.path() + "/vmm.pid";
  const std::function<bool()> exited = VmmExitedCheck(file);
  EXPECT_FALSE(exited()) << "no file: a VMM still starting";
  ASSERT_TRUE(WriteFileAtomic(file, FormatIdentity(SelfIdentity())).ok());
  EXPECT_FALSE(exited());
}

TEST(VmmExitedCheckTest, SaysYesOnceItsProcessHasExited) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-host-process-");
  const std::string file = dir.path() + "/vmm.pid";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_TRUE(WriteFileAtomic(file, FormatIdentity({.pid = child, .start_time = *ProcessStartTime(child)})).ok());
  const std::function<bool()> exited = VmmExitedCheck(file);
  EXPECT_FALSE(exited());
  ::kill(child, SIGKILL);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(exited()) << "a zombie has exited";
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(exited()) << "and a reaped one";
}

}  // namespace
}  // namespace sandbox::shim
