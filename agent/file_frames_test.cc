#include "agent/file_frames.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/base/temp_dir.h"
#include "common/base/unique_fd.h"

namespace sandbox::agent {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t TotalSize(const std::vector<PhysicalRange>& ranges) {
  uint64_t total = 0;
  for (const PhysicalRange& range : ranges) total += range.size;
  return total;
}

TEST(FileFramesTest, CoverEveryPageOfTheFileInAscendingApartRuns) {
  if (::geteuid() != 0) GTEST_SKIP() << "frame numbers need CAP_SYS_ADMIN";
  TempDir dir = TempDir::CreateOrDie("file-frames-test");
  const std::string path = dir.path() + "/file";
  UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(file.valid());
  const std::string bytes(5 * kPage + 100, 'x');  // a partial last page counts whole
  ASSERT_EQ(::write(file.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  Result<std::vector<PhysicalRange>> frames = FileFrames(file.get());
  ASSERT_TRUE(frames.ok()) << frames.status().message();
  EXPECT_EQ(TotalSize(*frames), 6 * kPage);
  for (size_t i = 0; i < frames->size(); ++i) {
    const PhysicalRange& range = (*frames)[i];
    EXPECT_NE(range.address, 0u);
    EXPECT_EQ(range.address % kPage, 0u);
    EXPECT_EQ(range.size % kPage, 0u);
    // Ascending, and never touching: adjacent runs are merged.
    if (i > 0) {
      EXPECT_GT(range.address, (*frames)[i - 1].address + (*frames)[i - 1].size);
    }
  }
}

TEST(FileFramesTest, RefusesWhatIsNotANonEmptyRegularFile) {
  TempDir dir = TempDir::CreateOrDie("file-frames-test");
  UniqueFd directory(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_EQ(FileFrames(directory.get()).status().code(), StatusCode::kInvalidArgument);
  const std::string path = dir.path() + "/empty";
  UniqueFd empty(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  EXPECT_EQ(FileFrames(empty.get()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(FileFrames(-1).ok());
}

TEST(LargestRangesTest, KeepsTheLargestInAddressOrder) {
  const std::vector<PhysicalRange> ranges = {
      {0x200000, 0x133000}, {0x1b93000, 0x4000}, {0x1c08000, 0x1f8000}, {0xf82d000, 0x173000}, {0xfe00000, 0x3000}};
  const std::vector<PhysicalRange> three = LargestRanges(ranges, 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].address, 0x200000u);
  EXPECT_EQ(three[1].address, 0x1c08000u);
  EXPECT_EQ(three[2].address, 0xf82d000u);
  EXPECT_EQ(LargestRanges(ranges, 9).size(), ranges.size());
  EXPECT_EQ(LargestRanges({{0x9000, 0x1000}, {0x1000, 0x1000}}, 2)[0].address, 0x1000u) << "sorted by address";
  EXPECT_TRUE(LargestRanges(ranges, 0).empty());
}

}  // namespace
}  // namespace sandbox::agent
