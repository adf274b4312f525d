#include "vmm/arch/x86_64/cpuid.h"

#include <bit>

namespace sandbox::vmm::x86 {
namespace {

constexpr uint32_t kLeaf1EcxX2Apic = 1u << 21;
constexpr uint32_t kLeaf1EcxTscDeadline = 1u << 24;
constexpr uint32_t kLeaf1EcxHypervisor = 1u << 31;
constexpr uint32_t kLeaf1EdxHtt = 1u << 28;
constexpr uint32_t kAmdExtEcxTopologyExtensions = 1u << 22;
constexpr uint32_t kTopologyLevelSmt = 1;
constexpr uint32_t kTopologyLevelCore = 2;

// Bits needed to number `count` cores.
uint32_t CoreIdBits(uint32_t count) { return count <= 1 ? 0 : std::bit_width(count - 1); }

void SetExtendedTopology(kvm_cpuid_entry2& entry, uint32_t vcpu_index, uint32_t vcpu_count) {
  entry.edx = vcpu_index;  // x2APIC id
  switch (entry.index) {
    case 0:  // threads per core: one
      entry.eax = 0;
      entry.ebx = 1;
      entry.ecx = (kTopologyLevelSmt << 8) | entry.index;
      break;
    case 1:  // cores per socket
      entry.eax = CoreIdBits(vcpu_count);
      entry.ebx = vcpu_count;
      entry.ecx = (kTopologyLevelCore << 8) | entry.index;
      break;
    default:  // no further levels
      entry.eax = 0;
      entry.ebx = 0;
      entry.ecx = entry.index;
      break;
  }
}

}  // namespace

std::vector<kvm_cpuid_entry2> FilterCpuid(std::vector<kvm_cpuid_entry2> entries, uint32_t vcpu_index,
                                          uint32_t vcpu_count, CpuidHost host) {
  for (kvm_cpuid_entry2& entry : entries) {
    switch (entry.function) {
      case 0x1:
        // APIC id, logical processor count, CLFLUSH line size (8 x 8 bytes).
        entry.ebx = (vcpu_index << 24) | (std::min(vcpu_count, 255u) << 16) | (8u << 8) | (entry.ebx & 0xff);
        entry.ecx |= kLeaf1EcxHypervisor | kLeaf1EcxX2Apic;  // KVM_CREATE_IRQCHIP's LAPIC has x2APIC
        if (host.tsc_deadline_timer) entry.ecx |= kLeaf1EcxTscDeadline;
        if (vcpu_count > 1) {
          entry.edx |= kLeaf1EdxHtt;
        } else {
          entry.edx &= ~kLeaf1EdxHtt;
        }
        break;
      case 0x4:
        // Deterministic cache parameters: cores sharing the package, no HT.
        entry.eax = (entry.eax & 0x03ff'ffff) | ((vcpu_count - 1) << 26);
        entry.eax &= ~(0xfffu << 14);
        break;
      case 0xb:
      case 0x1f:
        SetExtendedTopology(entry, vcpu_index, vcpu_count);
        break;
      case 0x8000'0001:
        // Without AMD topology extensions the guest takes its topology from
        // the leaves above, which we fill consistently.
        entry.ecx &= ~kAmdExtEcxTopologyExtensions;
        break;
      case 0x8000'0008:
        // AMD: number of cores - 1 and the APIC id width.
        entry.ecx = (entry.ecx & ~0xf0ffu) | (CoreIdBits(vcpu_count) << 12) | (vcpu_count - 1);
        break;
      default:
        break;
    }
  }
  return entries;
}

}  // namespace sandbox::vmm::x86
