// The host cgroups of a sandbox's host processes (the monitor and
// sandbox-vmm): linux.cgroupsPath in every cgroup hierarchy mounted on the
// host, so cgroup v2, v1 and hybrid hosts all account the VM where the
// orchestrator expects the container (the container's own cgroup, with its
// limits, is in the guest).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sandbox::shim {

// <mount point>/<relative> for each cgroup or cgroup2 mount in
// `mounts_text` (/proc/self/mounts format).
std::vector<std::string> HostCgroupDirs(const std::string& mounts_text, const std::string& relative);

// Creates the dirs (a v1 cpuset copies its parent's cpus/mems, or nothing
// could join) and moves `pid` into each.
Status JoinHostCgroups(const std::vector<std::string>& dirs, pid_t pid);

// Removes the leaf dirs (empty once the processes are gone; missing ones
// count as removed). A cgroup whose last processes were killed but are
// still exiting (a virtiofsd unmapping guest RAM) refuses with EBUSY for a
// while: retried for up to `patience`, then the first failure names the dir.
Status RemoveHostCgroups(const std::vector<std::string>& dirs, std::chrono::milliseconds patience);
// What delete and an abandoned create wait: a killed process's exit takes
// a few hundred ms at most, under emulation included.
inline constexpr std::chrono::milliseconds kHostCgroupPatience{10000};

// The cgroup dirs a process is in, from its /proc/<pid>/cgroup text, on each
// cgroup or cgroup2 mount in `mounts_text` whose hierarchy it names: where
// the monitor goes back to before it removes the host cgroups it is in (a
// process cannot remove its own cgroup, and a v2 parent with controllers
// takes no processes).
std::vector<std::string> CurrentCgroupDirs(const std::string& mounts_text, const std::string& proc_cgroup_text);

// Moves `pid` into each of `dirs`, which must exist (none is created).
Status MoveToCgroups(const std::vector<std::string>& dirs, pid_t pid);

}  // namespace sandbox::shim
