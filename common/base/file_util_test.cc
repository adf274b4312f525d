#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>
#include <vector>

namespace sandbox {
namespace {

class FileUtilTest : public ::testing::Test {
 protected:
  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-file-util-");
  const std::string dir_ = temp_.path();
};

TEST(TempDir, RemovesItsTreeUnlessReleased) {
  std::string kept;
  {
    TempDir gone = TempDir::CreateOrDie("/tmp/sandbox-tempdir-");
    ASSERT_TRUE(MakeDirs(gone.path() + "/a/b").ok());
    ASSERT_TRUE(WriteFileAtomic(gone.path() + "/a/b/f", "x").ok());
    kept = gone.path();
    TempDir moved = std::move(gone);
    EXPECT_EQ(moved.path(), kept);
  }
  EXPECT_FALSE(PathExists(kept));
  TempDir released = TempDir::CreateOrDie("/tmp/sandbox-tempdir-");
  kept = released.path();
  released.Release();
  EXPECT_TRUE(IsDirectory(kept));
  ASSERT_TRUE(RemoveTree(kept).ok());
  EXPECT_FALSE(TempDir::Create("/nonexistent/dir/x-").ok());
}

TEST_F(FileUtilTest, AtomicWriteThenRead) {
  std::string path = dir_ + "/state.json";
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600).ok());
  Result<std::string> content = ReadFile(path);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "second");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary files are left beside the target.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(FileUtilTest, ReadMissingFileNamesPath) {
  Result<std::string> content = ReadFile(dir_ + "/missing");
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.status().code(), StatusCode::kNotFound);
  EXPECT_NE(content.status().message().find(dir_ + "/missing"), std::string::npos);
}

TEST_F(FileUtilTest, AtomicWriteIntoMissingDirectoryFails) {
  Status status = WriteFileAtomic(dir_ + "/no/such/dir/file", "x");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no/such/dir"), std::string::npos);
}

TEST_F(FileUtilTest, MakeDirsAndRemoveTree) {
  std::string nested = dir_ + "/a/b/c";
  ASSERT_TRUE(MakeDirs(nested, 0711).ok());
  EXPECT_TRUE(IsDirectory(nested));
  ASSERT_TRUE(MakeDirs(nested).ok());  // idempotent
  ASSERT_TRUE(WriteFileAtomic(nested + "/f", "x").ok());
  EXPECT_FALSE(MakeDirs(nested + "/f").ok());
  ASSERT_TRUE(RemoveTree(dir_ + "/a").ok());
  EXPECT_FALSE(PathExists(dir_ + "/a"));
  EXPECT_TRUE(RemoveTree(dir_ + "/a").ok());  // missing is fine
}

TEST_F(FileUtilTest, FileLockSerialisesWriters) {
  std::string lock_path = dir_ + "/lock";
  std::string counter_path = dir_ + "/counter";
  ASSERT_TRUE(WriteFileAtomic(counter_path, "0").ok());
  auto increment = [&] {
    for (int i = 0; i < 50; ++i) {
      Result<FileLock> lock = FileLock::Acquire(lock_path);
      ASSERT_TRUE(lock.ok());
      int value = std::stoi(ReadFile(counter_path).value());
      ASSERT_TRUE(WriteFileAtomic(counter_path, std::to_string(value + 1)).ok());
    }
  };
  std::thread first(increment), second(increment);
  first.join();
  second.join();
  EXPECT_EQ(ReadFile(counter_path).value(), "100");
}

}  // namespace
}  // namespace sandbox
