// Where a vCPU stands, in words: the evidence for telling a guest kernel's
// crash or hang from a VMM or nested-KVM fault (a triple fault's log line,
// the control API's "vcpus" answer when a guest stops answering).
#pragma once

#include <string>

#include "vmm/kvm/kvm.h"
#include "vmm/memory/guest_memory.h"

namespace sandbox::vmm {

// Registers: rip, rsp, rflags, control registers, efer, cs, the IDT.
std::string DescribeCpuState(const Vcpu& vcpu);

// DescribeCpuState plus the vCPU's run state (runnable, halted) and the
// kernel-text addresses among the top 32 words of its stack: a crude
// backtrace to symbolize with the guest kernel's System.map. The vCPU must be
// out of KVM_RUN. The stack is read through KVM_TRANSLATE and GuestMemory's
// bounds checks: a hostile guest's page tables can only make the list empty.
std::string DescribeStoppedVcpu(const Vcpu& vcpu, const GuestMemory& memory);

// Whether a guest virtual address lies in the x86-64 kernel text mapping
// (0xffffffff80000000, 1 GiB, minus the module area).
bool LooksLikeKernelText(uint64_t address);

}  // namespace sandbox::vmm
