#include "vmm/sandboxing/seccomp_filter.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "vmm/kvm/kvm_abi.h"

namespace sandbox::vmm {
namespace {

// One allowed system call, unconditionally or when every condition holds.
struct Rule {
  int syscall;
  std::vector<scmp_arg_cmp> conditions;
};

// What every thread does: memory, locks, its own signals, time, logging
// (spdlog writes to stderr), leaving. Nothing here opens a file, makes a
// socket or maps a new executable region from a path.
constexpr std::array kEveryThread = {
    SYS_read,          SYS_write,        SYS_readv,         SYS_writev,   SYS_close,     SYS_futex,
    SYS_mmap,          SYS_munmap,       SYS_mremap,        SYS_madvise,  SYS_brk,       SYS_mprotect,
    SYS_rt_sigreturn,  SYS_rt_sigprocmask, SYS_tgkill,      SYS_getpid,   SYS_gettid,    SYS_clock_gettime,
    SYS_clock_nanosleep, SYS_nanosleep,  SYS_sched_yield,   SYS_exit,     SYS_exit_group, SYS_restart_syscall,
    SYS_epoll_ctl,     SYS_fcntl,
    // A thread's own alternate signal stack: the sanitizers' runtimes take
    // theirs down when a thread exits (the unit tests run under ASan).
    SYS_sigaltstack,
};

// What the devices do, on the event loop and on a vCPU (a guest's write to
// a device's status register activates or resets it on that vCPU's thread):
// block I/O, vsock and vhost-user sockets, eventfds for queues, entropy.
constexpr std::array kDeviceWork = {
    SYS_pread64,  SYS_pwrite64, SYS_preadv,  SYS_pwritev,  SYS_preadv2, SYS_pwritev2, SYS_fsync,
    SYS_fdatasync, SYS_fallocate, SYS_sendmsg, SYS_recvmsg, SYS_sendto, SYS_recvfrom, SYS_shutdown,
    SYS_eventfd2, SYS_getrandom, SYS_lseek,
};

// Starting the exit grace thread (Machine::Run) and what a new thread does
// first in glibc.
constexpr std::array kThreadStart = {SYS_clone, SYS_clone3, SYS_set_robust_list, SYS_rseq};

// ioctls after the build: reading a stopped vCPU (the vcpus API op, a
// triple fault's report), wiring queue eventfds and setting a TAP's offloads
// when a device is activated, and undoing those at teardown; the snapshot op
// reads every vCPU's and the VM's state (getters only: nothing sets state
// after the build).
constexpr std::array<unsigned long, 18> kIoctls = {
    KVM_GET_REGS,   KVM_GET_SREGS,     KVM_GET_MP_STATE,       KVM_TRANSLATE,   KVM_IRQFD,
    KVM_IOEVENTFD,  TUNSETVNETHDRSZ,   TUNSETOFFLOAD,          kvm_abi::kGetXsave, KVM_GET_XCRS,
    KVM_GET_DEBUGREGS, KVM_GET_LAPIC,  kvm_abi::kGetMsrs,      kvm_abi::kGetMsrIndexList, KVM_GET_VCPU_EVENTS,
    KVM_GET_CLOCK,  KVM_GET_IRQCHIP,   KVM_GET_PIT2};

template <size_t N>
void AddAll(std::vector<Rule>& rules, const std::array<int, N>& syscalls) {
  for (int syscall : syscalls) rules.push_back({syscall, {}});
}

void AddIoctls(std::vector<Rule>& rules, bool kvm_run) {
  for (unsigned long request : kIoctls) rules.push_back({SYS_ioctl, {SCMP_A1(SCMP_CMP_EQ, request)}});
  if (kvm_run) rules.push_back({SYS_ioctl, {SCMP_A1(SCMP_CMP_EQ, KVM_RUN)}});
}

std::vector<Rule> RulesOf(ThreadKind kind) {
  std::vector<Rule> rules;
  AddAll(rules, kEveryThread);
  switch (kind) {
    case ThreadKind::kMain:
      AddAll(rules, kThreadStart);
      // Teardown: the API and vsock listeners' socket files, the devices'
      // ioeventfds, a vhost-user back-end told to stop.
      rules.push_back({SYS_unlink, {}});
      rules.push_back({SYS_sendmsg, {}});
      rules.push_back({SYS_recvmsg, {}});
      rules.push_back({SYS_shutdown, {}});
      AddIoctls(rules, false);
      break;
    case ThreadKind::kVcpu:
      AddAll(rules, kDeviceWork);
      AddIoctls(rules, true);
      break;
    case ThreadKind::kEventLoop:
      AddAll(rules, kDeviceWork);
      AddIoctls(rules, false);
      rules.push_back({SYS_epoll_wait, {}});
      rules.push_back({SYS_epoll_pwait, {}});
      rules.push_back({SYS_accept4, {}});
      // The control API's forced-shutdown deadline.
      rules.push_back({SYS_timerfd_create, {}});
      rules.push_back({SYS_timerfd_settime, {}});
      rules.push_back({SYS_connect, {}});
      // Connections to the host's vsock listeners: Unix sockets only, and
      // the O_PATH directory fd that reaches a socket path too long for
      // sun_path (common/base/unix_socket).
      rules.push_back({SYS_socket, {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)}});
      rules.push_back({SYS_openat, {SCMP_A2(SCMP_CMP_MASKED_EQ, O_PATH, O_PATH)}});
      break;
  }
  return rules;
}

using Context = std::unique_ptr<void, decltype(&seccomp_release)>;

// The calling thread's kind, for the report (set once its filter is in).
thread_local const char* current_thread_kind = "unfiltered";

// Async-signal-safe: no allocation, only write(2) and the system calls that end the process.
void ReportViolation(int, siginfo_t* info, void* context_pointer) {
  char number[24];
  int length = 0;
  for (unsigned value = static_cast<unsigned>(info->si_syscall); length == 0 || value != 0; value /= 10) {
    number[length++] = static_cast<char>('0' + value % 10);
  }
  char line[200] = "sandbox-vmm: seccomp: the ";
  size_t used = std::strlen(line);
  for (const char* kind = current_thread_kind; *kind != '\0' && used < 60; ++kind) line[used++] = *kind;
  constexpr char kMiddle[] = " thread made forbidden system call ";
  std::memcpy(line + used, kMiddle, sizeof(kMiddle) - 1);
  used += sizeof(kMiddle) - 1;
  while (length > 0) line[used++] = number[--length];
  constexpr char kTail[] = " (see vmm/sandboxing/seccomp_filter.cc); the VMM dies of SIGSYS\n";
  std::memcpy(line + used, kTail, sizeof(kTail) - 1);
  used += sizeof(kTail) - 1;
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line, used);
  // SA_RESETHAND made SIGSYS's action the default again. The same call with
  // the same arguments traps again, and the kernel's SIGSYS, now unhandled,
  // ends the process, even as the init of its own pid namespace (the jail),
  // which ignores a default-action signal it sends itself.
  const greg_t* registers = static_cast<const ucontext_t*>(context_pointer)->uc_mcontext.gregs;
  ::syscall(info->si_syscall, registers[REG_RDI], registers[REG_RSI], registers[REG_RDX], registers[REG_R10],
            registers[REG_R8], registers[REG_R9]);
  ::syscall(SYS_tgkill, ::getpid(), ::gettid(), SIGSYS);
  ::_exit(128 + SIGSYS);
}

}  // namespace

