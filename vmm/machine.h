// One microVM: guest memory, the KVM VM and its vCPU threads, the legacy and
// virtio devices on their buses and the device event loop. Build() does all
// setup (nothing runs yet); Run() starts the threads and returns how the VM
// ended.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "vmm/api_server.h"
#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/event_loop.h"
#include "vmm/kvm/kvm.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/sandboxing/seccomp_filter.h"

namespace sandbox::vmm {

class MmioTransport;
class SnapshotReader;
class VirtioDevice;
class BalloonDevice;
class Serial;
class I8042;

// How a VM ended; the value is sandbox-vmm's exit status (documented in vmm/README.md).
enum class VmExit : int {
  kGuestReset = 0,   // the guest rebooted (reboot=k: i8042 reset): a requested end
  kVmmError = 1,     // configuration or setup error, or a device failure
  kTripleFault = 2,  // KVM_EXIT_SHUTDOWN
  kKvmError = 3,     // KVM_RUN failed or an exit KVM could not handle
  kHostStop = 4,     // SIGTERM/SIGINT or a forced stop from the control API
};

// A snapshot made for another shape of VM is refused by the field that
// differs: vcpus, memory_mib, or the number of virtio devices (a NIC more or
// less; each device's kind is checked as it is restored).
Status CheckSnapshotFits(const SnapshotReader& snapshot, const VmmConfig& config);

// Shared ranges (VmControl::Snapshot) must be at most kMaxSharedRanges,
// whole pages of RAM of `memory_bytes`, apart from each other and from the
// kernel's text; the error names the range.
Status CheckSharedRanges(const std::vector<GuestRange>& ranges, uint64_t memory_bytes,
                         const std::optional<GuestRange>& kernel_text);

class Machine : public VmControl {
 public:
  static Result<std::unique_ptr<Machine>> Build(const VmmConfig& config);
  ~Machine() override;

  // Runs the vCPUs and devices until the VM ends.
  VmExit Run();
  // Thread-safe; the first reason wins.
  void RequestStop(VmExit reason);
  // Parks every vCPU outside KVM_RUN (devices keep serving) / lets them go.
  Status Pause() override;
  Status Resume() override;
  std::string state() const override { return paused_ ? "paused" : "running"; }
  void RequestGuestShutdown() override;
  void ForceStop() override { RequestStop(VmExit::kHostStop); }
  Result<std::vector<std::string>> DescribeVcpus() override;
  // Pauses the VM (it stays paused) and writes its state and guest RAM to
  // the two files (vmm/snapshot), with the shared ranges (VmControl). Refused,
  // the VM runs on as it was.
  Status Snapshot(UniqueFd state, UniqueFd memory, std::vector<GuestRange> shared_ranges) override;
  Result<BalloonDevice::Stats> Balloon() const override;

  const std::string& command_line() const { return command_line_; }

 private:
  Machine() = default;
  // `snapshot`: the state file of a restore (null for a boot).
  Status SetUpMemory(const VmmConfig& config, const SnapshotReader* snapshot);
  Status SetUpDevices(const VmmConfig& config);
  Status LoadGuest(const VmmConfig& config);
  // `boot`: the boot vCPU gets the kernel's entry registers (not on a restore).
  Status SetUpVcpus(uint32_t count, bool boot);
  // With every vCPU parked: the state file and guest RAM.
  Status WriteSnapshot(int state, int memory, const std::vector<GuestRange>& shared_ranges);
  // Maps `ranges` into the VM's nested page tables before the guest runs,
  // where KVM can (KVM_PRE_FAULT_MEMORY): each first touch of a page would
  // otherwise be an exit, which nested virtualization makes costly
  // (docs/measurements.md). A restore maps what the snapshot's guest had
  // touched (its clones touch it again), a cold boot BootPreFaultRanges.
  // Only a speed-up: a failure is logged, not returned. `what` ("boot" or
  // "restore") starts the log line that says what it did.
  void PreFault(const std::vector<GuestRange>& ranges, const char* what);
  // The vCPUs' and devices' state from a snapshot (Build, before any thread).
  Status RestoreState(const SnapshotReader& snapshot);
  // The event loop and vCPU threads; each loads its seccomp filter and
  // counts down `sandboxed` (the vCPUs then wait for every filter).
  void StartThreads(std::latch& sandboxed);
  void RunVcpu(size_t index);
  // Loads `kind`'s seccomp filter on the calling thread (when the config
  // asks for it); a failure stops the VM.
  void EnterSeccomp(ThreadKind kind);
  bool HandleExit(Vcpu& vcpu);
  void KickVcpus();
  void KickVcpusLocked();  // threads_mutex_ held
  void JoinVcpuThreads();
  Status WatchStopSignals();
  void PollStopSignals();
  void WatchConsoleInput();

  std::optional<Kvm> kvm_;
  std::optional<Vm> vm_;
  std::optional<GuestMemory> memory_;
  std::unique_ptr<EventLoop> loop_;
  Bus io_bus_{"port I/O"};
  Bus mmio_bus_{"MMIO"};
  std::shared_ptr<Serial> serial_;
  std::shared_ptr<I8042> i8042_;
  std::unique_ptr<ApiServer> api_server_;
  bool serial_input_ = false;
  bool seccomp_ = true;
  UniqueFd stop_signals_;
  std::vector<std::shared_ptr<MmioTransport>> transports_;
  std::shared_ptr<BalloonDevice> balloon_;  // also in transports_, when the config has one
  std::vector<Vcpu> vcpus_;
  std::mutex threads_mutex_;  // vcpu_threads_ while it is filled, emptied and read by kicks
  std::vector<std::thread> vcpu_threads_;
  std::thread loop_thread_;
  std::vector<uint32_t> readable_msrs_;  // probed at the first snapshot
  std::string command_line_;
  uint64_t entry_point_ = 0;
  std::vector<GuestRange> boot_prefault_;  // a cold boot's: BootPreFaultRanges, from LoadGuest
  std::optional<GuestRange> kernel_text_;  // the kernel's text pages, kept in snapshots
  // The guest's own unchanging RAM that a restore maps copy-on-write
  // (VmControl::Snapshot): what the snapshot restored from had.
  std::vector<GuestRange> shared_ranges_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<VmExit> exit_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> paused_{false};
  size_t parked_vcpus_ = 0;
  static constexpr std::chrono::seconds kStopGracePeriod{10};
};

}  // namespace sandbox::vmm
