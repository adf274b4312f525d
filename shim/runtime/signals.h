#pragma once

#include <string_view>

#include "common/base/status.h"

namespace sandbox::shim {

// "KILL", "SIGKILL", "sigkill" or "9" -> 9, as `runc kill` accepts them.
Result<int> ParseSignal(std::string_view text);

}  // namespace sandbox::shim
