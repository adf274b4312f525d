#pragma once

#include <string_view>

#include "common/base/status.h"

namespace sandbox::shim {

// Container ids follow runc: 1 to 1024 characters of [A-Za-z0-9_+.-], and not
// "." or "..", so an id can never name a path outside the state root.
Status ValidateContainerId(std::string_view id);

}  // namespace sandbox::shim
