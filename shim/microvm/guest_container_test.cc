#include "shim/microvm/guest_container.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sandbox::shim {
namespace {

constexpr char kConfig[] = R"({
  "ociVersion": "1.2.0",
  "root": {"path": "rootfs"},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
             {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind"]}],
  "hooks": {"createContainer": [{"path": "/host/hook"}], "startContainer": [{"path": "/guest/hook"}]},
  "annotations": {"team": "a", "tier": "gold"}
})";

TEST(GuestContainer, TheGuestsCopyHasGuestSourcesNoHostHooksAndTheHooksState) {
  const GuestContainer container{.id = "c1",
                                 .bundle = "/bundles/c1",
                                 .config_json = kConfig,
                                 .rootfs_fstype = "dir",
                                 .shares = {{.index = 1, .source = "/srv/data"},
                                            {.source = "/bundles/c1/rootfs", .root = true}},
                                 .host_pid = 42};
  Result<AgentContainerSpec> spec = GuestContainerSpec(container);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  const nlohmann::json config = nlohmann::json::parse(spec->config_json);
  EXPECT_EQ(config["mounts"][0]["source"], "proc");
  EXPECT_EQ(config["mounts"][1]["source"], std::string(kGuestSharedDir) + "/1");
  EXPECT_FALSE(config["hooks"].contains("createContainer")) << "ran on the host at create";
  EXPECT_EQ(config["hooks"]["startContainer"][0]["path"], "/guest/hook");
  EXPECT_EQ(spec->rootfs_device, GuestRootfsPath(container.shares[1]));

  const nlohmann::json state = nlohmann::json::parse(spec->state_json);
  EXPECT_EQ(state["ociVersion"], "1.2.0");
  EXPECT_EQ(state["id"], "c1");
  EXPECT_EQ(state["status"], "created");
  EXPECT_EQ(state["bundle"], "/bundles/c1");
  EXPECT_EQ(state["pid"], 42);
  EXPECT_EQ(state["annotations"], nlohmann::json({{"team", "a"}, {"tier", "gold"}}));
}

TEST(GuestContainer, WithoutSharesTheRootfsIsTheSandboxsImage) {
  const GuestContainer container{.id = "c2", .config_json = R"({"ociVersion": "1.0.2"})", .rootfs_fstype = "erofs"};
  Result<AgentContainerSpec> spec = GuestContainerSpec(container);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->rootfs_device, "/dev/vda");
  EXPECT_FALSE(nlohmann::json::parse(spec->state_json).contains("annotations"));
}

TEST(GuestContainer, ASavedConfigThatIsNoJsonObjectIsAnError) {
  for (const char* saved : {"[1, 2]", "{not json"}) {
    Result<AgentContainerSpec> spec = GuestContainerSpec({.id = "c3", .config_json = saved});
    ASSERT_FALSE(spec.ok()) << saved;
    EXPECT_EQ(spec.status().message(), "the saved config.json is not a JSON object") << saved;
  }
}

}  // namespace
}  // namespace sandbox::shim
