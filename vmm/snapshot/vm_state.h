// What KVM holds of a VM, to and from a snapshot: each vCPU's registers
// (general, segment and control, FPU/SSE/AVX, XCRs, debug, MSRs, LAPIC,
// pending events, run state) and the VM's in-kernel PIC, IOAPIC, PIT and
// kvm-clock. The vCPUs must be stopped (outside KVM_RUN).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "vmm/kvm/kvm.h"
#include "vmm/snapshot/snapshot_file.h"

namespace sandbox::vmm {

// The MSRs KVM lists (KVM_GET_MSR_INDEX_LIST) that `vcpu` can read, probed
// one by one: a snapshot saves exactly these.
Result<std::vector<uint32_t>> ReadableMsrs(const Kvm& kvm, const Vcpu& vcpu);

Status SaveVcpuState(const Vcpu& vcpu, const std::vector<uint32_t>& msrs, SnapshotWriter& out);
// On a vCPU created and given its CPUID as at boot. The order matters: the
// segment registers set the APIC base (x2APIC mode) before the LAPIC's
// registers, and the LAPIC's timer mode before the TSC deadline MSR, which
// KVM ignores unless the timer is in TSC-deadline mode.
Status RestoreVcpuState(const Vcpu& vcpu, const SnapshotReader& in);

Status SaveVmState(const Vm& vm, SnapshotWriter& out);
// kvm-clock continues from the snapshot's time (the guest's monotonic clock
// has no jump); the PIT and the two PICs and IOAPIC as they were.
Status RestoreVmState(const Vm& vm, const SnapshotReader& in);

}  // namespace sandbox::vmm
