#include "shim/runtime/host_check.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox::shim {
namespace {

const HostCheck& Find(const HostReport& report, const std::string& name) {
  for (const HostCheck& check : report.checks) {
    if (check.name == name) return check;
  }
  static HostCheck missing{.name = "missing", .verdict = Verdict::kFail, .detail = "", .remedy = ""};
  ADD_FAILURE() << "no check named " << name;
  return missing;
}

TEST(HostCheck, MissingEverythingFailsWithRemedies) {
  HostReport report = CheckHost({.kvm_device = "/nonexistent/kvm",
                                 .sys_module_dir = "/nonexistent/modules",
                                 .cgroup_root = "/nonexistent/cgroup",
                                 .guest_dir = "/nonexistent/guest",
                                 .vmm_path = "/nonexistent/sandbox-vmm",
                                 .path_env = "/nonexistent/bin",
                                 .virtiofsd_path = "/nonexistent/virtiofsd"});
  EXPECT_FALSE(report.ready);
  for (const char* name : {"kvm", "kvm-api", "guest-kernel", "guest-initramfs", "sandbox-vmm"}) {
    const HostCheck& check = Find(report, name);
    EXPECT_EQ(check.verdict, Verdict::kFail) << name;
    EXPECT_FALSE(check.remedy.empty()) << name;
  }
  EXPECT_EQ(Find(report, "test-host").verdict, Verdict::kWarn);
  EXPECT_EQ(Find(report, "cgroup").verdict, Verdict::kWarn);
  const HostCheck& virtiofsd = Find(report, "virtiofsd");
  EXPECT_EQ(virtiofsd.verdict, Verdict::kWarn) << "only bind mounts need it";
  EXPECT_NE(virtiofsd.remedy.find("qemu-system-common"), std::string::npos);
}

TEST(HostCheck, PvmIsAWarningPointingAtTheTestHost) {
  TempDir temp = TempDir::CreateOrDie("/tmp/sandbox-hostcheck-");
  const std::string& dir = temp.path();
  ASSERT_TRUE(MakeDirs(dir + "/modules/kvm").ok());
  ASSERT_TRUE(MakeDirs(dir + "/modules/kvm_pvm").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/kvm", "").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/vmlinux", "").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/initramfs.img", "").ok());
  HostReport report = CheckHost({.kvm_device = dir + "/kvm",
                                 .sys_module_dir = dir + "/modules",
                                 .cgroup_root = "/sys/fs/cgroup",
                                 .guest_dir = dir,
                                 .vmm_path = "",
                                 .path_env = ""});
  const HostCheck& kvm = Find(report, "kvm");
  EXPECT_EQ(kvm.verdict, Verdict::kWarn);
  EXPECT_NE(kvm.detail.find("PVM"), std::string::npos);
  EXPECT_NE(kvm.remedy.find("tests/testhost/run.sh"), std::string::npos);
  EXPECT_EQ(Find(report, "guest-kernel").verdict, Verdict::kOk);
  EXPECT_EQ(Find(report, "guest-initramfs").verdict, Verdict::kOk);
  // A plain file is not a KVM device.
  EXPECT_EQ(Find(report, "kvm-api").verdict, Verdict::kFail);
}

}  // namespace
}  // namespace sandbox::shim
