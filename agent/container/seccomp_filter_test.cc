#include "agent/container/seccomp_filter.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace sandbox::agent {
namespace {

oci::SyscallArg Arg(uint32_t index, uint64_t value) {
  oci::SyscallArg arg;
  arg.index = index;
  arg.value = value;
  arg.op = "SCMP_CMP_EQ";
  return arg;
}

oci::Syscall Rule(const std::string& name, const std::string& action, std::vector<oci::SyscallArg> args) {
  oci::Syscall rule;
  rule.names = {name};
  rule.action = action;
  rule.args = std::move(args);
  return rule;
}

// The runtime-tools (and podman) default profile's personality rule: the
// same argument compared three times.
TEST(SeccompFilterTest, TheRuntimeToolsPersonalityRuleIsAccepted) {
  oci::Seccomp seccomp;
  seccomp.default_action = "SCMP_ACT_ERRNO";
  seccomp.syscalls = std::vector<oci::Syscall>{
      Rule("personality", "SCMP_ACT_ALLOW", {Arg(0, 0x0)}), Rule("personality", "SCMP_ACT_ALLOW", {Arg(0, 0x8)}),
      Rule("personality", "SCMP_ACT_ALLOW", {Arg(0, 0x0), Arg(0, 0x8), Arg(0, 0x20000)})};
  const Status checked = CheckSeccomp(seccomp);
  EXPECT_TRUE(checked.ok()) << checked.message();
}

// Loaded in a child: repeated comparisons of one argument are alternatives,
// comparisons of distinct arguments must all hold (runc's behaviour).
TEST(SeccompFilterTest, RepeatedArgumentsAreAlternativesDistinctOnesMustAllHold) {
  oci::Seccomp seccomp;
  seccomp.default_action = "SCMP_ACT_ALLOW";
  seccomp.syscalls = std::vector<oci::Syscall>{Rule("personality", "SCMP_ACT_ERRNO", {Arg(0, 0x8), Arg(0, 0x20000)}),
                                               Rule("dup3", "SCMP_ACT_ERRNO", {Arg(0, 1), Arg(1, 100)})};
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !LoadSeccomp(seccomp).ok()) ::_exit(100);
    auto refused = [](long result) { return result == -1 && errno == EPERM; };
    int failures = 0;
    if (!refused(::syscall(SYS_personality, 0x8))) failures |= 1;
    if (!refused(::syscall(SYS_personality, 0x20000))) failures |= 2;
    if (::syscall(SYS_personality, 0xffffffff) == -1) failures |= 4;  // a query: allowed
    if (!refused(::syscall(SYS_dup3, 1, 100, 0))) failures |= 8;
    if (::syscall(SYS_dup3, 1, 101, 0) != 101) failures |= 16;         // only one of the two holds
    if (::syscall(SYS_dup3, 2, 100, 0) != 100) failures |= 32;
    ::_exit(failures);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "failed checks (bits; 100: the filter did not load)";
}

}  // namespace
}  // namespace sandbox::agent
