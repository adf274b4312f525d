#include "agent/self_executable.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base/file_util.h"

namespace sandbox::agent {
namespace {

// This test binary, executed from `fd` listing its tests: true when it ran.
bool RunsFromFd(int fd) {
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    char arg0[] = "self";
    char arg1[] = "--gtest_list_tests";
    char* argv[] = {arg0, arg1, nullptr};
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    char* envp[] = {nullptr};
    ExecuteFd(fd, argv, envp);
    ::_exit(99);
  }
  int status = 0;
  return ::waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

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
  EXPECT_TRUE(RunsFromFd(copy->get()));
}

// An empty directory for the overlay's second layer, removed at the end.
class EmptyDir {
 public:
  EmptyDir() {
    char pattern[] = "/tmp/self-executable-test.XXXXXX";
    if (::mkdtemp(pattern) != nullptr) path_ = pattern;
  }
  ~EmptyDir() {
    if (!path_.empty()) ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ReadOnlySelfExecutable, ExecutesAndCannotBeWrittenThrough) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting an overlay needs root";
  EmptyDir empty;
  ASSERT_FALSE(empty.path().empty());
  Result<UniqueFd> self = ReadOnlySelfExecutable(empty.path());
  ASSERT_TRUE(self.ok()) << self.status().message();
  EXPECT_TRUE(::fcntl(self->get(), F_GETFD) & FD_CLOEXEC);
  struct stat opened{}, original{};
  ASSERT_EQ(::fstat(self->get(), &opened), 0);
  ASSERT_EQ(::stat("/proc/self/exe", &original), 0);
  EXPECT_EQ(opened.st_size, original.st_size);
  EXPECT_TRUE(RunsFromFd(self->get()));
  // Root included: the overlay has no upper layer to write to.
  UniqueFd writable(::open(("/proc/self/fd/" + std::to_string(self->get())).c_str(), O_WRONLY | O_CLOEXEC));
  EXPECT_FALSE(writable.valid());
  EXPECT_EQ(errno, EROFS);
  // The overlay is mounted nowhere.
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").value_or("").find("lowerdir="), std::string::npos);
}

TEST(ReadOnlySelfExecutable, AMissingLayerIsAnErrorNamingIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting an overlay needs root";
  Result<UniqueFd> self = ReadOnlySelfExecutable("/nonexistent/empty-layer");
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.status().message().find("/nonexistent/empty-layer"), std::string::npos) << self.status().message();
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
