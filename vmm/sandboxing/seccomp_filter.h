// sandbox-vmm's seccomp filters: one allowlist per kind of thread, each
// installed by the thread itself before the guest runs its first
// instruction (issue 17; Firecracker does the same). A system call outside
// the list traps: a SIGSYS handler writes which thread kind made which call
// and then dies of SIGSYS, so the process ends as if killed by the filter,
// with a line that says why.
#pragma once

#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace sandbox::vmm {

enum class ThreadKind {
  kMain,       // Run()'s waits, stop signals, teardown (and the exit grace thread it starts)
  kVcpu,       // KVM_RUN and the exits it handles: port/MMIO accesses, device activation
  kEventLoop,  // the devices' queues and sockets, and the control API
};

std::string_view ThreadKindName(ThreadKind kind);

// The system calls `kind` may make (numbers, x86-64), ioctl included when
// any of its requests is allowed: what docs/measurements.md counts.
std::vector<int> AllowedSyscalls(ThreadKind kind);

// Sets no_new_privs and loads `kind`'s filter on the calling thread only.
// Once per thread: filters stack, and the first one already bounds it.
Status InstallSeccompFilter(ThreadKind kind);

// Installs the process's SIGSYS handler (before any filter).
Status InstallSeccompViolationReporter();

}  // namespace sandbox::vmm
