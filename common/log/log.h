// Process-wide logging setup. spdlog's default logger is the one global object
// of each binary; everything else is passed explicitly.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "common/base/status.h"

namespace sandbox {

enum class LogFormat { kText, kJson };

struct LogOptions {
  std::string file;             // empty: stderr only
  LogFormat format = LogFormat::kText;
  bool debug = false;
  bool also_stderr = true;      // warnings and errors also reach stderr
};

// Parses "text" or "json".
Result<LogFormat> ParseLogFormat(const std::string& name);

// Installs the default logger. With a file and kJson, each line in the file is
// {"level":"...","msg":"...","time":"RFC3339"} as runc writes it (containerd
// reads that shape back when a runtime command fails).
Status InitLogging(const LogOptions& options);

}  // namespace sandbox
