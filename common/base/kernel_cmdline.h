// Reading a Linux kernel command line as the kernel does: words split at
// spaces outside double quotes, the quotes themselves dropped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sandbox {

// The value of the last `name=value` word, as the kernel's early parameters
// take it; nullopt when no word sets `name`. A bare `name` is an empty value.
std::optional<std::string> LastKernelParameter(std::string_view cmdline, std::string_view name);

}  // namespace sandbox
