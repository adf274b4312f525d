#include "shim/microvm/vm_template.h"

#include <gtest/gtest.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "shim/microvm/microvm_sandbox.h"
#include "vmm/config.h"

namespace sandbox::shim {
namespace {

class VmTemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    boot_.vmm = dir_.path() + "/sandbox-vmm";
    boot_.kernel = dir_.path() + "/vmlinux";
    boot_.initrd = dir_.path() + "/initramfs.img";
    boot_.template_dir = dir_.path() + "/templates";
    for (const std::string& path : {boot_.vmm, boot_.kernel, boot_.initrd}) {
      ASSERT_TRUE(WriteFileAtomic(path, "v1").ok());
    }
  }
  std::string Key(const MicroVmConfig& boot, const VmSize& size, bool shared_fs) {
    Result<std::string> key = VmTemplateKey(boot, size, shared_fs);
    EXPECT_TRUE(key.ok()) << key.status().message();
    return key.value_or("");
  }

  TempDir dir_ = TempDir::CreateOrDie("/tmp/vm-template-test-");
  MicroVmConfig boot_;
};

TEST_F(VmTemplateTest, EveryPartOfTheShapeNamesItsOwnTemplate) {
  const VmSize size{.vcpus = 1, .memory_mib = 256};
  const std::string key = Key(boot_, size, true);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(Key(boot_, size, true), key) << "the same shape, the same template";
  EXPECT_NE(Key(boot_, size, false), key) << "without virtio-fs";
  EXPECT_NE(Key(boot_, {.vcpus = 2, .memory_mib = 256}, true), key);
  EXPECT_NE(Key(boot_, {.vcpus = 1, .memory_mib = 512}, true), key);
  MicroVmConfig other = boot_;
  other.kernel_cmdline += " debug";
  EXPECT_NE(Key(other, size, true), key);
  other = boot_;
  other.jail_vmm = false;
  EXPECT_NE(Key(other, size, true), key);
  // A kernel rebuilt in place (a new inode and size) is another guest.
  ASSERT_TRUE(WriteFileAtomic(boot_.kernel, "version 2").ok());
  EXPECT_NE(Key(boot_, size, true), key);
}

TEST_F(VmTemplateTest, AMissingBootFileIsNamed) {
  ASSERT_EQ(::unlink(boot_.initrd.c_str()), 0);
  Result<std::string> key = VmTemplateKey(boot_, {}, true);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("the guest initramfs " + boot_.initrd), std::string::npos)
      << key.status().message();
}

TEST_F(VmTemplateTest, ARestoredVmmConfigNamesTheTemplateInsteadOfTheKernel) {
  const VmTemplate from{.state = "/t/k/vm.state", .memory = "/t/k/vm.memory"};
  Result<vmm::VmmConfig> parsed = vmm::ParseVmmConfig(
      VmmConfigJson(boot_, {.vcpus = 2, .memory_mib = 256}, "/run/sandbox-rt/c1", false, /*shared_fs=*/true, &from));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_TRUE(parsed->restore.has_value());
  EXPECT_EQ(parsed->restore->state, from.state);
  EXPECT_EQ(parsed->restore->memory, from.memory);
  EXPECT_TRUE(parsed->kernel.empty());
  EXPECT_EQ(parsed->fs.size(), 1u);
  EXPECT_EQ(parsed->vsock->uds_path, "/run/sandbox-rt/c1/vm/vsock") << "the sandbox's own sockets";
}

// Plans a template cannot give boot: nothing is made for them.
TEST_F(VmTemplateTest, OnlyPlansATemplateCanGiveUseOne) {
  SandboxPlan plan{.boot = boot_};
  ASSERT_TRUE(UseVmTemplate(plan).ok());
  EXPECT_FALSE(plan.from_template) << "templates are off";
  plan.boot.vm_templates = true;
  plan.netns_path = "/var/run/netns/pod";
  ASSERT_TRUE(UseVmTemplate(plan).ok());
  EXPECT_FALSE(plan.from_template) << "a template has no NICs";
  plan.netns_path.clear();
  plan.rootfs.mkfs = {"mkfs.erofs"};
  ASSERT_TRUE(UseVmTemplate(plan).ok());
  EXPECT_FALSE(plan.from_template) << "a template has no block device";
  EXPECT_FALSE(PathExists(boot_.template_dir));
}

// The VM behind a template cannot start here (no KVM, no real sandbox-vmm):
// the error names the template and nothing half-made stays.
TEST_F(VmTemplateTest, AFailedTemplateLeavesNoHalfTemplate) {
  boot_.virtiofsd = "/nonexistent/virtiofsd";
  boot_.jail_vmm = false;
  Result<VmTemplate> made = EnsureVmTemplate(boot_, {.vcpus = 1, .memory_mib = 256}, /*shared_fs=*/true);
  ASSERT_FALSE(made.ok());
  const std::string key = Key(boot_, {.vcpus = 1, .memory_mib = 256}, true);
  EXPECT_NE(made.status().message().find("making the VM template " + boot_.template_dir + "/" + key), std::string::npos)
      << made.status().message();
  EXPECT_FALSE(PathExists(boot_.template_dir + "/" + key));
  EXPECT_FALSE(PathExists(boot_.template_dir + "/" + key + ".new"));
}

}  // namespace
}  // namespace sandbox::shim
