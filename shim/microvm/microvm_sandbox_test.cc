#include "shim/microvm/microvm_sandbox.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "shim/microvm/monitor.h"
#include "shim/microvm/sandbox_vm.h"
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
  // A network namespace's interfaces are mirrored into the VM.
  spec.linux->namespaces->push_back({.type = "network", .path = "/var/run/netns/cni-1234"});
  EXPECT_TRUE(CheckNamespacePaths(spec).ok());
  spec.linux->namespaces->push_back({.type = "ipc", .path = "/proc/1/ns/ipc"});
  const Status refused = CheckNamespacePaths(spec);
  EXPECT_EQ(refused.code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.message().find("linux.namespaces[3].path"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("/proc/1/ns/ipc"), std::string::npos) << refused.message();
}

TEST(MicroVmSandboxTest, TheVmmConfigIsOneSandboxVmmAccepts) {
  MicroVmConfig config;
  config.kernel = "/guest/vmlinux";
  config.initrd = "/guest/initramfs.img";
  const std::string json = VmmConfigJson(config, {.vcpus = 2, .memory_mib = 320}, "/run/sandbox-rt/c1",
                                         /*rootfs_image=*/true, /*shared_fs=*/false);
  Result<vmm::VmmConfig> parsed = vmm::ParseVmmConfig(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->vcpus, 2u);
  EXPECT_EQ(parsed->memory_mib, 320u);
  ASSERT_EQ(parsed->block.size(), 1u);
  EXPECT_TRUE(parsed->block[0].read_only);
  EXPECT_EQ(parsed->block[0].path, "/run/sandbox-rt/c1/rootfs.img");
  ASSERT_TRUE(parsed->vsock.has_value());
  EXPECT_EQ(parsed->vsock->uds_path, "/run/sandbox-rt/c1/vm/vsock");
  ASSERT_TRUE(parsed->jail.has_value()) << "sandbox-vmm is jailed by default";
  EXPECT_EQ(parsed->jail->root, "/run/sandbox-rt/c1/vm");
  EXPECT_EQ(parsed->jail->uid, kDefaultVmmId);
  EXPECT_EQ(parsed->jail->gid, kDefaultVmmId);
  config.jail_vmm = false;
  parsed = vmm::ParseVmmConfig(VmmConfigJson(config, {.vcpus = 1, .memory_mib = 128}, "/run/sandbox-rt/c1", false, false));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_FALSE(parsed->jail.has_value());
}

TEST(MicroVmSandboxTest, TheVmmConfigBootsVmKernelWithHwConfigSize) {
  MicroVmConfig config{.kernel = "/guest/vmlinux", .initrd = "/guest/initramfs.img", .kernel_cmdline = "quiet"};
  oci::Spec spec;
  spec.vm.emplace();
  spec.vm->kernel = {.path = "/opt/k/vmlinux", .parameters = oci::StringList{"loglevel=7"}, .initrd = "/opt/k/initrd"};
  spec.vm->hw_config = oci::VmHwConfig{.vcpus = 3, .memory = uint64_t{512} << 20};
  Result<MicroVmConfig> boot = WithSpecKernel(spec, config);
  ASSERT_TRUE(boot.ok());
  Result<VmSize> size = SizeVm(spec, config, 8);
  ASSERT_TRUE(size.ok()) << size.status().message();
  Result<vmm::VmmConfig> parsed =
      vmm::ParseVmmConfig(VmmConfigJson(*boot, *size, "/run/sandbox-rt/c1", /*rootfs_image=*/true, false));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->kernel, "/opt/k/vmlinux");
  EXPECT_EQ(parsed->initrd, "/opt/k/initrd");
  EXPECT_EQ(parsed->cmdline, "quiet loglevel=7");
  EXPECT_EQ(parsed->vcpus, 3u);
  EXPECT_EQ(parsed->memory_mib, 512u);
}

