// The virtio-mmio transport (virtio 1.2, 4.2; version 2 registers only): the
// register window the guest driver programs, the feature and status
// handshake, queue setup, ioeventfd notifications and the irqfd interrupt.
// The guest is untrusted: bad widths, offsets or values are logged and
// ignored, a bad queue setup puts the device in DEVICE_NEEDS_RESET.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vmm/bus.h"
#include "vmm/event_loop.h"
#include "vmm/kvm/kvm.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/virtio/device.h"
#include "vmm/virtio/queue.h"
#include "vmm/virtio/rate_limited_warnings.h"

namespace sandbox::vmm {

class MmioTransport : public BusDevice, public std::enable_shared_from_this<MmioTransport> {
 public:
  // Creates the interrupt and notification eventfds and registers the
  // notification handlers with `loop`.
  static Result<std::shared_ptr<MmioTransport>> Create(std::shared_ptr<VirtioDevice> device,
                                                       const GuestMemory& memory, EventLoop& loop, uint64_t base,
                                                       uint32_t irq);
  ~MmioTransport() override;

  // Wires the eventfds into KVM: the interrupt as an irqfd, each queue's
  // QueueNotify write as an ioeventfd (the kernel completes those writes).
  Status AttachToVm(Vm& vm);
  // What a QueueNotify ioeventfd does; public for tests. An index past the
  // device's queues is ignored.
  void NotifyQueue(size_t index);
  int interrupt_fd() const { return interrupt_.fd(); }

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // "virtio_mmio.device=4K@0xd0000000:5" for the kernel command line.
  std::string KernelCommandLineDevice() const;
  uint32_t status() const { return status_; }
  const VirtioDevice& device() const { return *device_; }

  // Snapshots: the registers, each queue (without the chains the device
  // holds, VirtioDevice::ChainsHeld) and the device's own state, under
  // `prefix`, taken with the device's lock and the vCPUs stopped. A restore
  // on a transport just created for the same device kind activates the
  // device again when the snapshot's was.
  Status SaveState(SnapshotWriter& out, const std::string& prefix);
  Status RestoreState(const SnapshotReader& in, const std::string& prefix);

 private:
  // Bad register accesses and handshakes come from the guest, as often as it likes.
  RateLimitedWarnings guest_warnings_{"virtio"};
  MmioTransport(std::shared_ptr<VirtioDevice> device, const GuestMemory& memory, EventLoop& loop, uint64_t base,
                uint32_t irq);
  uint32_t ReadRegister(uint64_t offset);
  void WriteRegister(uint64_t offset, uint32_t value);
  void WriteStatus(uint32_t value);
  // DRIVER_OK: validates the ready queues and hands them to the device.
  Status ActivateDevice();
  void ResetLocked();
  void Fail(const Status& why);
  void RaiseInterrupt(uint32_t reason);
  Virtqueue* SelectedQueue();

  std::shared_ptr<VirtioDevice> device_;
  const GuestMemory& memory_;
  EventLoop& loop_;
  Vm* vm_ = nullptr;
  uint64_t base_;
  uint32_t irq_;
  EventFd interrupt_;
  std::vector<EventFd> notifications_;

  // Guarded by device_->mutex().
  std::vector<Virtqueue> queues_;
  uint32_t status_ = 0;
  uint32_t device_features_select_ = 0;
  uint32_t driver_features_select_ = 0;
  uint64_t driver_features_ = 0;
  uint32_t queue_select_ = 0;
  uint32_t config_generation_ = 0;
  bool activated_ = false;  // Activate() was called; Reset() is owed
  bool needs_reset_ = false;
  std::atomic<uint32_t> interrupt_status_{0};
};

}  // namespace sandbox::vmm
