// Processes a container outlives the CLI with (the monitor, sandbox-vmm) and
// the CLI that creates it: identified by pid and start time, so a recycled
// pid is never mistaken for them, and waited for through pidfds even when
// they are not our children.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "common/base/status.h"

namespace sandbox::shim {

struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_time = 0;  // field 22 of /proc/<pid>/stat (clock ticks since boot)
};

std::optional<uint64_t> ProcessStartTime(pid_t pid);
bool IsRunning(const ProcessIdentity& process);
// This process.
ProcessIdentity SelfIdentity();

// "<pid> <start time>", as stored in the state dir.
std::string FormatIdentity(const ProcessIdentity& process);
Result<ProcessIdentity> ParseIdentity(const std::string& text);
// The identity stored in `path`; nullopt when it is missing or unreadable.
std::optional<ProcessIdentity> ReadIdentity(const std::string& path);

// Waits until `process` is gone or `timeout` passes; true when gone.
bool WaitForExit(const ProcessIdentity& process, std::chrono::milliseconds timeout);

// SIGKILL, then waits (bounded) for it to be gone.
void KillAndWait(const ProcessIdentity& process);

}  // namespace sandbox::shim
