// Semantic checks of a parsed config.json: every MUST of the runtime spec that
// can be checked before running, plus the limits of this runtime (features it
// rejects rather than silently ignores). All problems are collected.
#pragma once

#include <string>
#include <vector>

#include "common/oci/field_error.h"
#include "common/oci/spec.h"

namespace sandbox::oci {

struct ValidateOptions {
  // Bundle directory; when set, root.path must exist (relative to it) and be a directory.
  std::string bundle_dir;
  // The host's OCI arch name ("amd64", "arm64", ...) for the platform check.
  std::string host_arch = "amd64";
};

FieldErrors ValidateSpec(const Spec& spec, const ValidateOptions& options);

// Fields that are valid and accepted but not enforced in a microVM (the guest
// kernel has no AppArmor or SELinux; the VM boundary is the isolation). The
// runtime logs these notes so nothing is ignored silently.
// The same for an exec's process (exec -p): the LSM labels, and
// execCPUAffinity.initial (an exec is cloned straight into the container's
// cgroup, so there is no "before" for it to cover).
std::vector<std::string> UnenforcedFieldNotes(const Spec& spec);
std::vector<std::string> UnenforcedProcessFieldNotes(const Process& process);

// Checks of one process (exec) and of a resources update, with the same rules
// and paths as inside config.json ("process.cwd", "linux.resources.cpu.quota").
FieldErrors ValidateProcess(const Process& process);
FieldErrors ValidateResources(const Resources& resources);

// The OCI (Go) name of this machine's architecture.
std::string HostOciArch();

}  // namespace sandbox::oci
