#include "common/oci/cgroups_path.h"

#include <gtest/gtest.h>

namespace sandbox::oci {
namespace {

TEST(CgroupRelativePathTest, PathsAndSystemdForm) {
  EXPECT_EQ(*CgroupRelativePath(std::nullopt, "sandbox/c1"), "sandbox/c1");
  EXPECT_EQ(*CgroupRelativePath(std::string(""), "sandbox/c1"), "sandbox/c1");
  EXPECT_EQ(*CgroupRelativePath(std::string("/kubepods/pod1/c1"), "x"), "kubepods/pod1/c1");
  EXPECT_EQ(*CgroupRelativePath(std::string("a/b"), "x"), "a/b");
  EXPECT_EQ(*CgroupRelativePath(std::string("system.slice:docker:abc"), "x"), "system.slice/docker-abc.scope");
  EXPECT_EQ(*CgroupRelativePath(std::string(":cri:abc"), "x"), "system.slice/cri-abc.scope");
}

TEST(CgroupRelativePathTest, EscapesAndNonsenseAreRefused) {
  for (const char* bad : {"/a/../../etc", "..", "/", "slice:only"}) {
    Result<std::string> path = CgroupRelativePath(std::string(bad), "x");
    ASSERT_FALSE(path.ok()) << bad;
    EXPECT_NE(path.status().message().find("linux.cgroupsPath"), std::string::npos);
  }
}

}  // namespace
}  // namespace sandbox::oci
