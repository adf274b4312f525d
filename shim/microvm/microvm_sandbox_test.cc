#include "shim/microvm/microvm_sandbox.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "shim/microvm/monitor.h"
#include "vmm/config.h"

namespace sandbox::shim {
namespace {

std::string PreservedFdsError(int count) {
  Result<std::vector<FdAccess>> planned = PreservedFdsFor({.preserve_fds = count});
  return planned.ok() ? "" : planned.status().message();
}

// --preserve-fds is relayed (common/io/preserved_fds.h), within its limit.
TEST(MicroVmSandboxTest, PreservedFdsAreCheckedBeforeAnythingIsMade) {
  EXPECT_EQ(PreservedFdsError(0), "");
  EXPECT_NE(PreservedFdsError(33).find("--preserve-fds 33: at most 32"), std::string::npos);
  EXPECT_NE(PreservedFdsError(-1).find("--preserve-fds: must not be negative"), std::string::npos);
}

TEST(MicroVmSandboxTest, HostNamespacePathsAreRefusedByEntry) {
  oci::Spec spec;
  spec.linux.emplace();
  spec.linux->namespaces = std::vector<oci::Namespace>{{.type = "pid"}, {.type = "mount"}};
  EXPECT_TRUE(CheckNamespacePaths(spec).ok());
  (*spec.linux->namespaces)[1].path = "";  // empty: a new one, as runc reads it
  EXPECT_TRUE(CheckNamespacePaths(spec).ok());
  spec.linux->namespaces->push_back({.type = "network", .path = "/var/run/netns/cni-1234"});
  const Status refused = CheckNamespacePaths(spec);
  EXPECT_EQ(refused.code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.message().find("linux.namespaces[2].path"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("/var/run/netns/cni-1234"), std::string::npos) << refused.message();
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