std::string_view ThreadKindName(ThreadKind kind) {
  switch (kind) {
    case ThreadKind::kMain: return "main";
    case ThreadKind::kVcpu: return "vCPU";
    case ThreadKind::kEventLoop: return "event loop";
  }
  return "unknown";
}

std::vector<int> AllowedSyscalls(ThreadKind kind) {
  std::vector<int> syscalls;
  for (const Rule& rule : RulesOf(kind)) syscalls.push_back(rule.syscall);
  std::sort(syscalls.begin(), syscalls.end());
  syscalls.erase(std::unique(syscalls.begin(), syscalls.end()), syscalls.end());
  return syscalls;
}

Status InstallSeccompFilter(ThreadKind kind) {
  const std::string what = "seccomp filter of the " + std::string(ThreadKindName(kind)) + " thread";
  Context context(seccomp_init(SCMP_ACT_TRAP), &seccomp_release);
  if (!context) return Internal(what + ": seccomp_init failed");
  if (const int set = seccomp_attr_set(context.get(), SCMP_FLTATR_CTL_NNP, 1); set != 0) {
    return ErrnoStatus("seccomp_attr_set NNP", what, -set);
  }
  // A call through another ABI (int 0x80) ends the process too, not just
  // the thread (libseccomp's default), which would leave a vCPU gone quietly.
  if (const int set = seccomp_attr_set(context.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); set != 0) {
    return ErrnoStatus("seccomp_attr_set BADARCH", what, -set);
  }
  for (const Rule& rule : RulesOf(kind)) {
    const int added = seccomp_rule_add_array(context.get(), SCMP_ACT_ALLOW, rule.syscall,
                                             static_cast<unsigned>(rule.conditions.size()), rule.conditions.data());
    if (added != 0) return ErrnoStatus("seccomp_rule_add", what + ", system call " + std::to_string(rule.syscall), -added);
  }
  if (const int loaded = seccomp_load(context.get()); loaded != 0) return ErrnoStatus("seccomp_load", what, -loaded);
  current_thread_kind = ThreadKindName(kind).data();  // string literals: NUL-terminated
  return Status::Ok();
}

Status InstallSeccompViolationReporter() {
  struct sigaction action {};
  action.sa_sigaction = ReportViolation;
  action.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSYS, &action, nullptr) != 0) return ErrnoStatus("sigaction", "SIGSYS");
  // The first localtime_r (spdlog's timestamps) reads /etc/localtime:
  // done here, before any filter forbids opening it.
  tzset();
  return Status::Ok();
}

}  // namespace sandbox::vmm
