// Starting the monitor (monitor.h): create forks it without an exec. Under
// nested emulation a process start of sandbox-rt costs about 0.5 s even as a
// static PIE (about 0.9 s when it was dynamic), one of the largest parts of a
// `sandbox-rt run` from a VM template; the forked child does what the exec
// did for it instead.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/base/status.h"

namespace sandbox::shim {

// Forks the monitor for `state_dir` with this process's stdio, in its own
// session; returns its pid once it reported the container created, or its
// error. Must be called with one thread (the CLI's own).
Result<pid_t> SpawnMonitor(const std::string& state_dir);

// What exec would have done, for a forked child that becomes another
// program; each a no-op where it has nothing to do.
// Closes every fd that has FD_CLOEXEC set.
void CloseCloseOnExecFds();
// Sets each signal that has a handler back to SIG_DFL (ignored ones stay
// ignored, the mask stays).
void ResetSignalHandlers();
// Makes /proc/self/cmdline (what ps and pgrep -f show) read `argv`, whose
// storage must live as long as the process. Needs CAP_SYS_RESOURCE; false
// without it, the old command line left (the monitor is then exec'd as
// `sandbox-rt __monitor STATE_DIR` instead).
bool SetCommandLine(const std::string& nul_separated_argv);

}  // namespace sandbox::shim
