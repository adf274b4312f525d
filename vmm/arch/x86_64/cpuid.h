// The CPUID a vCPU sees: KVM_GET_SUPPORTED_CPUID, filtered so that the guest
// knows it runs on a hypervisor and sees a consistent topology (one socket,
// `vcpu_count` cores, APIC id = vCPU index).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace sandbox::vmm::x86 {

std::vector<kvm_cpuid_entry2> FilterCpuid(std::vector<kvm_cpuid_entry2> supported, uint32_t vcpu_index,
                                          uint32_t vcpu_count);

}  // namespace sandbox::vmm::x86
