#include "shim/microvm/sandbox_vm.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/unix_socket.h"
#include "shim/microvm/host_process.h"
#include "shim/microvm/vmm_api_client.h"
#include "shim/runtime/process_identity.h"

namespace sandbox::shim {
namespace {

// sandbox-vmm, in the owner's session, killed if the owner dies. Jailed,
// it is the init of a new pid namespace: it sees no host process, and
// nothing it could start would outlive it.
Result<pid_t> SpawnVmm(const std::string& vmm, const SandboxFiles& files, const PodTaps& taps, bool jail) {
  UniqueFd log(::open(files.vmm_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log.valid()) return ErrnoStatus("open", files.vmm_log);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const UniqueFd parent = OpenOwnPidfd();
  const pid_t pid = ForkIntoNamespaces(jail ? CLONE_NEWPID : 0);
  if (pid < 0) return ErrnoStatus("clone", jail ? "sandbox-vmm in a new pid namespace (needs root)" : "sandbox-vmm");
  if (pid == 0) {
    BecomeHelperOf(parent.get(), null.get(), log.get());
    if (!PlaceTapFdsForExec(taps)) ::_exit(126);
    ::execl(vmm.c_str(), "sandbox-vmm", "--config", files.vmm_config.c_str(), nullptr);
    ::_exit(127);
  }
  return pid;
}

int ExitCodeOf(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

}  // namespace

void PhaseLog::Mark(const char* phase) const {
  if (!print_) return;
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_);
  std::fprintf(stderr, "sandbox-rt monitor: phase %s +%lld ms\n", phase, static_cast<long long>(elapsed.count()));
}

std::string LogTail(const std::string& path) {
  const std::string text = ReadFile(path).value_or("");
  const size_t keep = 2000;
  return text.size() > keep ? text.substr(text.size() - keep) : text;
}

std::string ConsoleTail(const std::string& console) {
  const std::string tail = LogTail(console);
  if (tail.empty()) return " (the guest console is empty)";
  return "; guest console tail:\n" + tail;
}

Status SandboxVm::Start() {
  if (!plan_.shares.empty() || plan_.shared_fs_without_shares) {
    // The listener is ours, so sandbox-vmm can connect before virtiofsd runs.
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd listener, ListenUnix(files_.virtiofs_socket, 1));
    const VirtiofsdNetwork network =
        plan_.private_network ? VirtiofsdNetwork::kCallersPrivateNamespace : VirtiofsdNetwork::kNewNamespace;
    SANDBOX_ASSIGN_OR_RETURN(virtiofsd_pid_, SpawnVirtiofsd(plan_.virtiofsd, plan_.shares, files_.shared_dir,
                                                            listener.get(), files_.virtiofsd_log, network));
    phases_.Mark("virtiofsd-started");
  }
  PodTaps taps;
  if (!plan_.netns_path.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(GuestNetwork network, ConnectGuestNetwork(plan_.netns_path, files_));
    network_ = std::move(network.config);
    taps = std::move(network.taps);
    // A restored guest's NIC i (TAP i) still has its template's MAC.
    if (plan_.restored) {
      for (size_t i = 0; i < network_->interfaces.size(); ++i) network_->interfaces[i].guest_mac = TemplateNicMac(i);
    }
    phases_.Mark("network-mirrored");
  }
  // Our copies of the TAP fds close on return: a TAP lives as long as sandbox-vmm.
  SANDBOX_ASSIGN_OR_RETURN(vmm_pid_, SpawnVmm(plan_.vmm, files_, taps, plan_.jail));
  phases_.Mark("vmm-started");
  vmm_pidfd_.Reset(static_cast<int>(::syscall(SYS_pidfd_open, vmm_pid_, 0)));
  const std::optional<uint64_t> start = ProcessStartTime(vmm_pid_);
  return WriteFileAtomic(files_.vmm_pid, FormatIdentity({.pid = vmm_pid_, .start_time = start.value_or(0)}), 0600);
}

Status SandboxVm::WaitForAgent(const StillWanted& still_wanted) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(plan_.boot_timeout_ms);
  for (;;) {
    SANDBOX_RETURN_IF_ERROR(still_wanted());
    Result<std::unique_ptr<AgentClient>> agent = AgentClient::Connect(files_.vsock, std::chrono::milliseconds(500));
    if (agent.ok()) {
      agent_ = std::move(agent).value();
      phases_.Mark("agent-ready");
      if (plan_.restored) {
        Status restored = agent_->AfterRestore();
        if (!restored.ok()) return Status(restored.code(), "the restored guest's AfterRestore: " + restored.message());
        phases_.Mark("agent-restored");
      }
      return ConfigureGuestNetwork();
    }
    int status = 0;
    if (::waitpid(vmm_pid_, &status, WNOHANG) == vmm_pid_) {
      vmm_pid_ = -1;
      const std::string log = ReadFile(files_.vmm_log).value_or("");
      return Unavailable("sandbox-vmm exited with status " + std::to_string(ExitCodeOf(status)) +
                         " before the agent answered: " + log + DiagnosticTail());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      // Where the vCPUs stand tells a hung guest kernel (which, quiet, prints
      // nothing) from one that crashed or never got the CPU.
      return Unavailable("the guest agent did not answer within " + std::to_string(plan_.boot_timeout_ms) + " ms" +
                         ConsoleTail(files_.console) + "; the guest's vCPUs:\n" + DescribeGuestVcpus(files_.api));
    }
  }
}

