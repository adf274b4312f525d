#include "shim/microvm/microvm_config.h"

#include <gtest/gtest.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox::shim {
namespace {

oci::Spec SpecWith(std::optional<int64_t> memory_limit, std::optional<int64_t> quota, std::optional<uint64_t> period,
                   std::optional<std::string> cpus = std::nullopt) {
  oci::Spec spec;
  spec.linux.emplace();
  oci::Resources& resources = spec.linux->resources.emplace();
  if (memory_limit) resources.memory.emplace().limit = memory_limit;
  if (quota || period || cpus) {
    oci::CpuResources& cpu = resources.cpu.emplace();
    cpu.quota = quota;
    cpu.period = period;
    cpu.cpus = cpus;
  }
  return spec;
}

TEST(SizeVmTest, DefaultsWithoutLimits) {
  MicroVmConfig config;
  config.default_vcpus = 2;
  config.default_memory_mib = 300;
  Result<VmSize> size = SizeVm(oci::Spec{}, config, 8);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->vcpus, 2u);
  EXPECT_EQ(size->memory_mib, 300u);
}

TEST(SizeVmTest, MemoryLimitPlusOverheadRoundedUpToMebibytes) {
  MicroVmConfig config;
  config.memory_overhead_mib = 96;
  Result<VmSize> size = SizeVm(SpecWith((512ll << 20) + 1, std::nullopt, std::nullopt), config, 8);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->memory_mib, 513u + 96u);
  Result<VmSize> tiny = SizeVm(SpecWith(1 << 20, std::nullopt, std::nullopt), MicroVmConfig{.memory_overhead_mib = 0}, 8);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->memory_mib, 64u);  // sandbox-vmm's minimum
  EXPECT_FALSE(SizeVm(SpecWith(int64_t{1} << 62, std::nullopt, std::nullopt), config, 8).ok());
}

TEST(SizeVmTest, VcpusFromQuotaOverPeriodOrCpusetCappedByHost) {
  MicroVmConfig config;
  EXPECT_EQ(SizeVm(SpecWith(std::nullopt, 150000, 100000), config, 8)->vcpus, 2u);
  EXPECT_EQ(SizeVm(SpecWith(std::nullopt, 50000, 100000), config, 8)->vcpus, 1u);
  EXPECT_EQ(SizeVm(SpecWith(std::nullopt, 1600000, 100000), config, 4)->vcpus, 4u);
  EXPECT_EQ(SizeVm(SpecWith(std::nullopt, std::nullopt, std::nullopt, "0-2"), config, 8)->vcpus, 3u);
  EXPECT_FALSE(SizeVm(SpecWith(std::nullopt, std::nullopt, std::nullopt, "3-1"), config, 8).ok());
  config.max_vcpus = 2;
  EXPECT_EQ(SizeVm(SpecWith(std::nullopt, 800000, 100000), config, 8)->vcpus, 2u);
}

TEST(SizeVmTest, ACpusetNamingAVcpuTheVmLacksIsRefusedByField) {
  MicroVmConfig config;
  // Four CPUs listed make four vCPUs, numbered 0-3: vCPU 5 does not exist.
  Result<VmSize> size = SizeVm(SpecWith(std::nullopt, std::nullopt, std::nullopt, "0-2,5"), config, 8);
  ASSERT_FALSE(size.ok());
  EXPECT_NE(size.status().message().find("linux.resources.cpu.cpus: \"0-2,5\" names vCPU 5, but the VM has 4 vCPU(s)"),
            std::string::npos)
      << size.status().message();
  // A quota sizes the VM; the cpuset must fit in it.
  EXPECT_TRUE(SizeVm(SpecWith(std::nullopt, 200000, 100000, "1"), config, 8).ok());
  EXPECT_FALSE(SizeVm(SpecWith(std::nullopt, 100000, 100000, "1"), config, 8).ok());
  config.max_vcpus = 2;
  EXPECT_FALSE(SizeVm(SpecWith(std::nullopt, std::nullopt, std::nullopt, "0-3"), config, 8).ok()) << "capped to 2";
}

TEST(SizeVmTest, HwConfigSizesTheVmBeforeLinuxResources) {
  MicroVmConfig config;
  oci::Spec spec = SpecWith(int64_t{512} << 20, 400000, 100000);
  spec.vm.emplace();
  spec.vm->kernel.path = "/k";
  spec.vm->hw_config = oci::VmHwConfig{.vcpus = 2, .memory = (uint64_t{1} << 30) + 1};
  Result<VmSize> size = SizeVm(spec, config, 8);
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(size->vcpus, 2u);
  EXPECT_EQ(size->memory_mib, 1025u) << "bytes, rounded up to MiB, no overhead added";
  spec.vm->hw_config->vcpus = 9;
  Result<VmSize> too_many = SizeVm(spec, config, 8);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("vm.hwConfig.vcpus: 9 is more than the 8"), std::string::npos)
      << too_many.status().message();
  spec.vm->hw_config = oci::VmHwConfig{.memory = 1 << 20};
  Result<VmSize> too_small = SizeVm(spec, config, 8);
  ASSERT_FALSE(too_small.ok());
  EXPECT_NE(too_small.status().message().find("vm.hwConfig.memory: 1048576 bytes is less than the 64 MiB"),
            std::string::npos)
      << too_small.status().message();
  EXPECT_EQ(SizeVm(spec, config, 8).status().code(), StatusCode::kInvalidArgument);
}

