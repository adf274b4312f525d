// Where sandbox-vmm puts things in guest-physical memory (x86_64). The values
// follow the Linux boot protocol and match Firecracker's well-tried layout.
#pragma once

#include <cstdint>

namespace sandbox::vmm::x86 {

inline constexpr uint64_t kGdtAddress = 0x500;
inline constexpr uint64_t kIdtAddress = 0x520;
inline constexpr uint64_t kZeroPageAddress = 0x7000;  // struct boot_params
inline constexpr uint64_t kBootStackPointer = 0x8ff0;
inline constexpr uint64_t kPml4Address = 0x9000;
inline constexpr uint64_t kPdptAddress = 0xa000;
inline constexpr uint64_t kPdAddress = 0xb000;
inline constexpr uint64_t kCommandLineAddress = 0x20000;
inline constexpr uint64_t kCommandLineMax = 2048;  // x86 COMMAND_LINE_SIZE
// The last KiB of base memory, where the kernel looks for an MP table.
inline constexpr uint64_t kEbdaStart = 0x9fc00;
inline constexpr uint64_t kHighMemoryStart = 0x100000;
// bzImage protected-mode code is loaded at 1 MiB (the protocol's code32_start).
inline constexpr uint64_t kBzImageLoadAddress = 0x100000;

// In the MMIO gap, below the IOAPIC.
inline constexpr uint64_t kIdentityMapAddress = 0xfffbc000;
inline constexpr uint64_t kTssAddress = 0xfffbd000;
inline constexpr uint64_t kIoapicAddress = 0xfec00000;
inline constexpr uint64_t kLapicAddress = 0xfee00000;

// virtio-mmio devices: one 4 KiB window each from here, IRQ 5 upwards.
inline constexpr uint64_t kVirtioMmioBase = 0xd0000000;
inline constexpr uint64_t kVirtioMmioWindow = 0x1000;
inline constexpr uint32_t kFirstVirtioIrq = 5;
inline constexpr uint32_t kIoapicPins = 24;
inline constexpr uint32_t kSerialIrq = 4;

}  // namespace sandbox::vmm::x86
