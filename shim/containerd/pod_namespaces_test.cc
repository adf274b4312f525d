#include "shim/containerd/pod_namespaces.h"

#include <gtest/gtest.h>

namespace sandbox::shim::containerd {
namespace {

oci::Spec SpecWithNamespaces(std::vector<oci::Namespace> namespaces) {
  oci::Spec spec;
  spec.linux.emplace();
  spec.linux->namespaces = std::move(namespaces);
  return spec;
}

TEST(PodNamespaces, TheSandboxKeepsItsNewNamespacesAndUsesTheVmsNetwork) {
  oci::Spec spec = SpecWithNamespaces({{.type = "pid"},
                                       {.type = "ipc"},
                                       {.type = "uts"},
                                       {.type = "mount"},
                                       {.type = "network", .path = "/var/run/netns/cni-1234"}});
  ASSERT_TRUE(MapPodNamespaces(spec, {.sandbox_task_pid = 0, .sandbox_guest_pid = 0}).ok());
  ASSERT_EQ(spec.linux->namespaces->size(), 4u);
  for (const oci::Namespace& entry : *spec.linux->namespaces) {
    EXPECT_NE(entry.type, "network");
    EXPECT_FALSE(entry.path.has_value()) << entry.type;
  }
}

TEST(PodNamespaces, ALaterContainerJoinsTheSandboxContainersNamespacesInTheGuest) {
  oci::Spec spec = SpecWithNamespaces({{.type = "mount"},
                                       {.type = "network", .path = "/proc/4242/ns/net"},
                                       {.type = "ipc", .path = "/proc/4242/ns/ipc"},
                                       {.type = "uts", .path = "/proc/4242/ns/uts"},
                                       {.type = "pid", .path = "/proc/4242/ns/pid"}});
  ASSERT_TRUE(MapPodNamespaces(spec, {.sandbox_task_pid = 4242, .sandbox_guest_pid = 57}).ok());
  const std::vector<oci::Namespace>& mapped = *spec.linux->namespaces;
  ASSERT_EQ(mapped.size(), 5u);
  EXPECT_FALSE(mapped[0].path.has_value());
  EXPECT_EQ(mapped[1].path.value_or(""), "/proc/57/ns/net");
  EXPECT_EQ(mapped[2].path.value_or(""), "/proc/57/ns/ipc");
  EXPECT_EQ(mapped[3].path.value_or(""), "/proc/57/ns/uts");
  EXPECT_EQ(mapped[4].path.value_or(""), "/proc/57/ns/pid");
}

TEST(PodNamespaces, AHostNamespaceIsRefusedByEntry) {
  oci::Spec later = SpecWithNamespaces({{.type = "mount"}, {.type = "ipc", .path = "/proc/1/ns/ipc"}});
  Status refused = MapPodNamespaces(later, {.sandbox_task_pid = 4242, .sandbox_guest_pid = 57});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("linux.namespaces[1] (ipc): path /proc/1/ns/ipc names a host namespace"),
            std::string::npos)
      << refused.message();
  // The sandbox itself may not name one either, except its network.
  oci::Spec sandbox = SpecWithNamespaces({{.type = "uts", .path = "/proc/99/ns/uts"}});
  EXPECT_FALSE(MapPodNamespaces(sandbox, {}).ok());
  oci::Spec odd = SpecWithNamespaces({{.type = "ipc", .path = "/proc/4242/ns/"}});
  EXPECT_NE(MapPodNamespaces(odd, {.sandbox_task_pid = 4242, .sandbox_guest_pid = 57}).message().find("not a namespace"),
            std::string::npos);
}

}  // namespace
}  // namespace sandbox::shim::containerd
