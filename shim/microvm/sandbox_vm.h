// One sandbox's VM, from the host: virtiofsd when there are shares, then
// sandbox-vmm, until the guest agent answers; the agent connection; the VM's
// end, noticed by pidfd; and its teardown. Shared by every host process that
// owns a sandbox: the per-container monitor of `sandbox-rt create/run`
// (monitor.h) and the containerd shim's pod VM.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "shim/microvm/agent_client.h"
#include "shim/microvm/guest_network.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/microvm/shared_fs.h"

namespace sandbox::shim {

// "phase NAME +MS" lines on stderr (the owner's log): the benchmark's time
// breakdown of a create.
class PhaseLog {
 public:
  // `print` false: a VM whose phases nobody reads (a template's).
  explicit PhaseLog(bool print = true) : print_(print) {}
  void Mark(const char* phase) const;

 private:
  bool print_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The last 2000 bytes of a log file; empty when it is missing or empty.
std::string LogTail(const std::string& path);
// The guest console's tail, as a suffix for an error message.
std::string ConsoleTail(const std::string& console);

struct SandboxVmPlan {
  std::string vmm;  // the sandbox-vmm binary; its config is files.vmm_config
  std::string virtiofsd;
  std::vector<SharedMount> shares;  // none: no virtiofsd
  uint32_t boot_timeout_ms = 60'000;
  // linux.namespaces[network].path: its interfaces become the VM's NICs
  // (guest_network.h); empty: the VM has no network but loopback.
  std::string netns_path;
  // The owner made a network namespace of its own for this sandbox, with
  // nothing but loopback (the monitor's without netns_path): virtiofsd
  // stays in it instead of making another.
  bool private_network = false;
  // sandbox-vmm starts as the init of a new pid namespace, the one part of
  // its jail it cannot make itself (the rest: vmm.json's "jail").
  bool jail = false;
  // vmm.json restores a VM template (vm_template.h): once the agent
  // answers, its RNG is reseeded and its clock set (AfterRestore).
  bool restored = false;
  // virtiofsd even with no shares: a template's VM, whose virtio-fs device
  // its restored sandboxes will use.
  bool shared_fs_without_shares = false;
};

// How long Stop waits for a graceful poweroff by default.
inline constexpr std::chrono::seconds kVmStopGrace{10};

class SandboxVm {
 public:
  // Checked while the guest boots: a non-Ok status (the owner's client is
  // gone, ...) ends the wait with that status.
  using StillWanted = std::function<Status()>;

  SandboxVm(SandboxFiles files, SandboxVmPlan plan, const PhaseLog& phases)
      : files_(std::move(files)), plan_(std::move(plan)), phases_(phases) {}
  SandboxVm(const SandboxVm&) = delete;
  SandboxVm& operator=(const SandboxVm&) = delete;
  ~SandboxVm() { Stop(std::chrono::milliseconds(0)); }

  // virtiofsd (when there are shares) and sandbox-vmm, both killed if this
  // process dies; sandbox-vmm's identity goes to files.vmm_pid.
  Status Start();
  // Until the agent answers, the VMM ends, the boot timeout or `still_wanted`
  // says no; errors carry the VMM's log, virtiofsd's and the console's tails.
  Status WaitForAgent(const StillWanted& still_wanted);

  AgentClient& agent() { return *agent_; }
  bool has_agent() const { return agent_ != nullptr; }
  // sandbox-vmm's pid while it runs (the host process a container lives in), else -1.
  pid_t vmm_pid() const { return vmm_pid_; }
  // virtiofsd's pid while the VM has one (the pod's later containers' shares join it), else -1.
  pid_t virtiofsd_pid() const { return virtiofsd_pid_; }
  // A snapshot of the VM into two new files (vmm/README.md, "snapshot"),
  // after the agent connection is closed: a busy vsock device refuses it,
  // so it is retried for a while. The VM stays paused.
  // `shared_ranges`: the agent's (AgentClient::GetSharedRanges), which the
  // snapshot's clones map copy-on-write.
  Status Snapshot(const std::string& state_path, const std::string& memory_path,
                  const std::vector<GuestMemoryRange>& shared_ranges = {});
  // Readable once sandbox-vmm has ended (the VM is lost).
  int pidfd() const { return vmm_pidfd_.get(); }
  // Whether sandbox-vmm has ended (then no agent call can succeed: callers
  // fail at once instead of waiting out a connect timeout).
  // Waiting up to `wait` for it.
  bool Lost(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) const;
  // After pidfd() turned readable: reaps sandbox-vmm and returns the status a
  // container gets for a lost VM (StatusForLostVm).
  int ReapLost();

  // Ends the VM; safe after a partial start. The guest is asked to sync and
  // power off; once it answered, sandbox-vmm is killed, else given `grace`
  // for the poweroff; zero: sandbox-vmm is killed at once. virtiofsd ends
  // with sandbox-vmm's connection, or is killed. The pod network's mirrors
  // are removed.
  void Stop(std::chrono::milliseconds grace = kVmStopGrace);

  // virtiofsd's output and the guest console, as a suffix for an error.
  std::string DiagnosticTail() const;

 private:
  std::string VirtiofsdTail() const;
  void StopVmm(std::chrono::milliseconds grace);
  void StopVirtiofsd(int grace_ms);
  Status ConfigureGuestNetwork();

  SandboxFiles files_;
  SandboxVmPlan plan_;
  const PhaseLog& phases_;
  pid_t vmm_pid_ = -1;
  UniqueFd vmm_pidfd_;
  pid_t virtiofsd_pid_ = -1;
  std::unique_ptr<AgentClient> agent_;
  std::optional<net::NetworkConfig> network_;  // mirrored, for UpdateNetwork
};

// The container's status when the VM ended without the agent reporting an
// exit (guest panic, VMM crash or killed): 255, or 128+n when sandbox-vmm
// was killed by signal n.
int StatusForLostVm(int vmm_wait_status);

}  // namespace sandbox::shim
