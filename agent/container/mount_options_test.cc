#include "agent/container/mount_options.h"

#include <gtest/gtest.h>
#include <linux/mount.h>
#include <sys/mount.h>

#include "common/oci/names.h"

namespace sandbox::agent {
namespace {

MountPlan Parse(const std::vector<std::string>& options) {
  auto plan = ParseMountOptions(options);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return plan.value_or(MountPlan{});
}

TEST(MountOptionsTest, FlagsSetAndClearInOrder) {
  MountPlan plan = Parse({"nosuid", "noexec", "nodev", "ro", "rw", "relatime"});
  EXPECT_EQ(plan.flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME);
  EXPECT_EQ(Parse({"ro", "defaults"}).flags, static_cast<unsigned long>(MS_RDONLY));
}

TEST(MountOptionsTest, UnknownWordsBecomeFilesystemData) {
  MountPlan plan = Parse({"nosuid", "mode=755", "size=65536k", "newinstance"});
  EXPECT_EQ(plan.data, "mode=755,size=65536k,newinstance");
  EXPECT_EQ(plan.flags, static_cast<unsigned long>(MS_NOSUID));
}

TEST(MountOptionsTest, BindAndReadOnlyBindNeedsARemount) {
  MountPlan plain = Parse({"bind"});
  EXPECT_TRUE(plain.bind);
  EXPECT_FALSE(plain.recursive_bind);
  EXPECT_FALSE(plain.NeedsBindRemount());
  MountPlan read_only = Parse({"rbind", "ro"});
  EXPECT_TRUE(read_only.recursive_bind);
  EXPECT_TRUE(read_only.NeedsBindRemount());
  EXPECT_FALSE(Parse({"ro"}).NeedsBindRemount()) << "not a bind mount";
}

TEST(MountOptionsTest, PropagationTakesTheLastWord) {
  EXPECT_EQ(Parse({"rshared"}).propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_EQ(Parse({"shared", "private"}).propagation, static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(Parse({"runbindable"}).propagation, static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
}

TEST(MountOptionsTest, RecursiveAttributesGoToMountSetattr) {
  MountPlan plan = Parse({"rbind", "rro", "rnosuid", "rnoexec"});
  EXPECT_EQ(plan.recursive_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  EXPECT_EQ(plan.flags, 0u);
  MountPlan cleared = Parse({"rro", "rrw"});
  EXPECT_EQ(cleared.recursive_set, 0u);
  EXPECT_EQ(cleared.recursive_clear, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
}

TEST(MountOptionsTest, EveryAdvertisedOptionIsInterpreted) {
  // `sandbox-rt features` lists these as understood: none may fall through to data.
  for (const std::string& option : oci::MountOptions()) {
    MountPlan plan = Parse({option});
    EXPECT_TRUE(plan.data.empty()) << option << " was passed through as filesystem data";
  }
}

TEST(MountOptionsTest, RejectsAnEmptyOption) {
  auto plan = ParseMountOptions({"ro", ""});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("options[1]"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::agent