TEST(WithSpecKernelTest, VmKernelReplacesTheGuestKernelAndAppendsParameters) {
  MicroVmConfig config{.kernel = "/guest/vmlinux", .initrd = "/guest/initramfs.img", .kernel_cmdline = "console=ttyS0"};
  Result<MicroVmConfig> plain = WithSpecKernel(oci::Spec{}, config);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->kernel, "/guest/vmlinux");
  oci::Spec spec;
  spec.vm.emplace();
  spec.vm->kernel.path = "/opt/k/vmlinux";
  spec.vm->kernel.parameters = oci::StringList{"foo=bar", "hello world"};
  Result<MicroVmConfig> boot = WithSpecKernel(spec, config);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->kernel, "/opt/k/vmlinux");
  EXPECT_EQ(boot->initrd, "/guest/initramfs.img") << "the agent's initramfs stays without vm.kernel.initrd";
  EXPECT_EQ(boot->kernel_cmdline, "console=ttyS0 foo=bar \"hello world\"");
  spec.vm->kernel.initrd = "/opt/k/initrd.img";
  EXPECT_EQ(WithSpecKernel(spec, config)->initrd, "/opt/k/initrd.img");
  spec.vm->kernel.parameters = oci::StringList{"ok", "bad\"quote"};
  Result<MicroVmConfig> refused = WithSpecKernel(spec, config);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("vm.kernel.parameters[1]"), std::string::npos) << refused.status().message();
}

TEST(LoadMicroVmConfigTest, DefaultsComeFromTheGuestDirAndVmmPath) {
  Result<MicroVmConfig> config = LoadMicroVmConfig({.file = "", .file_required = false, .guest_dir = "/g", .vmm = "/v"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->kernel, "/g/vmlinux");
  EXPECT_EQ(config->initrd, "/g/initramfs.img");
  EXPECT_EQ(config->vmm, "/v");
  EXPECT_EQ(config->rootfs_mode, "virtiofs") << "the bundle's rootfs is shared, as runc writes into it";
}

TEST(LoadMicroVmConfigTest, FileOverridesAndBadKeysAreNamed) {
  TempDir dir = TempDir::CreateOrDie("/tmp/microvm-config-");
  const std::string path = dir.path() + "/config.json";
  auto load = [&](const std::string& text) {
    EXPECT_TRUE(WriteFileAtomic(path, text).ok());
    return LoadMicroVmConfig({.file = path, .file_required = true, .guest_dir = "/g", .vmm = "/v"});
  };
  Result<MicroVmConfig> good = load(R"({"kernel": "/k", "default_vcpus": 2, "rootfs_format": "ext4"})");
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->kernel, "/k");
  EXPECT_EQ(good->default_vcpus, 2u);
  EXPECT_EQ(good->rootfs_format, "ext4");
  EXPECT_EQ(good->initrd, "/g/initramfs.img");
  EXPECT_EQ(good->rootfs_mode, "virtiofs");
  Result<MicroVmConfig> image = load(R"({"rootfs_mode": "image", "rootfs_format": "ext4"})");
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->rootfs_mode, "image");
  EXPECT_TRUE(image->jail_vmm) << "sandbox-vmm is jailed unless the runtime config says otherwise";
  EXPECT_EQ(image->vmm_uid, kDefaultVmmId);
  Result<MicroVmConfig> unjailed = load(R"({"jail_vmm": false, "vmm_uid": 4000, "vmm_gid": 4001})");
  ASSERT_TRUE(unjailed.ok()) << unjailed.status().message();
  EXPECT_FALSE(unjailed->jail_vmm);
  EXPECT_EQ(unjailed->vmm_uid, 4000u);
  EXPECT_EQ(unjailed->vmm_gid, 4001u);
  EXPECT_FALSE(unjailed->vm_templates) << "templates are off unless the runtime config turns them on";
  Result<MicroVmConfig> templated = load(R"({"vm_templates": true, "template_dir": "/var/t"})");
  ASSERT_TRUE(templated.ok()) << templated.status().message();
  EXPECT_TRUE(templated->vm_templates);
  EXPECT_EQ(templated->template_dir, "/var/t");

  const std::pair<const char*, const char*> bad[] = {
      {R"({"kernal": "/k"})", "kernal: unknown key"},
      {R"({"default_vcpus": 0})", "default_vcpus: must be an integer from 1 to 254"},
      {R"({"default_memory_mib": "lots"})", "default_memory_mib"},
      {R"({"rootfs_format": "squashfs"})", "rootfs_format: must be erofs or ext4"},
      {R"({"rootfs_mode": "9p"})", "rootfs_mode: must be virtiofs or image"},
      {R"({"rootfs_mode": ""})", "rootfs_mode: must be a non-empty string"},
      {R"({"rootfs_mode": true})", "rootfs_mode: must be a non-empty string"},
      {R"({"vmm": ""})", "vmm: must be a non-empty string"},
      {R"({"jail_vmm": "yes"})", "jail_vmm: must be true or false"},
      {R"({"vmm_uid": 0})", "vmm_uid: must be an integer from 1 to 4294967294"},
      {R"({"vmm_gid": -5})", "vmm_gid: must be an integer from 1"},
      {R"({"vm_templates": 1})", "vm_templates: must be true or false"},
      {R"({"template_dir": "templates"})", "template_dir: must be an absolute path"},
      {R"([1, 2])", "not a JSON object"},
      {R"({"kernel": )", "not a JSON object"},
  };
  for (const auto& [text, message] : bad) {
    Result<MicroVmConfig> loaded = load(text);
    ASSERT_FALSE(loaded.ok()) << text;
    EXPECT_NE(loaded.status().message().find(message), std::string::npos) << loaded.status().message();
  }
  EXPECT_FALSE(LoadMicroVmConfig({.file = dir.path() + "/missing.json", .file_required = true, .guest_dir = "", .vmm = ""}).ok());
}

}  // namespace
}  // namespace sandbox::shim
