#include "shim/runtime/hooks.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/base/testing/namespace_holder.h"

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

// createContainer: the hook runs in the container pid's network namespace
// (here a child's own), and this thread is back in its own afterwards.
TEST_F(HooksTest, CreateContainerHooksRunInTheContainersNetworkNamespace) {
  testing::NamespaceHolder holder(CLONE_NEWNET);
  ASSERT_TRUE(holder.valid());
  const pid_t child = holder.pid();
  auto link = [](const std::string& path) {
    char target[128] = {};
    return ::readlink(path.c_str(), target, sizeof(target) - 1) > 0 ? std::string(target) : std::string("?");
  };
  const std::string before = link("/proc/thread-self/ns/net");
  const Status ran = RunHooksInNetworkNamespaceOf(child, "createContainer",
                                                  {Shell("readlink /proc/self/ns/net > " + dir_ + "/netns")}, state_);
  EXPECT_TRUE(ran.ok()) << ran.message();
  EXPECT_EQ(ReadFile(dir_ + "/netns").value_or(""), link("/proc/" + std::to_string(child) + "/ns/net") + "\n");
  EXPECT_NE(link("/proc/" + std::to_string(child) + "/ns/net"), before);
  const Status failed = RunHooksInNetworkNamespaceOf(child, "createContainer", {Shell("exit 4")}, state_);
  EXPECT_NE(failed.message().find("hooks.createContainer[0] /bin/sh: exited with status 4"), std::string::npos)
      << failed.message();
  EXPECT_EQ(link("/proc/thread-self/ns/net"), before);
  holder.Release();
  const Status gone = RunHooksInNetworkNamespaceOf(child, "createContainer", {Shell("true")}, state_);
  EXPECT_NE(gone.message().find("/proc/" + std::to_string(child) + "/ns/net"), std::string::npos) << gone.message();
}

TEST_F(HooksTest, AHookInheritsNoFdButItsStdio) {
  int leaky[2];
  ASSERT_EQ(::pipe(leaky), 0);  // not close-on-exec on purpose
  const std::string fd = std::to_string(leaky[0]);
  const Status ran = RunHooks("poststart", {Shell("if [ -e /proc/$$/fd/" + fd + " ]; then echo leaked; else echo closed; fi > " +
                                                  dir_ + "/fds")}, state_);
  EXPECT_TRUE(ran.ok()) << ran.message();
  EXPECT_EQ(ReadFile(dir_ + "/fds").value_or(""), "closed\n");
  ::close(leaky[0]);
  ::close(leaky[1]);
}

}  // namespace
}  // namespace sandbox::shim