TEST(MicroVmSandboxTest, HostBindMountsAddAVirtioFsDevice) {
  MicroVmConfig config;
  config.kernel = "/guest/vmlinux";
  config.initrd = "/guest/initramfs.img";
  Result<vmm::VmmConfig> plain = vmm::ParseVmmConfig(VmmConfigJson(config, {}, "/run/sandbox-rt/c1", true, false));
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_TRUE(plain->fs.empty());
  Result<vmm::VmmConfig> parsed = vmm::ParseVmmConfig(VmmConfigJson(config, {}, "/run/sandbox-rt/c1", false, true));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->block.empty()) << "a shared rootfs needs no image";
  ASSERT_EQ(parsed->fs.size(), 1u);
  EXPECT_EQ(parsed->fs[0].tag, kSharedFsTag);
  EXPECT_EQ(parsed->fs[0].socket, "/run/sandbox-rt/c1/virtiofs.sock");
}

// A bundle whose rootfs holds a recording mkfs.erofs on PATH: a run of it
// leaves <bundle>/mkfs-ran.
class RootfsPlanTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeDirs(bundle_.path() + "/rootfs").ok());
    ASSERT_TRUE(MakeDirs(bundle_.path() + "/bin").ok());
    ASSERT_TRUE(MakeDirs(state_.path()).ok());
    ASSERT_TRUE(WriteFileAtomic(bundle_.path() + "/bin/mkfs.erofs",
                                "#!/bin/sh\necho \"$@\" > " + bundle_.path() + "/mkfs-ran\n", 0755)
                    .ok());
    path_ = ::getenv("PATH") ? ::getenv("PATH") : "/usr/bin:/bin";
    ::setenv("PATH", (bundle_.path() + "/bin:" + path_).c_str(), 1);
    spec_.root = oci::Root{.path = "rootfs"};
  }
  void TearDown() override { ::setenv("PATH", path_.c_str(), 1); }

  TempDir bundle_ = TempDir::CreateOrDie("/tmp/rootfs-plan-test-");
  TempDir state_ = TempDir::CreateOrDie("/tmp/rootfs-plan-state-");
  std::string path_;
  oci::Spec spec_;
};

// The default: root.path is shared (writable unless root.readonly) and the
// agent gets a directory; no image is made and the VM has no block device.
TEST_F(RootfsPlanTest, VirtiofsSharesRootPathWithoutMkfs) {
  const MicroVmConfig config{.kernel = "/guest/vmlinux", .initrd = "/guest/initramfs.img"};
  ASSERT_EQ(config.rootfs_mode, "virtiofs");
  Result<RootfsPlan> plan = PlanRootfs(config, spec_, bundle_.path(), state_.path());
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->fstype, "dir");
  EXPECT_TRUE(plan->mkfs.empty());
  ASSERT_TRUE(plan->share.has_value());
  EXPECT_TRUE(plan->share->root && plan->share->recursive && plan->share->directory);
  EXPECT_FALSE(plan->share->read_only);
  EXPECT_EQ(plan->share->source, bundle_.path() + "/rootfs") << "relative to the bundle, as runc";
  ASSERT_TRUE(MakeRootfsImage(*plan).ok());
  EXPECT_FALSE(PathExists(bundle_.path() + "/mkfs-ran")) << "no mkfs in virtiofs mode";

  spec_.root->readonly = true;
  plan = PlanRootfs(config, spec_, bundle_.path(), state_.path());
  ASSERT_TRUE(plan.ok() && plan->share.has_value());
  EXPECT_TRUE(plan->share->read_only) << "root.readonly: read-only for virtiofsd too";

  Result<vmm::VmmConfig> vmm = vmm::ParseVmmConfig(
      VmmConfigJson(config, {}, state_.path(), /*rootfs_image=*/!plan->mkfs.empty(), /*shared_fs=*/true));
  ASSERT_TRUE(vmm.ok()) << vmm.status().message();
  EXPECT_TRUE(vmm->block.empty());
  ASSERT_EQ(vmm->fs.size(), 1u) << "the share exists without any bind mount";
}

