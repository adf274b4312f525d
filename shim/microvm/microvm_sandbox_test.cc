#include "shim/microvm/microvm_sandbox.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "shim/microvm/monitor.h"
#include "vmm/config.h"

namespace sandbox::shim {
namespace {

oci::Spec PlainSpec() {
  oci::Spec spec;
  spec.process.emplace();
  spec.process->terminal = false;
  spec.root.emplace();
  spec.root->path = "rootfs";
  spec.mounts.emplace();
  spec.mounts->push_back({.destination = "/proc", .type = "proc", .source = "proc"});
  return spec;
}

Status Check(const oci::Spec& spec, SandboxCreateRequest request = {}) {
  request.spec = &spec;
  return CheckMicroVmSupports(spec, request);
}

TEST(MicroVmSandboxTest, WhatTheBackendCannotDoYetIsRefusedByField) {
  EXPECT_TRUE(Check(PlainSpec()).ok());
  oci::Spec bind = PlainSpec();
  bind.mounts->push_back({.destination = "/data", .type = "none", .source = "/srv", .options = oci::StringList{"rbind"}});
  EXPECT_TRUE(Check(bind).ok()) << "host bind mounts go through virtio-fs";
  // Host hooks run (shim/runtime/hooks.h); hooks inside the container's namespaces would be in the guest.
  oci::Spec hooks = PlainSpec();
  hooks.hooks.emplace();
  hooks.hooks->poststart = std::vector<oci::Hook>{oci::Hook{.path = "/bin/true"}};
  EXPECT_TRUE(Check(hooks).ok());
  hooks.hooks->start_container = std::vector<oci::Hook>{oci::Hook{.path = "/bin/true"}};
  EXPECT_NE(Check(hooks).message().find("hooks.startContainer"), std::string::npos);
  hooks.hooks->create_container = std::vector<oci::Hook>{oci::Hook{.path = "/bin/true"}};
  EXPECT_NE(Check(hooks).message().find("hooks.createContainer"), std::string::npos);
  // --preserve-fds is relayed (common/io/preserved_fds.h), within its limit.
  EXPECT_NE(Check(PlainSpec(), {.preserve_fds = 33}).message().find("--preserve-fds 33: at most 32"), std::string::npos);
  EXPECT_NE(Check(PlainSpec(), {.preserve_fds = -1}).message().find("--preserve-fds"), std::string::npos);
}

TEST(MicroVmSandboxTest, TheVmmConfigIsOneSandboxVmmAccepts) {
  MicroVmConfig config;
  config.kernel = "/guest/vmlinux";
  config.initrd = "/guest/initramfs.img";
  const std::string json = VmmConfigJson(config, {.vcpus = 2, .memory_mib = 320}, "/run/sandbox-rt/c1");
  Result<vmm::VmmConfig> parsed = vmm::ParseVmmConfig(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->vcpus, 2u);
  EXPECT_EQ(parsed->memory_mib, 320u);
  ASSERT_EQ(parsed->block.size(), 1u);
  EXPECT_TRUE(parsed->block[0].read_only);
  EXPECT_EQ(parsed->block[0].path, "/run/sandbox-rt/c1/rootfs.img");
  ASSERT_TRUE(parsed->vsock.has_value());
  EXPECT_EQ(parsed->vsock->uds_path, "/run/sandbox-rt/c1/vsock");
}

TEST(MicroVmSandboxTest, HostBindMountsAddAVirtioFsDevice) {
  MicroVmConfig config;
  config.kernel = "/guest/vmlinux";
  config.initrd = "/guest/initramfs.img";
  Result<vmm::VmmConfig> plain = vmm::ParseVmmConfig(VmmConfigJson(config, {}, "/run/sandbox-rt/c1"));
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_TRUE(plain->fs.empty());
  Result<vmm::VmmConfig> parsed = vmm::ParseVmmConfig(VmmConfigJson(config, {}, "/run/sandbox-rt/c1", true));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->fs.size(), 1u);
  EXPECT_EQ(parsed->fs[0].tag, kSharedFsTag);
  EXPECT_EQ(parsed->fs[0].socket, "/run/sandbox-rt/c1/virtiofs.sock");
}

TEST(MicroVmSandboxTest, TheMonitorPlanKeepsTheSharesAndPreservedFds) {
  MonitorPlan plan{.id = "c1", .virtiofsd = "/usr/lib/qemu/virtiofsd"};
  plan.shares.push_back({.index = 3, .source = "/srv/data", .read_only = true, .recursive = true, .directory = true});
  plan.preserved_fds = {{.readable = true, .writable = false}, {.readable = true, .writable = true}};
  Result<MonitorPlan> decoded = DecodeMonitorPlan(EncodeMonitorPlan(plan));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->virtiofsd, "/usr/lib/qemu/virtiofsd");
  ASSERT_EQ(decoded->shares.size(), 1u);
  EXPECT_EQ(decoded->shares[0].index, 3u);
  EXPECT_EQ(decoded->shares[0].source, "/srv/data");
  EXPECT_TRUE(decoded->shares[0].read_only && decoded->shares[0].recursive && decoded->shares[0].directory);
  ASSERT_EQ(decoded->preserved_fds.size(), 2u);
  EXPECT_TRUE(decoded->preserved_fds[0].readable && !decoded->preserved_fds[0].writable);
  EXPECT_TRUE(decoded->preserved_fds[1].readable && decoded->preserved_fds[1].writable);
}

TEST(MicroVmSandboxTest, ALostVmIsANonZeroStatus) {
  EXPECT_EQ(StatusForLostVm(0), 255);            // exited on its own: guest panic or reset
  EXPECT_EQ(StatusForLostVm(SIGKILL), 128 + 9);  // killed by a signal
}

}  // namespace
}  // namespace sandbox::shim
