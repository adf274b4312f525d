#include "agent/self_executable.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base/file_util.h"

namespace sandbox::agent {
namespace {

TEST(SealedSelfExecutable, IsAByteForByteSealedCopyOfThisProgram) {
  Result<UniqueFd> copy = SealedSelfExecutable();
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  const int seals = ::fcntl(copy->get(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
            F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  EXPECT_TRUE(::fcntl(copy->get(), F_GETFD) & FD_CLOEXEC);
  struct stat copied{}, original{};
  ASSERT_EQ(::fstat(copy->get(), &copied), 0);
  ASSERT_EQ(::stat("/proc/self/exe", &original), 0);
  EXPECT_EQ(copied.st_size, original.st_size);
  // Nobody, root included, can change what the next init executes.
  EXPECT_EQ(::pwrite(copy->get(), "x", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::ftruncate(copy->get(), 0), 0);
  // Not through a new open file description either (root may open it).
  UniqueFd reopened(::open(("/proc/self/fd/" + std::to_string(copy->get())).c_str(), O_RDWR | O_CLOEXEC));
  if (reopened.valid()) {
    EXPECT_EQ(::write(reopened.get(), "x", 1), -1);
    EXPECT_EQ(errno, EPERM);
  }
}

TEST(SealedSelfExecutable, ExecutesWithoutAPath) {
  Result<UniqueFd> copy = SealedSelfExecutable();
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // This test binary again, listing one test: exit 0 proves it ran.
    char arg0[] = "self";
    char arg1[] = "--gtest_list_tests";
    char* argv[] = {arg0, arg1, nullptr};
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    char* envp[] = {nullptr};
    ExecuteFd(copy->get(), argv, envp);
    ::_exit(99);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SealedSelfExecutable, ExecuteFdReturnsOnABadFd) {
  char arg0[] = "none";
  char* argv[] = {arg0, nullptr};
  char* envp[] = {nullptr};
  ExecuteFd(-1, argv, envp);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace sandbox::agent
