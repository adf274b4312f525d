#include "common/oci/cgroups_path.h"

#include <sstream>

namespace sandbox::oci {

Result<std::string> CgroupRelativePath(const std::optional<std::string>& cgroups_path, const std::string& fallback) {
  const std::string path = cgroups_path.value_or("");
  if (path.empty()) return fallback;
  std::string relative;
  if (path.find(':') != std::string::npos && path.find('/') == std::string::npos) {
    const size_t first = path.find(':');
    const size_t second = path.find(':', first + 1);
    if (second == std::string::npos) {
      return InvalidArgument("linux.cgroupsPath: \"" + path + "\" is neither a path nor slice:prefix:name");
    }
    const std::string slice = path.substr(0, first);
    const std::string prefix = path.substr(first + 1, second - first - 1);
    const std::string name = path.substr(second + 1);
    if (name.empty()) return InvalidArgument("linux.cgroupsPath: \"" + path + "\" has no name");
    relative = (slice.empty() ? "system.slice" : slice) + "/" + (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  } else {
    relative = path;
  }
  while (relative.starts_with("/")) relative.erase(0, 1);
  std::istringstream parts(relative);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part == "..") return InvalidArgument("linux.cgroupsPath: \"" + path + "\" must not contain ..");
  }
  if (relative.empty()) return InvalidArgument("linux.cgroupsPath: \"" + path + "\" names the root cgroup");
  return relative;
}

}  // namespace sandbox::oci
