#include "common/base/root_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox {
namespace {

class RootPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeDirs(root_ + "/etc").ok());
    root_fd_ = UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_.valid());
  }
  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-root-path-");
  const std::string root_ = temp_.path() + "/root";
  UniqueFd root_fd_;
};

TEST_F(RootPathTest, MakesDirectoriesAndAFileMountPoint) {
  ASSERT_TRUE(MakeInRoot(root_fd_.get(), "/a/b/c", false).ok());
  EXPECT_TRUE(IsDirectory(root_ + "/a/b/c"));
  ASSERT_TRUE(MakeInRoot(root_fd_.get(), "/etc/hosts", true).ok());
  struct stat info {};
  ASSERT_EQ(::stat((root_ + "/etc/hosts").c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  // Existing paths are fine, and are opened rather than replaced.
  EXPECT_TRUE(MakeInRoot(root_fd_.get(), "/a/b", false).ok());
}

TEST_F(RootPathTest, SymlinksStayInsideTheRoot) {
  const std::string outside = temp_.path() + "/outside";
  ASSERT_TRUE(MakeDirs(outside).ok());
  ASSERT_EQ(::symlink(outside.c_str(), (root_ + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink("../../..", (root_ + "/up").c_str()), 0);
  ASSERT_TRUE(MakeInRoot(root_fd_.get(), "/up/made", false).ok());
  EXPECT_TRUE(IsDirectory(root_ + "/made"));  // "../../.." resolved to the root
  // An absolute link is taken relative to the root: nothing appears outside.
  auto made = MakeInRoot(root_fd_.get(), "/escape/x", false);
  EXPECT_FALSE(PathExists(outside + "/x"));
  if (made.ok()) {
    EXPECT_TRUE(IsDirectory(root_ + outside + "/x"));
  }
}

TEST_F(RootPathTest, RefusesDotDotAndNamesThePath) {
  auto refused = MakeInRoot(root_fd_.get(), "/a/../../x", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("/a/../../x"), std::string::npos) << refused.status().message();
  EXPECT_EQ(OpenInRoot(root_fd_.get(), "/missing", O_PATH).status().code(), StatusCode::kNotFound);
}

TEST(IsAtOrUnder, ComparesWholeComponents) {
  EXPECT_TRUE(IsAtOrUnder("/dev/shm", "/dev"));
  EXPECT_TRUE(IsAtOrUnder("/dev", "/dev/"));
  EXPECT_TRUE(IsAtOrUnder("//dev/./pts", "/dev"));
  EXPECT_TRUE(IsAtOrUnder("/anything", "/"));
  EXPECT_FALSE(IsAtOrUnder("/devices", "/dev"));
  EXPECT_FALSE(IsAtOrUnder("/dev", "/dev/shm"));
}

}  // namespace
}  // namespace sandbox
