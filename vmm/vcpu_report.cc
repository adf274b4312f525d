#include "vmm/vcpu_report.h"

#include <fmt/format.h>
#include <linux/kvm.h>

#include <array>

namespace sandbox::vmm {
namespace {

std::string RunStateName(uint32_t state) {
  switch (state) {
    case KVM_MP_STATE_RUNNABLE: return "runnable";
    case KVM_MP_STATE_HALTED: return "halted";
    case KVM_MP_STATE_UNINITIALIZED: return "uninitialized";
    case KVM_MP_STATE_INIT_RECEIVED: return "init-received";
    default: return "state " + std::to_string(state);
  }
}

// The kernel-text words on the stack page at rsp (at most 32 words, never
// across a page: the next page may be mapped elsewhere or not at all).
std::string StackTextWords(const Vcpu& vcpu, const GuestMemory& memory, uint64_t rsp) {
  kvm_translation translation{};
  translation.linear_address = rsp;
  if (!vcpu.Ioctl(KVM_TRANSLATE, &translation, "KVM_TRANSLATE").ok() || !translation.valid) return "unmapped";
  constexpr uint64_t kPage = 4096;
  const uint64_t in_page = rsp % kPage;
  const uint64_t words = std::min<uint64_t>(32, (kPage - in_page) / sizeof(uint64_t));
  std::array<uint64_t, 32> stack{};
  const Status read = memory.Read(translation.physical_address,
                                  {reinterpret_cast<uint8_t*>(stack.data()), words * sizeof(uint64_t)});
  if (!read.ok()) return "outside guest memory";
  std::string text;
  for (uint64_t i = 0; i < words; ++i) {
    if (LooksLikeKernelText(stack[i])) text += fmt::format("{}{:#x}", text.empty() ? "" : " ", stack[i]);
  }
  return text.empty() ? "none" : text;
}

}  // namespace

bool LooksLikeKernelText(uint64_t address) {
  return address >= 0xffffffff80000000ULL && address < 0xffffffffc0000000ULL;
}

std::string DescribeCpuState(const Vcpu& vcpu) {
  kvm_regs regs{};
  kvm_sregs sregs{};
  if (!vcpu.Ioctl(KVM_GET_REGS, &regs, "KVM_GET_REGS").ok() ||
      !vcpu.Ioctl(KVM_GET_SREGS, &sregs, "KVM_GET_SREGS").ok()) {
    return "registers unavailable";
  }
  return fmt::format("rip={:#x} rsp={:#x} rflags={:#x} cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x} "
                     "cs={:#x} idt={:#x}/{:#x}",
                     regs.rip, regs.rsp, regs.rflags, sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4, sregs.efer,
                     sregs.cs.selector, sregs.idt.base, sregs.idt.limit);
}

std::string DescribeStoppedVcpu(const Vcpu& vcpu, const GuestMemory& memory) {
  kvm_mp_state run_state{};
  const std::string state = vcpu.Ioctl(KVM_GET_MP_STATE, &run_state, "KVM_GET_MP_STATE").ok()
                                ? RunStateName(run_state.mp_state)
                                : "run state unavailable";
  kvm_regs regs{};
  const std::string stack = vcpu.Ioctl(KVM_GET_REGS, &regs, "KVM_GET_REGS").ok()
                                ? StackTextWords(vcpu, memory, regs.rsp)
                                : "unavailable";
  return fmt::format("vCPU {} {}: {}; kernel text on the stack: {}", vcpu.index(), state, DescribeCpuState(vcpu),
                     stack);
}

}  // namespace sandbox::vmm
