// Where a Linux guest's boot first writes RAM the VMM has not: ranges to map
// into the VM's nested page table before it runs (KVM_PRE_FAULT_MEMORY), so
// those first touches cost no exit each. Under nested virtualization an exit
// is expensive: the struct page array alone is one per 4 KiB of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "vmm/memory/guest_memory.h"

namespace sandbox::vmm {

// What the loader put in guest RAM, and how the command line has Linux
// place its per-CPU chunk.
struct LoadedBootImage {
  uint64_t kernel_end = 0;  // the first address after the loaded kernel
  // The kernel past its text, which is mapped copy-on-write from its file:
  // .rodata, the gap after it (Linux frees it at the end of its boot, writing
  // a poison pattern over each page: 1.3 MiB here), .data, .init, .bss. Linux
  // reads or writes all of it while it boots. Absent where there is no text
  // mapped from a file (a bzImage: the guest decompresses itself).
  std::optional<GuestRange> kernel_data;
  std::optional<GuestRange> initrd;  // where the loader put it, if anywhere
  // Whether Linux embeds its first per-CPU chunk in 2 MiB-aligned memblock
  // memory (the default) or builds it of single pages (percpu_alloc=page,
  // EmbedsPerCpuChunk), which fit in the small allocations' hole.
  bool per_cpu_embedded = true;
};

// False where the kernel command line's last percpu_alloc= is "page".
bool EmbedsPerCpuChunk(std::string_view cmdline);

// Linux's memblock allocates top-down from the end of RAM, below the initrd
// where the initrd ends RAM (else the initrd, which the guest reads whole, is
// a range of its own): a few small tables, then the struct page array (64
// bytes per 4 KiB page, 2 MiB-aligned; memmap_init writes all of it), then
// the per-CPU first chunk (256 KiB a vCPU in 2 MiB-aligned chunks, zeroed);
// page tables, the log buffer and hash tables fill the alignment hole above.
// (Seen with memblock=debug in the guest, docs/measurements.md, stop 48.) So
// the range is from there to the top of RAM. Nothing of it below the end of
// the loaded kernel: the kernel's text is mapped copy-on-write from its file
// and a pre-fault would copy it. The kernel's data is a range of its own.
//   layout: RAM regions (guest address, size), ascending.
std::vector<GuestRange> BootPreFaultRanges(const std::vector<std::pair<uint64_t, uint64_t>>& layout, uint32_t vcpus,
                                           const LoadedBootImage& image);

}  // namespace sandbox::vmm
