// The sandbox monitor: the host process that lives as long as the container
// (its pid is the container's pid in `state`, --pid-file and for containerd,
// which reaps it as the container's init and takes its exit code).
//
// `sandbox-rt create` forks it (monitor_spawn.h: no exec, its command line
// set to `sandbox-rt __monitor STATE_DIR`) with the caller's stdio. It starts
// sandbox-vmm, waits for the agent, creates the container with stdio
// streams, reports "ok" (or "error: ...") to create on fd 3, then relays the
// caller's stdin/stdout/stderr to and from the guest until the container
// exits, records the exit status, ends the VM and exits with that status.
// Until that report create is its client: should create die first (a
// client's timeout SIGKILLs it), nobody else would undo the half-made
// container, so the monitor ends the VM, removes the host cgroups and the
// state dir, and exits (create_client.h).
//
// With process.terminal the caller's stdio is not used: the monitor opens a
// host pty, sends its master to the console socket (runc's protocol) and
// relays the slave, in raw mode, to the guest pty. The slave is the
// monitor's controlling terminal, so a resize of the master by whoever holds
// it reaches the monitor as SIGWINCH, and the guest pty follows (ResizeTty).
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/io/preserved_fds.h"
#include "shim/microvm/shared_fs.h"

namespace sandbox::shim {

// The monitor's argv[1], as ps and pgrep -f show it.
inline constexpr char kMonitorCommand[] = "__monitor";
// Above fds 3, 4, ... which carry the caller's --preserve-fds.
inline constexpr int kMonitorReportFd = 3 + static_cast<int>(kMaxPreservedFds);

// What create leaves in monitor.json for the monitor.
struct MonitorPlan {
  std::string id;
  std::string bundle;  // for the state that startContainer hooks get
  std::string vmm;  // the sandbox-vmm binary
  std::string rootfs_fstype;  // for the agent: "dir" (the shared root.path), "erofs" or "ext4"
  bool no_pivot = false;
  uint32_t boot_timeout_ms = 60'000;
  std::vector<std::string> host_cgroups;  // linux.cgroupsPath on each host hierarchy
  // process.terminal: the pty master goes to this socket (--console-socket).
  std::string console_socket;
  uint16_t console_rows = 0;  // process.consoleSize; 0: none
  uint16_t console_columns = 0;
  // Host bind mounts and the shared root.path, served by virtiofsd (shared_fs.h).
  std::string virtiofsd;
  std::vector<SharedMount> shares;
  // --preserve-fds: the monitor's fds 3, 4, ... as the caller gave them,
  // relayed to the container process's fds of the same numbers.
  std::vector<FdAccess> preserved_fds;
  // linux.namespaces[network].path: the monitor joins it (the container's
  // pid is in the pod's network, as with runc) and mirrors it into the VM.
  std::string netns_path;
  // sandbox-vmm starts in a pid namespace of its own and jails itself (vmm.json's "jail", written
  // from the same plan).
  bool jail_vmm = false;
  // vmm.json restores a VM template (vm_template.h) instead of booting.
  bool restored = false;
  // run: the container is started before the hand-over (SandboxCreateRequest::start).
  bool start = false;
};

std::string EncodeMonitorPlan(const MonitorPlan& plan);
Result<MonitorPlan> DecodeMonitorPlan(const std::string& text);
Result<MonitorPlan> ReadMonitorPlan(const std::string& path);

// The monitor process's main; returns its exit status.
int RunMonitor(const std::string& state_dir);

}  // namespace sandbox::shim
