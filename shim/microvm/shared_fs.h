// Host bind mounts into the guest, as Kata does it: one virtio-fs share per
// sandbox, served by virtiofsd from <state>/shared. Each bind mount i of
// config.json is bound (by the helper below, in a mount namespace of its
// own) onto <state>/shared/<i>, read-only there when the mount is "ro", so
// virtiofsd cannot write what the container may not. In the guest the agent
// mounts the share at kGuestSharedDir and the container's mount i binds
// kGuestSharedDir/<i> with the spec's own options.
//
// Nothing is mounted in the host's mount namespace: the binds live and die
// with virtiofsd's namespace, so a killed sandbox leaves no mount behind.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::shim {

inline constexpr char kSharedFsTag[] = "sandbox-shared";
inline constexpr char kGuestSharedDir[] = "/run/sandbox-rt/shared";
inline constexpr char kDefaultVirtiofsd[] = "/usr/lib/qemu/virtiofsd";

struct SharedMount {
  size_t index = 0;     // in config.json's mounts
  std::string source;   // absolute host path
  bool read_only = false;
  bool recursive = false;  // rbind
  bool directory = false;
};

// The bind mounts of `spec`, with sources resolved against the bundle (as
// runc does) and checked to exist; an error names the mount.
Result<std::vector<SharedMount>> PlanSharedMounts(const oci::Spec& spec, const std::string& bundle);

// config.json (as saved at create) with each shared mount's source replaced
// by its path in the guest.
Result<std::string> RewriteSourcesForGuest(const std::string& config_json, const std::vector<SharedMount>& shares);

// Makes <shared_dir>/<i> for each share and starts virtiofsd on `listener`
// (a listening Unix socket; the caller closes its copy) in a new mount
// namespace holding the binds. Its output goes to `log_path`. The helper is
// killed if the calling process dies.
Result<pid_t> SpawnVirtiofsd(const std::string& virtiofsd, const std::vector<SharedMount>& shares,
                             const std::string& shared_dir, int listener, const std::string& log_path);

}  // namespace sandbox::shim
