// Where a Linux guest's boot first writes RAM the VMM has not: ranges to map
// into the VM's nested page table before it runs (KVM_PRE_FAULT_MEMORY), so
// those first touches cost no exit each. Under nested virtualization an exit
// is expensive: the struct page array alone is one per 4 KiB of it.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "vmm/memory/guest_memory.h"

namespace sandbox::vmm {

// Linux's memblock allocates top-down from the end of RAM, below the initrd
// where the initrd ends RAM (else the initrd, which the guest reads whole, is
// a range of its own): a few small tables, then the struct page array (64
// bytes per 4 KiB page, 2 MiB-aligned; memmap_init writes all of it), then
// the per-CPU first chunk (256 KiB a vCPU in 2 MiB-aligned chunks, zeroed);
// page tables, the log buffer and hash tables fill the alignment hole above.
// (Seen with memblock=debug in the guest, docs/measurements.md, stop 48.) So
// the range is from there to the top of RAM. Nothing below `lowest` (the end
// of the loaded kernel) is included: the kernel's text is mapped
// copy-on-write from its file and a pre-fault would copy it.
//   layout: RAM regions (guest address, size), ascending; initrd: where the
//   loader put it, if any.
std::vector<GuestRange> BootPreFaultRanges(const std::vector<std::pair<uint64_t, uint64_t>>& layout, uint32_t vcpus,
                                           std::optional<GuestRange> initrd, uint64_t lowest);

}  // namespace sandbox::vmm
