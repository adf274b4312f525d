#include "common/log/log.h"

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace sandbox {
namespace {

std::string Rfc3339(spdlog::log_clock::time_point when) {
  std::time_t seconds = spdlog::log_clock::to_time_t(when);
  std::tm utc;
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// runc's level names: "warning" is spelled "warn".
std::string LevelName(spdlog::level::level_enum level) {
  if (level == spdlog::level::warn) return "warn";
  auto name = spdlog::level::to_string_view(level);
  return std::string(name.data(), name.size());
}

// Writes one JSON object per line; nlohmann escapes the message.
class JsonFileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JsonFileSink(const std::string& path) { file_.open(path, /*truncate=*/false); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    nlohmann::json line = {
        {"level", LevelName(msg.level)},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
        {"time", Rfc3339(msg.time)},
    };
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    spdlog::memory_buf_t buffer;
    buffer.append(text.data(), text.data() + text.size());
    file_.write(buffer);
  }
  void flush_() override { file_.flush(); }

 private:
  spdlog::details::file_helper file_;
};

}  // namespace

Result<LogFormat> ParseLogFormat(const std::string& name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return InvalidArgument("--log-format: unknown format \"" + name + "\" (want text or json)");
}

Status InitLogging(const LogOptions& options) {
  std::vector<spdlog::sink_ptr> sinks;
  if (options.also_stderr) {
    auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    stderr_sink->set_pattern("sandbox-rt: %v");
    stderr_sink->set_level(options.debug ? spdlog::level::debug : spdlog::level::warn);
    sinks.push_back(stderr_sink);
  }
  if (!options.file.empty()) {
    try {
      if (options.format == LogFormat::kJson) {
        sinks.push_back(std::make_shared<JsonFileSink>(options.file));
      } else {
        auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
        sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
        sinks.push_back(sink);
      }
    } catch (const spdlog::spdlog_ex& error) {
      return InvalidArgument("--log " + options.file + ": " + error.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("sandbox-rt", sinks.begin(), sinks.end());
  logger->set_level(options.debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace sandbox
