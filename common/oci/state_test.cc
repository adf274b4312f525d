#include "common/oci/state.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sandbox::oci {
namespace {

TEST(State, RoundTripsWithSpecFieldNames) {
  State state;
  state.oci_version = "1.3.0";
  state.id = "c1";
  state.status = "created";
  state.pid = 42;
  state.bundle = "/b";
  state.annotations = StringMap{{"k", "v"}};
  nlohmann::json json = nlohmann::json::parse(StateToJson(state));
  EXPECT_EQ(json["ociVersion"], "1.3.0");
  EXPECT_EQ(json["pid"], 42);
  EXPECT_EQ(json["annotations"]["k"], "v");
  EXPECT_FALSE(json.contains("rootfs"));
  State parsed;
  ASSERT_TRUE(ParseState(StateToJson(state), parsed).empty());
  EXPECT_EQ(StateToJson(parsed), StateToJson(state));
}

TEST(State, RejectsUnknownStatus) {
  State parsed;
  FieldErrors errors =
      ParseState(R"({"ociVersion":"1.3.0","id":"a","status":"flying","bundle":"/b"})", parsed);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "status");
}

TEST(State, StatusNames) {
  EXPECT_EQ(ContainerStatusName(ContainerStatus::kStopped), "stopped");
  EXPECT_EQ(ParseContainerStatus("paused"), ContainerStatus::kPaused);
  EXPECT_FALSE(ParseContainerStatus("Paused"));
}

}  // namespace
}  // namespace sandbox::oci
