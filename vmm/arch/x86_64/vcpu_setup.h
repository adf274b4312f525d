// Puts a vCPU in the state the Linux 64-bit boot protocol expects: long mode
// with identity-mapped page tables and a flat GDT (boot vCPU only), plus the
// CPUID, MSRs, FPU and LAPIC LINT pins every vCPU needs.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "common/base/status.h"
#include "vmm/kvm/kvm.h"
#include "vmm/memory/guest_memory.h"

namespace sandbox::vmm::x86 {

// Writes the GDT, an empty IDT and page tables identity-mapping the first GiB.
Status WriteBootTables(const GuestMemory& memory);

// Every vCPU: CPUID (already filtered), MSRs, FPU, LAPIC LINT0=ExtINT, LINT1=NMI.
Status ConfigureVcpu(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& cpuid);

// The boot vCPU only: segments, control registers and the entry registers
// (rip = kernel entry, rsi = zero page).
Status SetBootRegisters(const Vcpu& vcpu, uint64_t entry_point);

// A GDT descriptor from flags/base/limit, and the kvm_segment it describes.
uint64_t GdtEntry(uint16_t flags, uint32_t base, uint32_t limit);
kvm_segment SegmentFromGdtEntry(uint64_t entry, uint8_t table_index);

}  // namespace sandbox::vmm::x86