TEST_F(RootfsPlanTest, ImageModeAndPrivateCopiesRunMkfs) {
  MicroVmConfig config;
  config.rootfs_mode = "image";
  Result<RootfsPlan> plan = PlanRootfs(config, spec_, bundle_.path(), state_.path());
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->fstype, "erofs");
  EXPECT_FALSE(plan->share.has_value());
  ASSERT_TRUE(MakeRootfsImage(*plan).ok());
  EXPECT_EQ(ReadFile(bundle_.path() + "/mkfs-ran").value_or(""),
            "--quiet " + state_.path() + "/rootfs.img " + bundle_.path() + "/rootfs\n");
  config.rootfs_format = "ext4";
  EXPECT_EQ(PlanRootfs(config, spec_, bundle_.path(), state_.path())->mkfs[0], "mkfs.ext4");

  // run --image's shared bundle: a copy, whatever the mode.
  Result<RootfsPlan> cached = PlanRootfs(MicroVmConfig{}, spec_, bundle_.path(), state_.path(), /*private_copy=*/true);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->fstype, "erofs");
  EXPECT_FALSE(cached->share.has_value());
}

TEST_F(RootfsPlanTest, AMissingOrFileRootIsRefusedByField) {
  spec_.root->path = "missing";
  Result<RootfsPlan> missing = PlanRootfs(MicroVmConfig{}, spec_, bundle_.path(), state_.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("root.path: stat " + bundle_.path() + "/missing"), std::string::npos)
      << missing.status().message();
  spec_.root->path = bundle_.path() + "/bin/mkfs.erofs";
  Result<RootfsPlan> file = PlanRootfs(MicroVmConfig{}, spec_, bundle_.path(), state_.path());
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("root.path: " + spec_.root->path + " is not a directory"), std::string::npos)
      << file.status().message();
}

TEST(MicroVmSandboxTest, TheMonitorPlanKeepsTheSharesAndPreservedFds) {
  MonitorPlan plan{.id = "c1", .virtiofsd = "/usr/lib/qemu/virtiofsd"};
  plan.shares.push_back({.index = 3, .source = "/srv/data", .read_only = true, .recursive = true, .directory = true});
  plan.shares.push_back({.source = "/srv/bundle/rootfs", .read_only = true, .recursive = true, .directory = true,
                         .root = true});
  plan.preserved_fds = {{.readable = true, .writable = false}, {.readable = true, .writable = true}};
  Result<MonitorPlan> decoded = DecodeMonitorPlan(EncodeMonitorPlan(plan));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->virtiofsd, "/usr/lib/qemu/virtiofsd");
  ASSERT_EQ(decoded->shares.size(), 2u);
  EXPECT_EQ(decoded->shares[0].index, 3u);
  EXPECT_EQ(decoded->shares[0].source, "/srv/data");
  EXPECT_TRUE(decoded->shares[0].read_only && decoded->shares[0].recursive && decoded->shares[0].directory);
  EXPECT_FALSE(decoded->shares[0].root);
  EXPECT_TRUE(decoded->shares[1].root && decoded->shares[1].read_only);
  EXPECT_EQ(decoded->shares[1].source, "/srv/bundle/rootfs");
  ASSERT_EQ(decoded->preserved_fds.size(), 2u);
  EXPECT_TRUE(decoded->preserved_fds[0].readable && !decoded->preserved_fds[0].writable);
  EXPECT_TRUE(decoded->preserved_fds[1].readable && decoded->preserved_fds[1].writable);
  EXPECT_FALSE(decoded->start);
  plan.start = true;  // run's start with the create
  decoded = DecodeMonitorPlan(EncodeMonitorPlan(plan));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_TRUE(decoded->start);
}

TEST(MicroVmSandboxTest, ALostVmIsANonZeroStatus) {
  EXPECT_EQ(StatusForLostVm(0), 255);            // exited on its own: guest panic or reset
  EXPECT_EQ(StatusForLostVm(SIGKILL), 128 + 9);  // killed by a signal
}

}  // namespace
}  // namespace sandbox::shim
