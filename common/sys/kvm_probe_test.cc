#include "common/sys/kvm_probe.h"
#include "common/base/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace sandbox {
namespace {

TEST(KvmProbe, ClassifiesModuleLists) {
  using List = std::vector<std::string>;
  EXPECT_EQ(ClassifyKvmModules(List{}), KvmKind::kNone);
  EXPECT_EQ(ClassifyKvmModules(List{"loop", "kvm_intel", "kvm"}), KvmKind::kIntel);
  EXPECT_EQ(ClassifyKvmModules(List{"kvm", "kvm_amd"}), KvmKind::kAmd);
  EXPECT_EQ(ClassifyKvmModules(List{"kvm", "kvm_pvm"}), KvmKind::kPvm);
  EXPECT_EQ(ClassifyKvmModules(List{"kvm"}), KvmKind::kUnknown);
  // A module merely named like kvm is not kvm.
  EXPECT_EQ(ClassifyKvmModules(List{"kvmgt"}), KvmKind::kNone);
}

TEST(KvmProbe, LoadedModulesListsTheDirectory) {
  TempDir temp = TempDir::CreateOrDie("/tmp/sandbox-modules-");
  const std::string& dir = temp.path();
  ASSERT_EQ(::mkdir((dir + "/kvm").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir + "/kvm_amd").c_str(), 0755), 0);
  std::vector<std::string> modules = LoadedModules(dir);
  std::sort(modules.begin(), modules.end());
  EXPECT_EQ(modules, (std::vector<std::string>{"kvm", "kvm_amd"}));
  EXPECT_TRUE(LoadedModules(dir + "/missing").empty());
}

TEST(KvmProbe, MissingDeviceNamesIt) {
  Result<KvmProbe> probe = ProbeKvm("/nonexistent/kvm");
  ASSERT_FALSE(probe.ok());
  EXPECT_NE(probe.status().message().find("/nonexistent/kvm"), std::string::npos);
}

}  // namespace
}  // namespace sandbox
