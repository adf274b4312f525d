#include "shim/runtime/hooks.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox::shim {
namespace {

oci::Hook Shell(const std::string& script, std::optional<oci::StringList> env = std::nullopt) {
  return oci::Hook{.path = "/bin/sh", .args = oci::StringList{"hook-name", "-c", script, "first"}, .env = env,
                   .timeout = std::nullopt, .unknown = {}};
}

class HooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_.oci_version = "1.2.0";
    state_.id = "c1";
    state_.status = "creating";
    state_.pid = 4242;
    state_.bundle = "/bundle";
  }
  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-hooks-");
  const std::string dir_ = temp_.path();
  oci::State state_;
};

TEST_F(HooksTest, StateOnStdinArgsAndEnvironment) {
  ::setenv("SANDBOX_HOOK_TEST", "inherited", 1);
  const std::vector<oci::Hook> hooks = {
      // args[0] is argv[0] (sh's own command line); "first" is $0 of the -c script.
      Shell("cat > " + dir_ + "/state; echo \"$(tr '\\0' '\\n' < /proc/$$/cmdline | head -n 1) $0 $HOOKVAR "
            "${SANDBOX_HOOK_TEST:-none}\" > " + dir_ + "/args",
            oci::StringList{"HOOKVAR=set"}),
      // Without env: the runtime's own environment.
      Shell("echo \"${SANDBOX_HOOK_TEST:-none}\" > " + dir_ + "/inherited")};
  const Status ran = RunHooks("createRuntime", hooks, state_);
  ASSERT_TRUE(ran.ok()) << ran.message();
  const nlohmann::json state = nlohmann::json::parse(ReadFile(dir_ + "/state").value_or("null"));
  EXPECT_EQ(state["id"], "c1");
  EXPECT_EQ(state["status"], "creating");
  EXPECT_EQ(state["pid"], 4242);
  EXPECT_EQ(ReadFile(dir_ + "/args").value_or(""), "hook-name first set none\n");
  EXPECT_EQ(ReadFile(dir_ + "/inherited").value_or(""), "inherited\n");
}

TEST_F(HooksTest, TheFirstFailureStopsTheRestAndIsNamedWithItsOutput) {
  const std::vector<oci::Hook> hooks = {Shell("exit 0"), Shell("echo broken >&2; exit 3"),
                                        Shell("touch " + dir_ + "/third")};
  const Status ran = RunHooks("prestart", hooks, state_);
  EXPECT_EQ(ran.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ran.message(), "hooks.prestart[1] /bin/sh: exited with status 3: broken\n");
  EXPECT_FALSE(PathExists(dir_ + "/third"));
  const Status missing = RunHooks("poststop", {oci::Hook{.path = dir_ + "/no-such-hook"}}, state_);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("hooks.poststop[0] " + dir_ + "/no-such-hook"), std::string::npos)
      << missing.message();
}

TEST_F(HooksTest, AHookThatOutlivesItsTimeoutIsKilled) {
  oci::Hook slow = Shell("echo waiting; exec sleep 30");
  slow.timeout = 1;
  const auto start = std::chrono::steady_clock::now();
  const Status ran = RunHooks("poststart", {slow}, state_);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ran.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ran.message(), "hooks.poststart[0] /bin/sh: killed after its timeout of 1 s: waiting\n");
  EXPECT_LT(took, std::chrono::seconds(20)) << "the hook was not killed";
}

TEST_F(HooksTest, AHookThatNeverReadsItsStdinDoesNotBlock) {
  state_.annotations = oci::StringMap{{"big", std::string(200000, 'x')}};
  const Status ran = RunHooks("poststop", {Shell("exit 0")}, state_);
  EXPECT_TRUE(ran.ok()) << ran.message();
}

}  // namespace
}  // namespace sandbox::shim
