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
// Builds and loads the filter into the calling thread (the container init,
// right before exec: the filter must let execve through).
Status LoadSeccomp(const oci::Seccomp& seccomp);

}  // namespace sandbox::agent
