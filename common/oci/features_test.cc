#include "common/oci/features.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sandbox::oci {
namespace {

TEST(Features, DocumentHasTheSpecShape) {
  nlohmann::json features = nlohmann::json::parse(FeaturesJson({.runtime_version = "0.1.0"}));
  EXPECT_EQ(features["ociVersionMin"], "1.0.0");
  EXPECT_EQ(features["ociVersionMax"], "1.3.0");
  // Only what is honoured: every hook stage, no idmapped mounts.
  EXPECT_EQ(features["hooks"], nlohmann::json({"prestart", "createRuntime", "createContainer", "startContainer",
                                               "poststart", "poststop"}));
  auto namespaces = features["linux"]["namespaces"];
  EXPECT_NE(std::find(namespaces.begin(), namespaces.end(), "user"), namespaces.end());
  auto options = features["mountOptions"];
  EXPECT_EQ(std::find(options.begin(), options.end(), "idmap"), options.end());
  EXPECT_NE(std::find(options.begin(), options.end(), "rbind"), options.end());
  EXPECT_EQ(features["linux"]["memoryPolicy"]["modes"], nlohmann::json({"MPOL_DEFAULT"})) << "the guest has no NUMA";
  EXPECT_TRUE(features["linux"]["cgroup"]["v2"].get<bool>());
  EXPECT_FALSE(features["linux"]["netDevices"]["enabled"].get<bool>());
  auto actions = features["linux"]["seccomp"]["actions"];
  EXPECT_EQ(std::find(actions.begin(), actions.end(), "SCMP_ACT_NOTIFY"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "SCMP_ACT_ERRNO"), actions.end());
  // What create refuses is not advertised.
  auto flags = features["linux"]["seccomp"]["supportedFlags"];
  EXPECT_EQ(std::find(flags.begin(), flags.end(), "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"), flags.end());
  EXPECT_NE(std::find(flags.begin(), flags.end(), "SECCOMP_FILTER_FLAG_LOG"), flags.end());
  EXPECT_FALSE(features["linux"]["cgroup"]["rdma"].get<bool>());
  auto options_refused = features["mountOptions"];
  EXPECT_EQ(std::find(options_refused.begin(), options_refused.end(), "tmpcopyup"), options_refused.end());
  EXPECT_EQ(features["annotations"]["io.github.sandbox-rt.version"], "0.1.0");
}

}  // namespace
}  // namespace sandbox::oci
