#include "common/base/subprocess.h"

#include <gtest/gtest.h>

namespace sandbox {
namespace {

TEST(Subprocess, CapturesOutputAndExitCode) {
  Result<CommandResult> result = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_NE(result->output.find("out"), std::string::npos);
  EXPECT_NE(result->output.find("err"), std::string::npos);
}

TEST(Subprocess, SignalsMapTo128PlusN) {
  Result<CommandResult> result = RunCommand({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 137);
}

TEST(Subprocess, MissingProgramIsAnError) {
  Result<CommandResult> result = RunCommand({"/nonexistent/program"});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("/nonexistent/program"), std::string::npos);
}

TEST(Subprocess, InputIsTheProgramsStdin) {
  Result<CommandResult> result = RunCommand({"sh", "-c", "wc -c; cat > /dev/null"}, std::string(100000, 'x'));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->output, "100000\n");
  // A program that reads nothing: the rest of the input is dropped, no SIGPIPE here.
  result = RunCommand({"true"}, std::string(1 << 20, 'x'));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0);
}

}  // namespace
}  // namespace sandbox
