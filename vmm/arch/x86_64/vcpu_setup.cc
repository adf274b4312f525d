#include "vmm/arch/x86_64/vcpu_setup.h"

#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <sys/ioctl.h>

#include "vmm/arch/x86_64/layout.h"
#include "vmm/kvm/kvm_abi.h"

namespace sandbox::vmm::x86 {
namespace {

constexpr uint64_t kCr0ProtectionEnable = 1;
constexpr uint64_t kCr0Paging = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLongModeEnable = 1ull << 8;
constexpr uint64_t kEferLongModeActive = 1ull << 10;
constexpr uint64_t kPagePresentWritable = 0x3;
constexpr uint64_t kPageHuge = 0x80;

// Flat 64-bit code and data segments and a TSS, as Linux's own boot GDT.
constexpr uint16_t kCodeFlags = 0xa09b;
constexpr uint16_t kDataFlags = 0xc093;
constexpr uint16_t kTssFlags = 0x808b;
constexpr uint8_t kCodeIndex = 1;
constexpr uint8_t kDataIndex = 2;
constexpr uint8_t kTssIndex = 3;

constexpr uint32_t kMsrSysenterCs = 0x174;
constexpr uint32_t kMsrSysenterEsp = 0x175;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSyscallMask = 0xc0000084;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrMiscEnable = 0x1a0;
constexpr uint64_t kMiscEnableFastString = 1;
constexpr uint32_t kMsrMtrrDefaultType = 0x2ff;
constexpr uint64_t kMtrrEnableWriteBack = (1ull << 11) | 6;

constexpr size_t kLapicLint0 = 0x350;
constexpr size_t kLapicLint1 = 0x360;
constexpr uint32_t kDeliveryExtInt = 7;
constexpr uint32_t kDeliveryNmi = 4;

void SetLvtDeliveryMode(kvm_lapic_state& lapic, size_t offset, uint32_t mode) {
  uint32_t value;
  std::memcpy(&value, lapic.regs + offset, sizeof(value));
  value = (value & ~0x700u) | (mode << 8);
  std::memcpy(lapic.regs + offset, &value, sizeof(value));
}

}  // namespace

uint64_t GdtEntry(uint16_t flags, uint32_t base, uint32_t limit) {
  return ((static_cast<uint64_t>(base) & 0xff000000) << 32) | ((static_cast<uint64_t>(flags) & 0xf0ff) << 40) |
         ((static_cast<uint64_t>(limit) & 0x000f0000) << 32) | ((static_cast<uint64_t>(base) & 0x00ffffff) << 16) |
         (static_cast<uint64_t>(limit) & 0x0000ffff);
}

kvm_segment SegmentFromGdtEntry(uint64_t entry, uint8_t table_index) {
  kvm_segment segment{};
  segment.base = ((entry >> 16) & 0xffffff) | (((entry >> 56) & 0xff) << 24);
  uint32_t limit = static_cast<uint32_t>((entry & 0xffff) | (((entry >> 48) & 0xf) << 16));
  segment.g = (entry >> 55) & 1;
  if (segment.g) limit = (limit << 12) | 0xfff;
  segment.limit = limit;
  segment.selector = static_cast<uint16_t>(table_index * 8);
  segment.type = (entry >> 40) & 0xf;
  segment.s = (entry >> 44) & 1;
  segment.dpl = (entry >> 45) & 3;
  segment.present = (entry >> 47) & 1;
  segment.avl = (entry >> 52) & 1;
  segment.l = (entry >> 53) & 1;
  segment.db = (entry >> 54) & 1;
  segment.unusable = segment.present ? 0 : 1;
  return segment;
}

Status WriteBootTables(const GuestMemory& memory) {
  const uint64_t gdt[] = {0, GdtEntry(kCodeFlags, 0, 0xfffff), GdtEntry(kDataFlags, 0, 0xfffff),
                          GdtEntry(kTssFlags, 0, 0xfffff)};
  SANDBOX_RETURN_IF_ERROR(memory.WriteObject(kGdtAddress, gdt));
  SANDBOX_RETURN_IF_ERROR(memory.WriteObject(kIdtAddress, uint64_t{0}));
  SANDBOX_RETURN_IF_ERROR(memory.WriteObject(kPml4Address, kPdptAddress | kPagePresentWritable));
  SANDBOX_RETURN_IF_ERROR(memory.WriteObject(kPdptAddress, kPdAddress | kPagePresentWritable));
  // 512 x 2 MiB pages: the first GiB, where the kernel, zero page and command line are.
  uint64_t directory[512];
  for (uint64_t i = 0; i < 512; ++i) directory[i] = (i << 21) | kPagePresentWritable | kPageHuge;
  return memory.WriteObject(kPdAddress, directory);
}

Status ConfigureVcpu(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& cpuid) {
  std::vector<uint8_t> cpuid_buffer = kvm_abi::Pack<kvm_abi::CpuidHeader, kvm_cpuid_entry2>(
      static_cast<uint32_t>(cpuid.size()), cpuid, cpuid.size());
  SANDBOX_RETURN_IF_ERROR(vcpu.Ioctl(kvm_abi::kSetCpuid2, cpuid_buffer.data(), "KVM_SET_CPUID2"));

  const std::pair<uint32_t, uint64_t> msrs[] = {
      {kMsrSysenterCs, 0}, {kMsrSysenterEsp, 0},  {kMsrSysenterEip, 0},
      {kMsrStar, 0},       {kMsrCstar, 0},        {kMsrKernelGsBase, 0},
      {kMsrSyscallMask, 0}, {kMsrLstar, 0},       {kMsrTsc, 0},
      {kMsrMiscEnable, kMiscEnableFastString}, {kMsrMtrrDefaultType, kMtrrEnableWriteBack},
  };
  std::vector<kvm_msr_entry> entries;
  for (const auto& [index, value] : msrs) {
    kvm_msr_entry entry{};
    entry.index = index;
    entry.data = value;
    entries.push_back(entry);
  }
  std::vector<uint8_t> msr_buffer = kvm_abi::Pack<kvm_abi::MsrsHeader, kvm_msr_entry>(
      static_cast<uint32_t>(entries.size()), entries, entries.size());
  // KVM_SET_MSRS returns how many it set; it stops at the first it rejects.
  const int set = ioctl(vcpu.fd(), kvm_abi::kSetMsrs, msr_buffer.data());
  if (set != static_cast<int>(entries.size())) {
    return Internal(fmt::format("KVM_SET_MSRS set {} of {} MSRs (stopped at {:#x})", set, entries.size(),
                                set >= 0 && set < static_cast<int>(entries.size()) ? msrs[set].first : 0));
  }

  kvm_fpu fpu{};
  fpu.fcw = 0x37f;
  fpu.mxcsr = 0x1f80;
  SANDBOX_RETURN_IF_ERROR(vcpu.Ioctl(KVM_SET_FPU, &fpu, "KVM_SET_FPU"));

  kvm_lapic_state lapic{};
  SANDBOX_RETURN_IF_ERROR(vcpu.Ioctl(KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC"));
  SetLvtDeliveryMode(lapic, kLapicLint0, kDeliveryExtInt);
  SetLvtDeliveryMode(lapic, kLapicLint1, kDeliveryNmi);
  return vcpu.Ioctl(KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC");
}

Status SetBootRegisters(const Vcpu& vcpu, uint64_t entry_point) {
  kvm_sregs sregs{};
  SANDBOX_RETURN_IF_ERROR(vcpu.Ioctl(KVM_GET_SREGS, &sregs, "KVM_GET_SREGS"));
  const kvm_segment code = SegmentFromGdtEntry(GdtEntry(kCodeFlags, 0, 0xfffff), kCodeIndex);
  const kvm_segment data = SegmentFromGdtEntry(GdtEntry(kDataFlags, 0, 0xfffff), kDataIndex);
  sregs.cs = code;
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  sregs.tr = SegmentFromGdtEntry(GdtEntry(kTssFlags, 0, 0xfffff), kTssIndex);
  sregs.gdt.base = kGdtAddress;
  sregs.gdt.limit = 4 * sizeof(uint64_t) - 1;
  sregs.idt.base = kIdtAddress;
  sregs.idt.limit = sizeof(uint64_t) - 1;
  sregs.cr3 = kPml4Address;
  sregs.cr4 |= kCr4Pae;
  sregs.cr0 |= kCr0ProtectionEnable | kCr0Paging;
  sregs.efer |= kEferLongModeEnable | kEferLongModeActive;
  SANDBOX_RETURN_IF_ERROR(vcpu.Ioctl(KVM_SET_SREGS, &sregs, "KVM_SET_SREGS"));

  kvm_regs regs{};
  regs.rflags = 0x2;  // bit 1 is reserved and must be set
  regs.rip = entry_point;
  regs.rsp = regs.rbp = kBootStackPointer;
  regs.rsi = kZeroPageAddress;
  return vcpu.Ioctl(KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

}  // namespace sandbox::vmm::x86