Status SandboxVm::Snapshot(const std::string& state_path, const std::string& memory_path,
                           const std::vector<GuestMemoryRange>& shared_ranges) {
  agent_.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto create = [](const std::string& path) {
      return UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    };
    UniqueFd state = create(state_path), memory = create(memory_path);
    if (!state.valid() || !memory.valid()) return ErrnoStatus("open", "snapshot files " + state_path);
    Status saved = SnapshotVm(files_.api, state.get(), memory.get(), shared_ranges, std::chrono::seconds(60));
    // The guest's side of the closed connection takes a moment to go.
    const bool busy = saved.code() == StatusCode::kFailedPrecondition && saved.message().find("vsock") != std::string::npos;
    if (!busy || std::chrono::steady_clock::now() >= deadline) return saved;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status SandboxVm::ConfigureGuestNetwork() {
  if (!network_) return Status::Ok();
  Status updated = agent_->UpdateNetwork(*network_);
  if (!updated.ok()) return Status(updated.code(), "configuring the guest's network: " + updated.message());
  phases_.Mark("network-configured");
  return Status::Ok();
}

bool SandboxVm::Lost(std::chrono::milliseconds wait) const {
  if (!vmm_pidfd_.valid()) return vmm_pid_ <= 0;
  pollfd ended{vmm_pidfd_.get(), POLLIN, 0};
  return ::poll(&ended, 1, static_cast<int>(wait.count())) == 1;
}

int SandboxVm::ReapLost() {
  int vmm_status = 0;
  if (vmm_pid_ > 0 && ::waitpid(vmm_pid_, &vmm_status, 0) == vmm_pid_) vmm_pid_ = -1;
  return StatusForLostVm(vmm_status);
}

void SandboxVm::Stop(std::chrono::milliseconds grace) {
  StopVmm(grace);
  if (plan_.netns_path.empty()) return;
  // After sandbox-vmm: its TAP fds are closed, so the TAPs are gone too.
  if (Status disconnected = DisconnectGuestNetwork(files_); !disconnected.ok()) {
    std::fprintf(stderr, "sandbox-rt: removing the pod network's mirrors: %s\n", disconnected.message().c_str());
  }
}

void SandboxVm::StopVmm(std::chrono::milliseconds grace) {
  if (vmm_pid_ <= 0) {
    agent_.reset();
    StopVirtiofsd(0);  // the VM ended already, or never started
    return;
  }
  const bool graceful = grace.count() > 0;
  // The agent answers once the guest's file systems are synced: the guest
  // has nothing left to lose, and its kernel's reboot (device by device, each
  // a VM exit) is not worth waiting for. Without an answer, the agent's own
  // poweroff (once the asking connection closes) is given `grace`.
  const bool synced = agent_ && graceful && agent_->DestroySandbox(std::chrono::seconds(2)).ok();
  agent_.reset();
  pollfd ended{vmm_pidfd_.get(), POLLIN, 0};
  if (synced || !graceful || !vmm_pidfd_.valid() || ::poll(&ended, 1, static_cast<int>(grace.count())) != 1) {
    ::kill(vmm_pid_, SIGKILL);
  }
  ::waitpid(vmm_pid_, nullptr, 0);
  vmm_pid_ = -1;
  StopVirtiofsd(graceful ? 5'000 : 0);
  phases_.Mark("vm-ended");
}

void SandboxVm::StopVirtiofsd(int grace_ms) {
  if (virtiofsd_pid_ <= 0) return;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, virtiofsd_pid_, 0)));
  pollfd ended{pidfd.get(), POLLIN, 0};
  if (!pidfd.valid() || ::poll(&ended, 1, grace_ms) != 1) ::kill(virtiofsd_pid_, SIGKILL);
  ::waitpid(virtiofsd_pid_, nullptr, 0);
  virtiofsd_pid_ = -1;
}

std::string SandboxVm::VirtiofsdTail() const {
  if (virtiofsd_pid_ <= 0) return "";
  const std::string tail = LogTail(files_.virtiofsd_log);
  return tail.empty() ? "" : "; virtiofsd: " + tail;
}

std::string SandboxVm::DiagnosticTail() const { return VirtiofsdTail() + ConsoleTail(files_.console); }

int StatusForLostVm(int vmm_wait_status) {
  if (WIFSIGNALED(vmm_wait_status)) return 128 + WTERMSIG(vmm_wait_status);
  return 255;
}

}  // namespace sandbox::shim
