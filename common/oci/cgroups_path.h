// Where linux.cgroupsPath puts a container, relative to a cgroup hierarchy's
// root: "/a/b" and "a/b" as paths, systemd's "slice:prefix:name" as
// <slice>/<prefix>-<name>.scope (runc's systemd driver layout). The host
// (sandbox-vmm's cgroup) and the guest (the container's) read it alike.
#pragma once

#include <optional>
#include <string>

#include "common/base/status.h"

namespace sandbox::oci {

// `fallback` when cgroupsPath is absent or empty. Never absolute, never "..".
Result<std::string> CgroupRelativePath(const std::optional<std::string>& cgroups_path, const std::string& fallback);

}  // namespace sandbox::oci
