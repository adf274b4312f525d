// Host processes the sandbox outlives the CLI with (the monitor, sandbox-vmm),
// known by their identity (shim/runtime/process_identity.h), and the setup
// of the helpers the monitor forks.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/base/unique_fd.h"
#include "shim/runtime/process_identity.h"

namespace sandbox::shim {

// For a helper the monitor forks (sandbox-vmm, virtiofsd), in the child
// before exec: killed when its parent dies (and ended at once if the process
// of `parent_pidfd`, opened before the fork, already has: a child in a pid
// namespace of its own cannot see its parent's pid), no blocked signals and
// SIGHUP at its default (not the monitor's dispositions), stdin from `in`,
// stdout and stderr to `out`. Async-signal-safe: only system calls.
void BecomeHelperOf(int parent_pidfd, int in, int out);

// A pidfd of this process, for BecomeHelperOf.
UniqueFd OpenOwnPidfd();

// clone(2) used as fork(2), with the child in new `namespaces` (CLONE_NEW*
// flags; 0 for none): the child's pid or -1 (errno), 0 in the child. No
// fork handlers run, so the child keeps to system calls until it execs.
pid_t ForkIntoNamespaces(unsigned long namespaces);

// For AgentClient::Connect: whether the sandbox-vmm that `vmm_pid_file`
// names has exited (no while the file is missing: the VMM is starting).
std::function<bool()> VmmExitedCheck(const std::string& vmm_pid_file);

}  // namespace sandbox::shim
