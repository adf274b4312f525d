#include "vmm/kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <fmt/format.h>
#include <cstring>
#include <memory>

#include "common/sys/kvm_probe.h"
#include "vmm/kvm/kvm_abi.h"

namespace sandbox::vmm {
namespace {

Status IoctlError(const char* name) { return ErrnoStatus("ioctl", name); }

}  // namespace

Result<Kvm> Kvm::Open(const std::string& device) {
  Kvm kvm;
  kvm.fd_ = UniqueFd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!kvm.fd_.valid()) return ErrnoStatus("open", device);
  const int version = ::ioctl(kvm.fd(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return FailedPrecondition(fmt::format("{}: KVM API version {}, need {}", device, version, KVM_API_VERSION));
  }
  for (const KvmCapability& capability : RequiredKvmCapabilities()) {
    if (::ioctl(kvm.fd(), KVM_CHECK_EXTENSION, capability.id) <= 0) {
      return FailedPrecondition(fmt::format("{}: the host's KVM lacks {}", device, capability.name));
    }
  }
  kvm.vcpu_mmap_size_ = ::ioctl(kvm.fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (kvm.vcpu_mmap_size_ < static_cast<int>(sizeof(kvm_run))) return IoctlError("KVM_GET_VCPU_MMAP_SIZE");
  return kvm;
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::SupportedCpuid() const {
  constexpr uint32_t kMaxEntries = 256;
  std::vector<uint8_t> buffer =
      kvm_abi::Pack<kvm_abi::CpuidHeader, kvm_cpuid_entry2>(kMaxEntries, {}, kMaxEntries);
  if (::ioctl(fd(), kvm_abi::kGetSupportedCpuid, buffer.data()) != 0) return IoctlError("KVM_GET_SUPPORTED_CPUID");
  kvm_abi::CpuidHeader header;
  std::memcpy(&header, buffer.data(), sizeof(header));
  std::vector<kvm_cpuid_entry2> entries(std::min(header.nent, kMaxEntries));
  std::memcpy(entries.data(), buffer.data() + sizeof(header), entries.size() * sizeof(kvm_cpuid_entry2));
  return entries;
}

Result<Vm> Vm::Create(const Kvm& kvm) {
  Vm vm;
  vm.fd_ = UniqueFd(::ioctl(kvm.fd(), KVM_CREATE_VM, 0));
  if (!vm.fd_.valid()) return IoctlError("KVM_CREATE_VM");
  return vm;
}

bool Vm::Has(int capability) const { return ::ioctl(fd(), KVM_CHECK_EXTENSION, capability) > 0; }

Status Vm::SetMemoryRegion(uint32_t slot, uint64_t guest_address, uint64_t size, void* host) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = guest_address;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (::ioctl(fd(), KVM_SET_USER_MEMORY_REGION, &region) != 0) return IoctlError("KVM_SET_USER_MEMORY_REGION");
  return Status::Ok();
}

Status Vm::SetUpX86Platform(uint64_t tss_address, uint64_t identity_map_address) {
  if (::ioctl(fd(), KVM_SET_IDENTITY_MAP_ADDR, &identity_map_address) != 0) {
    return IoctlError("KVM_SET_IDENTITY_MAP_ADDR");
  }
  if (::ioctl(fd(), KVM_SET_TSS_ADDR, tss_address) != 0) return IoctlError("KVM_SET_TSS_ADDR");
  if (::ioctl(fd(), KVM_CREATE_IRQCHIP, 0) != 0) return IoctlError("KVM_CREATE_IRQCHIP");
  // A dummy speaker port: the kernel's PIT calibration reads port 0x61.
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(fd(), KVM_CREATE_PIT2, &pit) != 0) return IoctlError("KVM_CREATE_PIT2");
  return Status::Ok();
}

Status Vm::RegisterIrqfd(int event_fd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(event_fd);
  irqfd.gsi = gsi;
  if (::ioctl(fd(), KVM_IRQFD, &irqfd) != 0) return IoctlError("KVM_IRQFD");
  return Status::Ok();
}

namespace {
kvm_ioeventfd MmioIoeventfd(int event_fd, uint64_t address, uint32_t value) {
  kvm_ioeventfd ioeventfd{};
  ioeventfd.datamatch = value;
  ioeventfd.addr = address;
  ioeventfd.len = 4;
  ioeventfd.fd = event_fd;
  ioeventfd.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
  return ioeventfd;
}
}  // namespace

Status Vm::RegisterMmioIoeventfd(int event_fd, uint64_t address, uint32_t value) {
  kvm_ioeventfd ioeventfd = MmioIoeventfd(event_fd, address, value);
  if (::ioctl(fd(), KVM_IOEVENTFD, &ioeventfd) != 0) return IoctlError("KVM_IOEVENTFD");
  return Status::Ok();
}

Status Vm::UnregisterMmioIoeventfd(int event_fd, uint64_t address, uint32_t value) {
  kvm_ioeventfd ioeventfd = MmioIoeventfd(event_fd, address, value);
  ioeventfd.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  if (::ioctl(fd(), KVM_IOEVENTFD, &ioeventfd) != 0) return IoctlError("KVM_IOEVENTFD deassign");
  return Status::Ok();
}

Result<Vcpu> Vcpu::Create(const Kvm& kvm, const Vm& vm, uint32_t index) {
  Vcpu vcpu;
  vcpu.index_ = index;
  vcpu.fd_ = UniqueFd(::ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(index)));
  if (!vcpu.fd_.valid()) return IoctlError("KVM_CREATE_VCPU");
  vcpu.run_size_ = static_cast<size_t>(kvm.vcpu_mmap_size());
  void* run = mmap(nullptr, vcpu.run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.fd(), 0);
  if (run == MAP_FAILED) return ErrnoStatus("mmap", "kvm_run area");
  vcpu.run_ = static_cast<kvm_run*>(run);
  return vcpu;
}

Vcpu::Vcpu(Vcpu&& other) noexcept
    : fd_(std::move(other.fd_)),
      index_(other.index_),
      run_(std::exchange(other.run_, nullptr)),
      run_size_(other.run_size_) {}

Vcpu::~Vcpu() {
  if (run_ != nullptr) munmap(run_, run_size_);
}

Status Vcpu::Ioctl(unsigned long request, void* argument, const char* name) const {
  if (::ioctl(fd(), request, argument) != 0) return IoctlError(name);
  return Status::Ok();
}

Status Vcpu::PreFault(uint64_t address, uint64_t size) const {
  kvm_abi::PreFaultMemory range{.gpa = address, .size = size, .flags = 0, .padding = {}};
  // The kernel stops early at a signal or to reschedule (range says where),
  // and answers EAGAIN while memory slots change, which sandbox-vmm does not
  // do once running: retried without a pause, but not forever.
  constexpr int kMaxStalls = 100;
  for (int stalls = 0; range.size > 0;) {
    const uint64_t left = range.size;
    if (::ioctl(fd(), kvm_abi::kPreFaultMemory, &range) != 0 && errno != EINTR && errno != EAGAIN) {
      return ErrnoStatus("ioctl", fmt::format("KVM_PRE_FAULT_MEMORY at {:#x}", range.gpa));
    }
    stalls = range.size < left ? 0 : stalls + 1;
    if (stalls == kMaxStalls) return Unavailable(fmt::format("KVM_PRE_FAULT_MEMORY at {:#x}: no progress", range.gpa));
  }
  return Status::Ok();
}

}  // namespace sandbox::vmm
