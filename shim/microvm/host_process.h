// Host processes the sandbox outlives the CLI with (the monitor, sandbox-vmm),
// known by their identity (shim/runtime/process_identity.h), and the setup
// of the helpers the monitor forks.
#pragma once

#include <sys/types.h>

#include "shim/runtime/process_identity.h"

namespace sandbox::shim {

// For a helper the monitor forks (sandbox-vmm, virtiofsd), in the child
// before exec: killed when `parent` dies (and ended at once if it already
// has), no blocked signals and SIGHUP at its default (not the monitor's
// dispositions), stdin from `in`, stdout and stderr to `out`.
// Async-signal-safe: only system calls.
void BecomeHelperOf(pid_t parent, int in, int out);

}  // namespace sandbox::shim
