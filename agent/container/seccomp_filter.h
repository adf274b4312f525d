// linux.seccomp -> a BPF filter built and loaded with libseccomp: every
// action (errnoRet honoured), argument conditions, architectures and flags.
// A notify action or listenerPath is refused: the agent has no listener to
// hand the notification fd to.
#pragma once

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

// Checks what can be checked before the container is built.
Status CheckSeccomp(const oci::Seccomp& seccomp);
// Builds and loads the filter into the calling thread; the filter must let
// through what the process does until its exec, and the exec. It leaves
// no_new_privs as it is (process.noNewPrivileges decides it, as in runc), so
// without no_new_privs the caller needs CAP_SYS_ADMIN.
Status LoadSeccomp(const oci::Seccomp& seccomp);

// When a process loads the filter (runc's order): without noNewPrivileges,
// while it still holds CAP_SYS_ADMIN, before its capabilities are dropped;
// with it, last before exec, so that as little as possible runs under it.
enum class SeccompStage { kBeforeCapabilities, kBeforeExec };
// Loads `seccomp`, if there is one, when `stage` is the one `process` loads it at.
Status LoadSeccompAt(SeccompStage stage, const std::optional<oci::Seccomp>& seccomp, const oci::Process& process);

}  // namespace sandbox::agent
