// sandbox-vmm's control API from the shim: one JSON request line, one JSON
// answer line (vmm/README.md, "Control API").
#pragma once

#include <string>

#include "common/base/status.h"

namespace sandbox::shim {

// Sends {"op": op} and returns the answer's "state" ("running", "paused",
// "stopping"); an answer with "ok": false becomes an error with its message.
Result<std::string> CallVmmApi(const std::string& socket_path, const std::string& op);

}  // namespace sandbox::shim
