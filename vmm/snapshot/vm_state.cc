#include "vmm/snapshot/vm_state.h"

#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

#include <cstring>
#include <fmt/format.h>

#include "vmm/kvm/kvm_abi.h"

namespace sandbox::vmm {
namespace {

std::string VcpuSection(const Vcpu& vcpu, const char* what) { return fmt::format("vcpu{}/{}", vcpu.index(), what); }

template <typename T>
Status SaveVcpuStruct(const Vcpu& vcpu, unsigned long request, const char* ioctl_name, const char* section,
                      SnapshotWriter& out) {
  T value{};
  SANDBOX_RETURN_IF_ERROR(vcpu.Ioctl(request, &value, ioctl_name));
  out.AddStruct(VcpuSection(vcpu, section), value);
  return Status::Ok();
}

template <typename T>
Status RestoreVcpuStruct(const Vcpu& vcpu, unsigned long request, const char* ioctl_name, const char* section,
                         const SnapshotReader& in) {
  T value{};
  SANDBOX_RETURN_IF_ERROR(in.GetStruct(VcpuSection(vcpu, section), value));
  return vcpu.Ioctl(request, &value, ioctl_name);
}

// KVM_GET_MSRS/KVM_SET_MSRS on `entries`; returns how many the kernel took
// (it stops at the first it refuses).
Result<size_t> MsrsIoctl(const Vcpu& vcpu, unsigned long request, std::vector<kvm_msr_entry>& entries,
                         const char* name) {
  std::vector<uint8_t> buffer = kvm_abi::Pack<kvm_abi::MsrsHeader, kvm_msr_entry>(
      static_cast<uint32_t>(entries.size()), entries, entries.size());
  const int done = ::ioctl(vcpu.fd(), request, buffer.data());
  if (done < 0) return ErrnoStatus("ioctl", name);
  std::memcpy(entries.data(), buffer.data() + sizeof(kvm_abi::MsrsHeader), entries.size() * sizeof(kvm_msr_entry));
  return static_cast<size_t>(done);
}

Status SaveMsrs(const Vcpu& vcpu, const std::vector<uint32_t>& msrs, SnapshotWriter& out) {
  std::vector<kvm_msr_entry> entries(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) entries[i].index = msrs[i];
  SANDBOX_ASSIGN_OR_RETURN(size_t read, MsrsIoctl(vcpu, kvm_abi::kGetMsrs, entries, "KVM_GET_MSRS"));
  if (read != entries.size()) {
    return Internal(fmt::format("KVM_GET_MSRS read {} of {} MSRs (stopped at {:#x})", read, entries.size(),
                                entries[read].index));
  }
  out.Add(VcpuSection(vcpu, "msrs"), {reinterpret_cast<const uint8_t*>(entries.data()),
                                      entries.size() * sizeof(kvm_msr_entry)});
  return Status::Ok();
}

// Sets every MSR it can; one KVM refuses is skipped and named in a warning
// (the rest still go in: KVM_SET_MSRS stops at the first refusal).
Status RestoreMsrs(const Vcpu& vcpu, const SnapshotReader& in) {
  SANDBOX_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, in.Get(VcpuSection(vcpu, "msrs")));
  if (bytes.size() % sizeof(kvm_msr_entry) != 0) {
    return InvalidArgument(fmt::format("snapshot: {} is not a whole number of MSR entries", VcpuSection(vcpu, "msrs")));
  }
  std::vector<kvm_msr_entry> entries(bytes.size() / sizeof(kvm_msr_entry));
  std::memcpy(entries.data(), bytes.data(), bytes.size());
  std::vector<uint32_t> refused;
  while (!entries.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(size_t set, MsrsIoctl(vcpu, kvm_abi::kSetMsrs, entries, "KVM_SET_MSRS"));
    if (set == entries.size()) break;
    refused.push_back(entries[set].index);
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(set) + 1);
  }
  if (!refused.empty()) {
    spdlog::warn("restore: vCPU {}: KVM refused {} MSR(s): {:#x}", vcpu.index(), refused.size(), fmt::join(refused, ", "));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<uint32_t>> ReadableMsrs(const Kvm& kvm, const Vcpu& vcpu) {
  kvm_abi::MsrListHeader probe{0};
  if (::ioctl(kvm.fd(), kvm_abi::kGetMsrIndexList, &probe) == 0 || errno != E2BIG) {
    return ErrnoStatus("ioctl", "KVM_GET_MSR_INDEX_LIST (count)");
  }
  std::vector<uint32_t> buffer(1 + probe.nmsrs);
  buffer[0] = probe.nmsrs;
  if (::ioctl(kvm.fd(), kvm_abi::kGetMsrIndexList, buffer.data()) != 0) {
    return ErrnoStatus("ioctl", "KVM_GET_MSR_INDEX_LIST");
  }
  std::vector<uint32_t> readable;
  for (uint32_t i = 1; i <= buffer[0] && i < buffer.size(); ++i) {
    std::vector<kvm_msr_entry> one(1);
    one[0].index = buffer[i];
    Result<size_t> read = MsrsIoctl(vcpu, kvm_abi::kGetMsrs, one, "KVM_GET_MSRS");
    if (read.ok() && *read == 1) readable.push_back(buffer[i]);
  }
  return readable;
}

Status SaveVcpuState(const Vcpu& vcpu, const std::vector<uint32_t>& msrs, SnapshotWriter& out) {
  SANDBOX_RETURN_IF_ERROR(SaveVcpuStruct<kvm_regs>(vcpu, KVM_GET_REGS, "KVM_GET_REGS", "regs", out));
  SANDBOX_RETURN_IF_ERROR(SaveVcpuStruct<kvm_sregs>(vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", "sregs", out));
  SANDBOX_RETURN_IF_ERROR(SaveVcpuStruct<kvm_abi::Xsave>(vcpu, kvm_abi::kGetXsave, "KVM_GET_XSAVE", "xsave", out));
  SANDBOX_RETURN_IF_ERROR(SaveVcpuStruct<kvm_xcrs>(vcpu, KVM_GET_XCRS, "KVM_GET_XCRS", "xcrs", out));
  SANDBOX_RETURN_IF_ERROR(SaveVcpuStruct<kvm_debugregs>(vcpu, KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS", "debugregs", out));
  SANDBOX_RETURN_IF_ERROR(SaveVcpuStruct<kvm_lapic_state>(vcpu, KVM_GET_LAPIC, "KVM_GET_LAPIC", "lapic", out));
  SANDBOX_RETURN_IF_ERROR(SaveMsrs(vcpu, msrs, out));
  SANDBOX_RETURN_IF_ERROR(SaveVcpuStruct<kvm_mp_state>(vcpu, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", "mp_state", out));
  return SaveVcpuStruct<kvm_vcpu_events>(vcpu, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", "events", out);
}

Status RestoreVcpuState(const Vcpu& vcpu, const SnapshotReader& in) {
  SANDBOX_RETURN_IF_ERROR(RestoreVcpuStruct<kvm_regs>(vcpu, KVM_SET_REGS, "KVM_SET_REGS", "regs", in));
  SANDBOX_RETURN_IF_ERROR(RestoreVcpuStruct<kvm_sregs>(vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", "sregs", in));
  SANDBOX_RETURN_IF_ERROR(RestoreVcpuStruct<kvm_abi::Xsave>(vcpu, kvm_abi::kSetXsave, "KVM_SET_XSAVE", "xsave", in));
  SANDBOX_RETURN_IF_ERROR(RestoreVcpuStruct<kvm_xcrs>(vcpu, KVM_SET_XCRS, "KVM_SET_XCRS", "xcrs", in));
  SANDBOX_RETURN_IF_ERROR(
      RestoreVcpuStruct<kvm_debugregs>(vcpu, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", "debugregs", in));
  SANDBOX_RETURN_IF_ERROR(RestoreVcpuStruct<kvm_lapic_state>(vcpu, KVM_SET_LAPIC, "KVM_SET_LAPIC", "lapic", in));
  SANDBOX_RETURN_IF_ERROR(RestoreMsrs(vcpu, in));
  SANDBOX_RETURN_IF_ERROR(RestoreVcpuStruct<kvm_mp_state>(vcpu, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", "mp_state", in));
  return RestoreVcpuStruct<kvm_vcpu_events>(vcpu, KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", "events", in);
}

Status SaveVmState(const Vm& vm, SnapshotWriter& out) {
  kvm_clock_data clock{};
  if (::ioctl(vm.fd(), KVM_GET_CLOCK, &clock) != 0) return ErrnoStatus("ioctl", "KVM_GET_CLOCK");
  out.AddStruct("vm/clock", clock);
  for (uint32_t chip : {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC}) {
    kvm_irqchip irqchip{};
    irqchip.chip_id = chip;
    if (::ioctl(vm.fd(), KVM_GET_IRQCHIP, &irqchip) != 0) return ErrnoStatus("ioctl", "KVM_GET_IRQCHIP");
    out.AddStruct(fmt::format("vm/irqchip{}", chip), irqchip);
  }
  kvm_pit_state2 pit{};
  if (::ioctl(vm.fd(), KVM_GET_PIT2, &pit) != 0) return ErrnoStatus("ioctl", "KVM_GET_PIT2");
  out.AddStruct("vm/pit", pit);
  return Status::Ok();
}

Status RestoreVmState(const Vm& vm, const SnapshotReader& in) {
  kvm_pit_state2 pit{};
  SANDBOX_RETURN_IF_ERROR(in.GetStruct("vm/pit", pit));
  if (::ioctl(vm.fd(), KVM_SET_PIT2, &pit) != 0) return ErrnoStatus("ioctl", "KVM_SET_PIT2");
  for (uint32_t chip : {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC}) {
    kvm_irqchip irqchip{};
    SANDBOX_RETURN_IF_ERROR(in.GetStruct(fmt::format("vm/irqchip{}", chip), irqchip));
    if (irqchip.chip_id != chip) return InvalidArgument(fmt::format("snapshot: vm/irqchip{} holds chip {}", chip, irqchip.chip_id));
    if (::ioctl(vm.fd(), KVM_SET_IRQCHIP, &irqchip) != 0) return ErrnoStatus("ioctl", "KVM_SET_IRQCHIP");
  }
  kvm_clock_data clock{};
  SANDBOX_RETURN_IF_ERROR(in.GetStruct("vm/clock", clock));
  // Without KVM_CLOCK_REALTIME: the guest's clock goes on from where it
  // stopped, not from the host's time now (Firecracker's choice; the agent
  // sets the wall clock).
  clock.flags = 0;
  if (::ioctl(vm.fd(), KVM_SET_CLOCK, &clock) != 0) return ErrnoStatus("ioctl", "KVM_SET_CLOCK");
  return Status::Ok();
}

}  // namespace sandbox::vmm
