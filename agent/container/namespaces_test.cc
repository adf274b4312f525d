#include "agent/container/namespaces.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace sandbox::agent {
namespace {

oci::Namespace Make(const std::string& type, std::optional<std::string> path = std::nullopt) {
  oci::Namespace entry;
  entry.type = type;
  entry.path = std::move(path);
  return entry;
}

TEST(NamespacesTest, NewNamespacesBecomeCloneFlags) {
  auto plan = PlanNamespaces({Make("pid"), Make("mount"), Make("uts"), Make("ipc"), Make("network"), Make("cgroup")});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->clone_flags, static_cast<unsigned long>(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                                           CLONE_NEWNET | CLONE_NEWCGROUP));
  EXPECT_TRUE(plan->joins.empty());
  EXPECT_TRUE(plan->Has(CLONE_NEWUTS));
  EXPECT_FALSE(plan->Has(CLONE_NEWUSER));
}

TEST(NamespacesTest, PathsAreJoinedNotCreated) {
  auto plan = PlanNamespaces({Make("pid"), Make("network", "/var/run/netns/x"), Make("time", "")});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->clone_flags, static_cast<unsigned long>(CLONE_NEWPID | CloneFlagOf("time")));
  ASSERT_EQ(plan->joins.size(), 1u);
  EXPECT_EQ(plan->joins[0].first, static_cast<unsigned long>(CLONE_NEWNET));
  EXPECT_EQ(plan->joins[0].second, "/var/run/netns/x");
  EXPECT_TRUE(plan->Has(CLONE_NEWNET));
}

TEST(NamespacesTest, ATimeNamespaceIsUnsharedByTheInitNotCloned) {
  auto plan = PlanNamespaces({Make("pid"), Make("time")});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->Creates(CLONE_NEWTIME));
  EXPECT_EQ(CloneFlagsFor(*plan), static_cast<unsigned long>(CLONE_NEWPID));
}

TEST(NamespacesTest, TimeOffsetsAreTheKernelsLines) {
  std::map<std::string, oci::TimeOffset> offsets;
  offsets["monotonic"] = {.secs = -30, .nanosecs = std::nullopt};
  offsets["boottime"] = {.secs = 86400, .nanosecs = 500};
  EXPECT_EQ(TimeOffsetsText(offsets), "boottime 86400 500\nmonotonic -30 0\n");
}

TEST(NamespacesTest, RejectsUnknownDuplicateAndRelative) {
  auto unknown = PlanNamespaces({Make("pid"), Make("bogus")});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("linux.namespaces[1].type"), std::string::npos);
  auto twice = PlanNamespaces({Make("pid"), Make("pid")});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("listed twice"), std::string::npos);
  auto relative = PlanNamespaces({Make("network", "netns/x")});
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.status().message().find("linux.namespaces[0].path"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::agent
