#include "shim/runtime/container_id.h"

#include <string>

namespace sandbox::shim {

Status ValidateContainerId(std::string_view id) {
  constexpr size_t kMaxLength = 1024;
  if (id.empty()) return InvalidArgument("container id must not be empty");
  if (id.size() > kMaxLength) {
    return InvalidArgument("container id is " + std::to_string(id.size()) +
                           " characters long; the limit is " + std::to_string(kMaxLength));
  }
  if (id == "." || id == "..") return InvalidArgument("invalid container id \"" + std::string(id) + "\"");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '+' || c == '-' || c == '.';
    if (!ok) {
      return InvalidArgument("invalid container id \"" + std::string(id) +
                             "\": only letters, digits and _ + - . are allowed");
    }
  }
  return Status::Ok();
}

}  // namespace sandbox::shim
