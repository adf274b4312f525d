// A problem found in a JSON document, named by its JSON path
// ("linux.namespaces[2].type") so users can find it.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"

namespace sandbox::oci {

struct FieldError {
  std::string path;
  std::string message;
  std::string ToString() const { return path.empty() ? message : path + ": " + message; }
  bool operator==(const FieldError&) const = default;
};

using FieldErrors = std::vector<FieldError>;

// One InvalidArgument status listing every error, one per line, under `what`.
Status FieldErrorsToStatus(const std::string& what, const FieldErrors& errors);

// Path helpers: Child("linux", "seccomp") == "linux.seccomp",
// Index("mounts", 2) == "mounts[2]", MapKey("linux.sysctl", "a.b") == "linux.sysctl[\"a.b\"]".
std::string ChildPath(const std::string& parent, const std::string& key);
std::string IndexPath(const std::string& parent, size_t index);
std::string MapKeyPath(const std::string& parent, const std::string& key);

}  // namespace sandbox::oci
