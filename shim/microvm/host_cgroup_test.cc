#include "shim/microvm/host_cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox::shim {
namespace {

// Where /proc/self/mounts text mounts cgroup2 (the last such line); empty if nowhere.
std::string Cgroup2MountPoint(const std::string& mounts_text) {
  std::string v2;
  std::istringstream mounts(mounts_text);
  for (std::string source, target, type, rest; mounts >> source >> target >> type && std::getline(mounts, rest);) {
    if (type == "cgroup2") v2 = target;
  }
  return v2;
}

TEST(HostCgroupTest, EveryHierarchyOfAHybridHost) {
  const std::string mounts =
      "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
      "cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n"
      "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
      "proc /proc proc rw 0 0\n";
  EXPECT_EQ(HostCgroupDirs(mounts, "kube/c1"),
            (std::vector<std::string>{"/sys/fs/cgroup/unified/kube/c1", "/sys/fs/cgroup/cpuset/kube/c1",
                                      "/sys/fs/cgroup/memory/kube/c1"}));
  EXPECT_TRUE(HostCgroupDirs("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", "a").size() == 1);
}

TEST(HostCgroupTest, TheCgroupsAProcessIsInOnEachHierarchy) {
  const std::string mounts =
      "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n"
      "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
      "cgroup /sys/fs/cgroup/systemd cgroup rw,xattr,name=systemd 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
      "proc /proc proc rw 0 0\n";
  const std::string proc_cgroup =
      "12:memory:/user.slice/session-1.scope\n"
      "3:cpu,cpuacct:/\n"
      "1:name=systemd:/user.slice/session-1.scope\n"
      "0::/user.slice/session-1.scope\n";
  EXPECT_EQ(CurrentCgroupDirs(mounts, proc_cgroup),
            (std::vector<std::string>{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory/user.slice/session-1.scope",
                                      "/sys/fs/cgroup/systemd/user.slice/session-1.scope",
                                      "/sys/fs/cgroup/unified/user.slice/session-1.scope"}));
  // A pure cgroup2 host; a hierarchy the process is not listed in is left out.
  EXPECT_EQ(CurrentCgroupDirs("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", "0::/system.slice/containerd.service\n"),
            std::vector<std::string>{"/sys/fs/cgroup/system.slice/containerd.service"});
  EXPECT_TRUE(CurrentCgroupDirs("cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0\n", "0::/\n").empty());
}

// The monitor leaves the container's host cgroups for the ones it came from,
// and can then remove them.
TEST(HostCgroupTest, AProcessGoesBackToWhereItWasAndTheCgroupCanGo) {
  const std::string mounts_text = ReadFile("/proc/self/mounts").value_or("");
  const std::string v2 = Cgroup2MountPoint(mounts_text);
  ASSERT_FALSE(v2.empty()) << "no cgroup2 mount on this host";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const std::string proc_cgroup = ReadFile("/proc/" + std::to_string(child) + "/cgroup").value_or("");
  std::vector<std::string> origin;
  for (const std::string& dir : CurrentCgroupDirs(mounts_text, proc_cgroup)) {
    if (dir.starts_with(v2)) origin.push_back(dir);
  }
  ASSERT_EQ(origin.size(), 1u) << proc_cgroup;
  const std::string dir = v2 + "/sandbox-rt-test-back-" + std::to_string(::getpid());
  Status joined = JoinHostCgroups({dir}, child);
  EXPECT_TRUE(joined.ok()) << joined.message();
  Status back = MoveToCgroups(origin, child);
  EXPECT_TRUE(back.ok()) << back.message();
  EXPECT_NE(ReadFile(origin[0] + "/cgroup.procs").value_or("").find(std::to_string(child)), std::string::npos);
  EXPECT_TRUE(RemoveHostCgroups({dir}, std::chrono::milliseconds(0)).ok());
  EXPECT_FALSE(PathExists(dir)) << "the child still runs, elsewhere";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(MoveToCgroups({"/proc/sandbox-rt-no-such-cgroup"}, ::getpid()).ok());
}

TEST(HostCgroupTest, JoinsAndRemovesOnTheHostsCgroup2) {
  const std::string v2 = Cgroup2MountPoint(ReadFile("/proc/self/mounts").value_or(""));
  ASSERT_FALSE(v2.empty()) << "no cgroup2 mount on this host";
  const std::string parent = v2 + "/sandbox-rt-test-" + std::to_string(::getpid());
  const std::string dir = parent + "/leaf";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  Status joined = JoinHostCgroups({dir}, child);
  EXPECT_TRUE(joined.ok()) << joined.message();
  EXPECT_NE(ReadFile(dir + "/cgroup.procs").value_or("").find(std::to_string(child)), std::string::npos);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(RemoveHostCgroups({dir, dir + "-never-made"}, std::chrono::milliseconds(0)).ok());
  EXPECT_FALSE(PathExists(dir));
  ::rmdir(parent.c_str());
  Status bad = JoinHostCgroups({"/proc/sandbox-rt-no-such-hierarchy/x"}, ::getpid());
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("linux.cgroupsPath"), std::string::npos) << bad.message();
}

// delete kills the VMM and the monitor; their virtiofsd dies with them but
// may still be exiting when the cgroups go: the removal waits for it, and
// names the cgroup when a process stays.
TEST(HostCgroupTest, RemovalWaitsForExitingProcessesAndNamesOneThatStays) {
  const std::string v2 = Cgroup2MountPoint(ReadFile("/proc/self/mounts").value_or(""));
  ASSERT_FALSE(v2.empty()) << "no cgroup2 mount on this host";
  const std::string dir = v2 + "/sandbox-rt-test-busy-" + std::to_string(::getpid());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_TRUE(JoinHostCgroups({dir}, child).ok());
  const Status busy = RemoveHostCgroups({dir}, std::chrono::milliseconds(50));
  EXPECT_FALSE(busy.ok());
  EXPECT_NE(busy.message().find(dir), std::string::npos) << busy.message();
  EXPECT_TRUE(PathExists(dir));
  std::thread killer([child] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  });
  const Status removed = RemoveHostCgroups({dir}, std::chrono::seconds(10));
  killer.join();
  EXPECT_TRUE(removed.ok()) << removed.message();
  EXPECT_FALSE(PathExists(dir));
}

}  // namespace
}  // namespace sandbox::shim
