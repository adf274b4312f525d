#include "shim/microvm/vm_template.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/net/testing/parked_netns.h"
#include "shim/microvm/guest_network.h"
#include "shim/microvm/microvm_sandbox.h"
#include "shim/network/pod_netns_test_util.h"
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
  std::string Key(const MicroVmConfig& boot, const VmSize& size, bool shared_fs, uint32_t nics = 0) {
    Result<std::string> key = VmTemplateKey(boot, size, {.shared_fs = shared_fs, .nics = nics});
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
  EXPECT_NE(Key(boot_, size, true, 1), key) << "with a NIC";
  EXPECT_NE(Key(boot_, size, true, 2), Key(boot_, size, true, 1)) << "with two NICs";
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
  Result<std::string> key = VmTemplateKey(boot_, {}, {.shared_fs = true});
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
  plan.rootfs.mkfs = {"mkfs.erofs"};
  plan.nics = 1;
  ASSERT_TRUE(UseVmTemplate(plan).ok());
  EXPECT_FALSE(plan.from_template) << "a template has no block device";
  EXPECT_FALSE(PathExists(boot_.template_dir));
}

// A template gets one NIC per interface of the pod's namespace, so the
// namespace is read first: one that cannot be is the error, by field.
TEST_F(VmTemplateTest, APodNamespaceThatCannotBeReadIsNamed) {
  SandboxPlan plan{.boot = boot_};
  plan.boot.vm_templates = true;
  const Status used = PlanPodNetwork(plan, dir_.path() + "/no-such-netns");
  ASSERT_FALSE(used.ok());
  EXPECT_NE(used.message().find("linux.namespaces[network].path"), std::string::npos) << used.message();
  EXPECT_FALSE(plan.from_template);
  EXPECT_FALSE(PathExists(boot_.template_dir));
}

// A pod network no VM can take (more interfaces than NICs) is refused as a
// boot's would be, before any template is made for it.
TEST_F(VmTemplateTest, APodNetworkNoVmCanTakeIsRefusedBeforeATemplateIsMade) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  net::testing::ParkedNetns pod;
  ASSERT_TRUE(pod.status().ok()) << pod.status().message();
  testing::InNetnsAt(pod.path(), [](net::NetlinkSocket& socket) {
    for (size_t i = 0; i <= kMaxNics; ++i) {
      testing::MakePodVeth(socket, "pod" + std::to_string(i), "peer" + std::to_string(i), 1500,
                           "10.9." + std::to_string(i) + ".2/24");
    }
  });
  SandboxPlan plan{.boot = boot_};
  plan.boot.vm_templates = true;
  const Status used = PlanPodNetwork(plan, pod.path());
  ASSERT_FALSE(used.ok());
  EXPECT_NE(used.message().find("linux.namespaces[network].path: the pod network has 9 interfaces"), std::string::npos)
      << used.message();
  EXPECT_FALSE(PathExists(boot_.template_dir));
}

// What the template's VM is given: unplugged NICs, which sandbox-vmm's own
// parser takes, and a restored sandbox's config with its TAPs instead.
TEST_F(VmTemplateTest, ATemplatesNicsAreUnpluggedWithTemplateMacsAndTheLargestMtu) {
  const std::string nics = TemplateNicsJson(2);
  const std::string config = R"({"kernel": "/k", "cmdline": "", "net": )" + nics + "}";
  Result<vmm::VmmConfig> parsed = vmm::ParseVmmConfig(config);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->net.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(parsed->net[i].unplugged);
    EXPECT_EQ(parsed->net[i].mac, TemplateNicMac(i).bytes);
    EXPECT_EQ(parsed->net[i].mtu, vmm::kMaxMtu);
  }
  EXPECT_NE(TemplateNicMac(0), TemplateNicMac(1));
  EXPECT_EQ(TemplateNicMac(0).bytes[0] & 1, 0) << "unicast";

  const VmTemplate from{.state = "/t/k/vm.state", .memory = "/t/k/vm.memory"};
  nlohmann::json restored = nlohmann::json::parse(
      VmmConfigJson(boot_, {.vcpus = 1, .memory_mib = 256}, "/run/sandbox-rt/c1", false, true, &from));
  restored["net"] = {{{"tap_fd", 3}, {"mac", "02:42:ac:11:00:02"}, {"mtu", 1500}}};
  parsed = vmm::ParseVmmConfig(restored.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->net.size(), 1u);
}

// The VM behind a template cannot start here (no KVM, no real sandbox-vmm):
// the error names the template and nothing half-made stays.
TEST_F(VmTemplateTest, AFailedTemplateLeavesNoHalfTemplate) {
  boot_.virtiofsd = "/nonexistent/virtiofsd";
  boot_.jail_vmm = false;
  Result<VmTemplate> made = EnsureVmTemplate(boot_, {.vcpus = 1, .memory_mib = 256}, {.shared_fs = true});
  ASSERT_FALSE(made.ok());
  const std::string key = Key(boot_, {.vcpus = 1, .memory_mib = 256}, true);
  EXPECT_NE(made.status().message().find("making the VM template " + boot_.template_dir + "/" + key), std::string::npos)
      << made.status().message();
  EXPECT_FALSE(PathExists(boot_.template_dir + "/" + key));
  EXPECT_FALSE(PathExists(boot_.template_dir + "/" + key + ".new"));
}

}  // namespace
}  // namespace sandbox::shim
