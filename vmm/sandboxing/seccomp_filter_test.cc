#include "vmm/sandboxing/seccomp_filter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "vmm/sandboxing/testing/child_process.h"

namespace sandbox::vmm {
namespace {

using testing::ChildEnd;

// Runs `body` in a child process under `kind`'s filter (and the SIGSYS
// reporter); the child exits 0 when `body` returns.
ChildEnd RunFiltered(ThreadKind kind, const std::function<void()>& body) {
  return testing::RunInChild([&] {
    if (!InstallSeccompViolationReporter().ok() || !InstallSeccompFilter(kind).ok()) _exit(100);
    body();
  });
}

bool DiedOfSigsys(const ChildEnd& end) { return WIFSIGNALED(end.status) && WTERMSIG(end.status) == SIGSYS; }

constexpr ThreadKind kKinds[] = {ThreadKind::kMain, ThreadKind::kVcpu, ThreadKind::kEventLoop};

TEST(SeccompFilterTest, EveryThreadKindDiesOfSigsysOnAForbiddenCallAndSaysWhich) {
  for (ThreadKind kind : kKinds) {
    // An Internet socket: no thread of the VMM has any business with one.
    const ChildEnd end = RunFiltered(kind, [] { ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); });
    EXPECT_TRUE(DiedOfSigsys(end)) << ThreadKindName(kind) << " status " << end.status;
    EXPECT_NE(end.stderr_text.find("sandbox-vmm: seccomp: the " + std::string(ThreadKindName(kind)) +
                                   " thread made forbidden system call " + std::to_string(SYS_socket)),
              std::string::npos)
        << end.stderr_text;
  }
}

// The jailed VMM is the init of its own pid namespace, which ignores a
// default-action signal it sends itself: the report must still end it.
TEST(SeccompFilterTest, TheInitOfAPidNamespaceStillDiesOfSigsys) {
  ASSERT_EQ(geteuid(), 0u) << "a new pid namespace needs root (CI and the test host run as root)";
  const pid_t outer = fork();
  if (outer == 0) {
    if (unshare(CLONE_NEWPID) != 0) _exit(90);
    const ChildEnd end = RunFiltered(ThreadKind::kVcpu, [] {
      if (getpid() != 1) _exit(91);
      ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    });
    _exit(DiedOfSigsys(end) ? 0 : WIFEXITED(end.status) ? WEXITSTATUS(end.status) : 92);
  }
  int status = 0;
  ASSERT_EQ(waitpid(outer, &status, 0), outer);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST(SeccompFilterTest, WhatEveryThreadNeedsStillWorks) {
  for (ThreadKind kind : kKinds) {
    const ChildEnd end = RunFiltered(kind, [] {
      std::mutex mutex;
      std::lock_guard lock(mutex);
      std::vector<char> big(8 << 20, 'x');  // an mmap'd allocation, freed by munmap
      if (::write(STDERR_FILENO, "alive\n", 6) != 6 || big[42] != 'x' || getpid() <= 0) _exit(3);
    });
    EXPECT_TRUE(WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0) << ThreadKindName(kind) << " " << end.status
                                                                       << " " << end.stderr_text;
    EXPECT_EQ(end.stderr_text, "alive\n");
  }
}

TEST(SeccompFilterTest, TheEventLoopOpensOnlyUnixSocketsAndOPathDirectories) {
  ChildEnd end = RunFiltered(ThreadKind::kEventLoop, [] {
    const int unix_socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int directory = ::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (unix_socket < 0 || directory < 0) _exit(4);
  });
  EXPECT_TRUE(WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0) << end.status << " " << end.stderr_text;
  end = RunFiltered(ThreadKind::kEventLoop, [] { ::open("/etc/hostname", O_RDONLY | O_CLOEXEC); });
  EXPECT_TRUE(DiedOfSigsys(end)) << end.status;
  // A vCPU thread opens nothing at all.
  end = RunFiltered(ThreadKind::kVcpu, [] { ::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC); });
  EXPECT_TRUE(DiedOfSigsys(end)) << end.status;
}

TEST(SeccompFilterTest, IoctlsAreFilteredByRequest) {
  // TCGETS (isatty) is not among the allowed requests.
  const ChildEnd end = RunFiltered(ThreadKind::kVcpu, [] { isatty(STDIN_FILENO); });
  EXPECT_TRUE(DiedOfSigsys(end)) << end.status;
  EXPECT_NE(end.stderr_text.find("forbidden system call " + std::to_string(SYS_ioctl)), std::string::npos);
}

TEST(SeccompFilterTest, SnapshotGettersAreAllowedAndSettersAreNot) {
  // On a bad fd: the kernel answers EBADF if the filter lets the call through.
  ChildEnd end = RunFiltered(ThreadKind::kEventLoop, [] {
    if (::ioctl(-1, KVM_GET_LAPIC, nullptr) != -1 || errno != EBADF) _exit(3);
    if (::ioctl(-1, KVM_GET_CLOCK, nullptr) != -1 || errno != EBADF) _exit(4);
  });
  EXPECT_TRUE(WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0) << end.status << " " << end.stderr_text;
  end = RunFiltered(ThreadKind::kEventLoop, [] { ::ioctl(-1, KVM_SET_REGS, nullptr); });
  EXPECT_TRUE(DiedOfSigsys(end)) << end.status;
}

TEST(SeccompFilterTest, TheListsDifferByThreadKind) {
  auto allows = [](ThreadKind kind, long syscall) {
    const std::vector<int> list = AllowedSyscalls(kind);
    return std::binary_search(list.begin(), list.end(), static_cast<int>(syscall));
  };
  for (ThreadKind kind : kKinds) {
    EXPECT_TRUE(allows(kind, SYS_exit_group)) << ThreadKindName(kind);
    EXPECT_FALSE(allows(kind, SYS_execve)) << ThreadKindName(kind);
    EXPECT_FALSE(allows(kind, SYS_ptrace)) << ThreadKindName(kind);
    std::printf("seccomp: the %s thread may make %zu system calls\n", std::string(ThreadKindName(kind)).c_str(),
                AllowedSyscalls(kind).size());
  }
  EXPECT_TRUE(allows(ThreadKind::kEventLoop, SYS_epoll_wait));
  EXPECT_FALSE(allows(ThreadKind::kVcpu, SYS_epoll_wait));
  EXPECT_FALSE(allows(ThreadKind::kMain, SYS_accept4));
  EXPECT_TRUE(allows(ThreadKind::kMain, SYS_clone3));
  EXPECT_FALSE(allows(ThreadKind::kVcpu, SYS_clone3));
}

}  // namespace
}  // namespace sandbox::vmm
