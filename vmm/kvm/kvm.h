// Owners of the three kinds of KVM file descriptor: the system (/dev/kvm), one
// VM and its vCPUs. Each wraps the ioctls sandbox-vmm uses and turns failures
// into a Status naming the ioctl.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm {

class Kvm {
 public:
  // Opens the device, checks the API version and every capability the VMM
  // uses; a missing one is named in the error.
  static Result<Kvm> Open(const std::string& device = "/dev/kvm");

  int fd() const { return fd_.get(); }
  int vcpu_mmap_size() const { return vcpu_mmap_size_; }
  Result<std::vector<kvm_cpuid_entry2>> SupportedCpuid() const;

 private:
  UniqueFd fd_;
  int vcpu_mmap_size_ = 0;
};

class Vm {
 public:
  static Result<Vm> Create(const Kvm& kvm);

  int fd() const { return fd_.get(); }
  // Whether this VM's KVM has the capability (KVM_CHECK_EXTENSION).
  bool Has(int capability) const;
  Status SetMemoryRegion(uint32_t slot, uint64_t guest_address, uint64_t size, void* host);
  // x86 setup that must precede vCPU creation: TSS and identity-map pages in
  // the MMIO gap, the in-kernel PIC+IOAPIC and the PIT.
  Status SetUpX86Platform(uint64_t tss_address, uint64_t identity_map_address);
  Status RegisterIrqfd(int event_fd, uint32_t gsi);
  // A write of `value` (4 bytes) to `address` signals `event_fd` in the kernel.
  Status RegisterMmioIoeventfd(int event_fd, uint64_t address, uint32_t value);
  Status UnregisterMmioIoeventfd(int event_fd, uint64_t address, uint32_t value);

 private:
  UniqueFd fd_;
};

class Vcpu {
 public:
  static Result<Vcpu> Create(const Kvm& kvm, const Vm& vm, uint32_t index);
  Vcpu(Vcpu&& other) noexcept;
  Vcpu& operator=(Vcpu&&) = delete;
  Vcpu(const Vcpu&) = delete;
  ~Vcpu();

  int fd() const { return fd_.get(); }
  uint32_t index() const { return index_; }
  kvm_run* run_area() const { return run_; }
  // Any vCPU ioctl with an argument; the name is for the error.
  Status Ioctl(unsigned long request, void* argument, const char* name) const;
  // Maps guest RAM [address, address + size) into the nested page tables
  // now, so the guest's first touches take no exit (KVM_PRE_FAULT_MEMORY;
  // only where the VM Has(kvm_abi::kCapPreFaultMemory)).
  Status PreFault(uint64_t address, uint64_t size) const;

 private:
  Vcpu() = default;
  UniqueFd fd_;
  uint32_t index_ = 0;
  kvm_run* run_ = nullptr;
  size_t run_size_ = 0;
};

}  // namespace sandbox::vmm
