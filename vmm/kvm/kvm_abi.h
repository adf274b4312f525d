// KVM ioctls whose argument ends in a flexible array. In C++ the UAPI's
// __DECLARE_FLEX_ARRAY adds an empty struct (size 1) before the array, which
// moves the entries and changes the size encoded in the ioctl number
// (kvm_cpuid2 becomes 12 bytes instead of 8): the kernel then answers EINVAL.
// These headers have the kernel's layout; the entries follow them directly.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace sandbox::vmm::kvm_abi {

struct CpuidHeader {
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8 && sizeof(MsrsHeader) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);

// kvm_msr_list: a count, then the indices.
struct MsrListHeader {
  uint32_t nmsrs;
};
inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);

// kvm_xsave without the flexible tail: the legacy 4 KiB area that
// KVM_GET_XSAVE/KVM_SET_XSAVE move (the UAPI struct is 4100 bytes in C++).
struct Xsave {
  uint32_t region[1024];
};
static_assert(sizeof(Xsave) == 4096);
inline constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, Xsave);
inline constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, Xsave);

// KVM_PRE_FAULT_MEMORY (Linux 6.10; Debian 12's UAPI headers are older):
// maps [gpa, gpa + size) into the VM's nested page tables as a read by the
// vCPU would, advancing gpa and shrinking size as it goes.
struct PreFaultMemory {
  uint64_t gpa;
  uint64_t size;
  uint64_t flags;
  uint64_t padding[5];
};
static_assert(sizeof(PreFaultMemory) == 64);
inline constexpr unsigned long kPreFaultMemory = _IOWR(KVMIO, 0xd5, PreFaultMemory);
inline constexpr int kCapPreFaultMemory = 236;

// A header followed by `entries`, laid out as the kernel reads it.
template <class Header, class Entry>
std::vector<uint8_t> Pack(uint32_t count_field, const std::vector<Entry>& entries, size_t capacity) {
  std::vector<uint8_t> buffer(sizeof(Header) + capacity * sizeof(Entry), 0);
  Header header{count_field, 0};
  std::memcpy(buffer.data(), &header, sizeof(header));
  if (!entries.empty()) std::memcpy(buffer.data() + sizeof(Header), entries.data(), entries.size() * sizeof(Entry));
  return buffer;
}

}  // namespace sandbox::vmm::kvm_abi
