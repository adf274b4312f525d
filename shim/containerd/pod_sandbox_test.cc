#include "shim/containerd/pod_sandbox.h"

#include <gtest/gtest.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "shim/containerd/shim_process.h"

namespace sandbox::shim::containerd {
namespace {

TEST(LocatePod, TasksOfOnePodShareItsStateDirAndSocket) {
  TempDir bundle = TempDir::CreateOrDie("/tmp/sandbox-shim-bundle-");
  ASSERT_TRUE(WriteFileAtomic(bundle.path() + "/config.json",
                              R"({"annotations": {"io.kubernetes.cri.sandbox-id": "pod1",
                                                  "io.kubernetes.cri.container-type": "container"}})")
                  .ok());
  Result<PodLocation> pod = LocatePod("/run/x", "k8s.io", "app1", bundle.path());
  ASSERT_TRUE(pod.ok()) << pod.status().message();
  EXPECT_EQ(pod->pod_id, "pod1");
  EXPECT_EQ(pod->state_dir, "/run/x/k8s.io/pod1");
  EXPECT_EQ(pod->socket, "/run/x/k8s.io/pod1/shim.sock");
  // Without CRI's annotation (ctr run) the task is its own pod.
  ASSERT_TRUE(WriteFileAtomic(bundle.path() + "/config.json", "{}").ok());
  EXPECT_EQ(LocatePod("/run/x", "default", "t", bundle.path())->pod_id, "t");
}

TEST(LocatePod, IdsThatWouldLeaveTheStateRootAreRefused) {
  TempDir bundle = TempDir::CreateOrDie("/tmp/sandbox-shim-bundle-");
  EXPECT_NE(LocatePod("/run/x", "../etc", "t", bundle.path()).status().message().find("-namespace"),
            std::string::npos);
  EXPECT_NE(LocatePod("/run/x", "ns", "a/b", bundle.path()).status().message().find("-id"), std::string::npos);
  ASSERT_TRUE(
      WriteFileAtomic(bundle.path() + "/config.json", R"({"annotations": {"io.kubernetes.cri.sandbox-id": ".."}})")
          .ok());
  EXPECT_NE(LocatePod("/run/x", "ns", "t", bundle.path()).status().message().find("io.kubernetes.cri.sandbox-id"),
            std::string::npos);
}

TEST(MountRootfs, AMountThatFailsIsNamedAndNothingStaysMounted) {
  TempDir target = TempDir::CreateOrDie("/tmp/sandbox-shim-rootfs-");
  Status failed = MountRootfs({{.type = "no-such-fs", .source = "none", .options = {"ro"}}}, target.path());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("rootfs[0] (no-such-fs)"), std::string::npos) << failed.message();
  EXPECT_EQ(ReadFile("/proc/self/mounts").value_or("").find(target.path()), std::string::npos);
}

}  // namespace
}  // namespace sandbox::shim::containerd
