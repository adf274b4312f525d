// The CPUID a vCPU sees: KVM_GET_SUPPORTED_CPUID, filtered so that the guest
// knows it runs on a hypervisor and sees a consistent topology (one socket,
// `vcpu_count` cores, APIC id = vCPU index), with the in-kernel LAPIC's
// x2APIC and TSC-deadline modes offered: the guest then programs its APIC
// through MSRs, not MMIO (fewer exits; and QEMU's emulated AMD-V faulted on
// nested xAPIC MMIO, issue 21).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace sandbox::vmm::x86 {

struct CpuidHost {
  // KVM_CAP_TSC_DEADLINE_TIMER: the in-kernel LAPIC emulates TSC-deadline
  // mode, which KVM_GET_SUPPORTED_CPUID does not report itself.
  bool tsc_deadline_timer = false;
};

std::vector<kvm_cpuid_entry2> FilterCpuid(std::vector<kvm_cpuid_entry2> supported, uint32_t vcpu_index,
                                          uint32_t vcpu_count, CpuidHost host = {});

}  // namespace sandbox::vmm::x86
