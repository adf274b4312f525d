#include "common/oci/field_error.h"

namespace sandbox::oci {

Status FieldErrorsToStatus(const std::string& what, const FieldErrors& errors) {
  if (errors.empty()) return Status::Ok();
  std::string message = what + ": " + std::to_string(errors.size()) +
                        (errors.size() == 1 ? " error" : " errors");
  for (const FieldError& error : errors) message += "\n  " + error.ToString();
  return InvalidArgument(std::move(message));
}

std::string ChildPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string IndexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string MapKeyPath(const std::string& parent, const std::string& key) {
  return parent + "[\"" + key + "\"]";
}

}  // namespace sandbox::oci
