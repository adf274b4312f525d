#include "vmm/sandboxing/jail.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "common/base/unix_socket.h"
#include "vmm/sandboxing/testing/child_process.h"

namespace sandbox::vmm {
namespace {

constexpr uint32_t kUid = 2000000000;
constexpr uint32_t kGid = 2000000001;

using testing::ChildEnd;
using testing::ExitedZero;

// Runs `body` in a child; it exits 0 when `body` returns an empty string,
// else 1 with the string on stderr.
ChildEnd RunInChild(const std::function<std::string()>& body) {
  return testing::RunInChild([&] {
    const std::string failure = body();
    if (failure.empty()) return;
    [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, failure.data(), failure.size());
    _exit(1);
  });
}

// A jail root as the monitor makes it: root-owned, searchable by the VMM's
// group only, with a host listener the guest may reach.
class JailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "a jail needs root (CI and the test host run as root)";
    char name[] = "/tmp/jail_test.XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    root_ = name;
    ASSERT_EQ(chown(root_.c_str(), 0, kGid), 0);
    ASSERT_EQ(chmod(root_.c_str(), 0710), 0);
    Result<UniqueFd> listener = ListenUnix(root_ + "/vsock_1025", 4);
    ASSERT_TRUE(listener.ok()) << listener.status().message();
    listener_ = std::move(listener).value();
    ASSERT_EQ(chmod((root_ + "/vsock_1025").c_str(), 0666), 0);
  }
  void TearDown() override {
    if (root_.empty()) return;
    unlink((root_ + "/vsock_1025").c_str());
    rmdir(root_.c_str());
  }

  JailConfig Jail() const { return {.root = root_, .uid = kUid, .gid = kGid, .max_open_files = 256}; }

  std::string root_;
  UniqueFd listener_;
};

std::string CheckConfined() {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) != 0 || ruid != kUid || euid != kUid || suid != kUid) return "uid not dropped";
  if (getresgid(&rgid, &egid, &sgid) != 0 || rgid != kGid || egid != kGid || sgid != kGid) return "gid not dropped";
  if (getgroups(0, nullptr) != 0) return "supplementary groups kept";
  if (access("/etc/passwd", F_OK) == 0 || errno != ENOENT) return "the host's /etc is in view";
  if (mkdir("/made", 0700) == 0) return "the jail root is writable";
  if (!ConnectUnix(PathInJail("/anything/vsock_1025")).ok()) return "the host listener in the root is unreachable";
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return "no_new_privs is off";
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0) return "capability " + std::to_string(cap) + " is in the bounding set";
  }
  cap_t caps = cap_get_proc();
  cap_t none = cap_init();
  const bool empty = caps != nullptr && none != nullptr && cap_compare(caps, none) == 0;
  cap_free(caps);
  cap_free(none);
  if (!empty) return "capabilities kept";
  rlimit files{}, size{}, core{};
  getrlimit(RLIMIT_NOFILE, &files);
  getrlimit(RLIMIT_FSIZE, &size);
  getrlimit(RLIMIT_CORE, &core);
  if (files.rlim_cur != 256 || files.rlim_max != 256) return "RLIMIT_NOFILE not set";
  if (size.rlim_cur != (8u << 20) || size.rlim_max != (8u << 20)) return "RLIMIT_FSIZE not set";
  if (core.rlim_max != 0) return "core files allowed";
  // A network namespace of its own: loopback only.
  struct if_nameindex* interfaces = if_nameindex();
  size_t count = 0;
  for (struct if_nameindex* each = interfaces; each != nullptr && each->if_index != 0; ++each) ++count;
  if (interfaces != nullptr) if_freenameindex(interfaces);
  if (count != 1) return "the host's network interfaces are in view (" + std::to_string(count) + ")";
  return "";
}

TEST_F(JailTest, TheVmmSeesOnlyItsRootAsAnUnprivilegedUserWithLimits) {
  const ChildEnd end = RunInChild([this] {
    const Status jailed = EnterJail(Jail(), 8u << 20);
    return jailed.ok() ? CheckConfined() : jailed.message();
  });
  EXPECT_TRUE(ExitedZero(end)) << "status " << end.status << ": " << end.stderr_text;
  // The host's view is unchanged: the jail's mounts live in its own namespace.
  struct stat info {};
  EXPECT_EQ(stat("/etc/passwd", &info), 0);
}

TEST_F(JailTest, AMissingRootIsAnErrorNamingTheJail) {
  const ChildEnd end = RunInChild([this] {
    JailConfig jail = Jail();
    jail.root = root_ + "/missing";
    const Status jailed = EnterJail(jail, 8u << 20);
    return jailed.ok() ? std::string("entered a missing root") : "error: " + jailed.message();
  });
  EXPECT_FALSE(ExitedZero(end));
  EXPECT_NE(end.stderr_text.find("jail"), std::string::npos) << end.stderr_text;
  EXPECT_NE(end.stderr_text.find("/missing"), std::string::npos) << end.stderr_text;
}

TEST_F(JailTest, ItRefusesOnceAThreadRuns) {
  const ChildEnd end = RunInChild([this] {
    std::promise<void> tried;
    std::thread second([done = tried.get_future()] { done.wait(); });
    const Status jailed = EnterJail(Jail(), 8u << 20);
    tried.set_value();
    second.join();
    if (jailed.ok()) return std::string("jailed with two threads");
    return jailed.message().find("before it starts any thread") != std::string::npos ? "" : "other error: " + jailed.message();
  });
  EXPECT_TRUE(ExitedZero(end)) << end.stderr_text;
}

TEST(JailSizeTest, TheFileLimitCoversTheConsoleAndWritableDisks) {
  VmmConfig config;
  Result<uint64_t> limit = JailFileSizeLimit(config);
  ASSERT_TRUE(limit.ok());
  EXPECT_GT(*limit, 16u << 20);
  char name[] = "/tmp/jail_disk.XXXXXX";
  const int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 64 << 20), 0);
  close(fd);
  config.block.push_back({.id = "disk", .path = name, .read_only = false});
  EXPECT_EQ(*JailFileSizeLimit(config), 64u << 20);
  config.block.back().read_only = true;
  EXPECT_LT(*JailFileSizeLimit(config), 64u << 20);
  config.block.back().path = std::string(name) + ".missing";
  config.block.back().read_only = false;
  EXPECT_FALSE(JailFileSizeLimit(config).ok());
  unlink(name);
  config.block.clear();
  config.memory_mib = 512;
  EXPECT_LT(*JailFileSizeLimit(config), 512u << 20);
  config.api_socket = "/run/api.sock";
  EXPECT_EQ(*JailFileSizeLimit(config), 512u << 20) << "a snapshot writes all of guest RAM";
}

TEST(JailPathTest, AFileInTheRootIsSeenAtTheTop) {
  EXPECT_EQ(PathInJail("/run/sandbox-rt/abc/vm/vsock"), "/vsock");
}

}  // namespace
}  // namespace sandbox::vmm
