#include "common/log/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace sandbox {
namespace {

TEST(Log, JsonLinesHaveLevelMsgAndTime) {
  std::string path = "/tmp/sandbox-log-test-" + std::to_string(::getpid()) + ".json";
  ASSERT_TRUE(InitLogging({.file = path, .format = LogFormat::kJson, .also_stderr = false}).ok());
  spdlog::error("container \"a\" failed: quote \" and newline \n end");
  spdlog::warn("careful");
  spdlog::default_logger()->flush();
  std::ifstream in(path);
  std::string first, second;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  nlohmann::json line = nlohmann::json::parse(first);
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "container \"a\" failed: quote \" and newline \n end");
  EXPECT_TRUE(line["time"].is_string());
  EXPECT_EQ(nlohmann::json::parse(second)["level"], "warn");
  ::unlink(path.c_str());
}

TEST(Log, ParseLogFormatRejectsUnknown) {
  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  Result<LogFormat> bad = ParseLogFormat("yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("yaml"), std::string::npos);
}

TEST(Log, UnwritableLogFileIsAnError) {
  Status status = InitLogging({.file = "/proc/sandbox-no-such-dir/x.log", .also_stderr = false});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/proc/sandbox-no-such-dir/x.log"), std::string::npos);
}

}  // namespace
}  // namespace sandbox
