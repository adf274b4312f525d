#include "shim/microvm/shared_fs.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/base/testing/children.h"
#include "common/base/unix_socket.h"
#include "common/oci/spec_json.h"
#include "vmm/vhost_user/frontend.h"

namespace sandbox::shim {
namespace {

oci::Spec SpecWithMounts(std::vector<oci::Mount> mounts) {
  oci::Spec spec;
  spec.mounts = std::move(mounts);
  return spec;
}

// runc makes a read-only rootfs's missing mount points in the bundle before
// remounting it read-only (docker run --read-only -v /data ... relies on it).
TEST(SharedFs, AReadOnlyRootGetsTheMountPointsItLacksBeforeItIsShared) {
  TempDir bundle = TempDir::CreateOrDie("/tmp/shared-fs-test-");
  const std::string rootfs = bundle.path() + "/rootfs";
  ASSERT_TRUE(MakeDirs(rootfs + "/proc").ok());
  ASSERT_TRUE(MakeDirs(rootfs + "/etc").ok());
  ASSERT_EQ(::symlink("/etc", (rootfs + "/link").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(bundle.path() + "/hosts", "127.0.0.1 localhost\n", 0644).ok());
  ASSERT_TRUE(MakeDirs(bundle.path() + "/data").ok());
  oci::Spec spec = SpecWithMounts({
      {.destination = "/proc", .type = "proc", .source = "proc"},
      {.destination = "/dev", .type = "tmpfs", .source = "tmpfs"},
      {.destination = "/dev/shm", .type = "tmpfs", .source = "shm"},
      {.destination = "/scratch/deep", .type = "tmpfs", .source = "tmpfs"},
      {.destination = "/etc/hosts", .type = "bind", .source = "hosts", .options = oci::StringList{"rbind"}},
      {.destination = "/link/data", .type = "none", .source = bundle.path() + "/data", .options = oci::StringList{"bind"}},
  });
  spec.root = oci::Root{.path = "rootfs", .readonly = true};
  Result<SharedMount> root = PlanRootfsShare(spec, bundle.path());
  ASSERT_TRUE(root.ok()) << root.status().message();
  ASSERT_TRUE(MakeMountpointsOfReadOnlyRoot(spec, bundle.path(), *root).ok());
  EXPECT_TRUE(IsDirectory(rootfs + "/dev"));
  EXPECT_FALSE(PathExists(rootfs + "/dev/shm")) << "made in the /dev tmpfs by the guest, not in the rootfs";
  EXPECT_TRUE(IsDirectory(rootfs + "/scratch/deep"));
  struct stat info {};
  ASSERT_EQ(::stat((rootfs + "/etc/hosts").c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode)) << "a file bind mount's mount point is a file";
  EXPECT_TRUE(IsDirectory(rootfs + "/etc/data")) << "the rootfs's own /link -> /etc, resolved inside it";

  spec.mounts->push_back({.destination = "/a/../../b", .type = "tmpfs", .source = "tmpfs"});
  Status refused = MakeMountpointsOfReadOnlyRoot(spec, bundle.path(), *root);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("mounts[6].destination"), std::string::npos) << refused.message();
}

TEST(SharedFs, BindMountsBecomeSharesWithTheirOptions) {
  TempDir bundle = TempDir::CreateOrDie("/tmp/shared-fs-test-");
  ASSERT_TRUE(MakeDirs(bundle.path() + "/data").ok());
  ASSERT_TRUE(WriteFileAtomic(bundle.path() + "/hosts", "127.0.0.1 localhost\n", 0644).ok());
  const oci::Spec spec = SpecWithMounts({
      {.destination = "/proc", .type = "proc", .source = "proc"},
      {.destination = "/data", .type = "bind", .source = bundle.path() + "/data", .options = oci::StringList{"rbind", "ro"}},
      {.destination = "/etc/hosts", .type = "none", .source = "hosts", .options = oci::StringList{"bind"}},
  });
  Result<std::vector<SharedMount>> shares = PlanSharedMounts(spec, bundle.path());
  ASSERT_TRUE(shares.ok()) << shares.status().message();
  ASSERT_EQ(shares->size(), 2u);
  EXPECT_EQ((*shares)[0].index, 1u);
  EXPECT_TRUE((*shares)[0].read_only && (*shares)[0].recursive && (*shares)[0].directory);
  EXPECT_EQ((*shares)[1].index, 2u);
  EXPECT_EQ((*shares)[1].source, bundle.path() + "/hosts") << "relative to the bundle, as runc";
  EXPECT_FALSE((*shares)[1].read_only || (*shares)[1].recursive || (*shares)[1].directory);

  nlohmann::json config = nlohmann::json::parse(oci::SpecToJson(spec));
  const Status rewritten = RewriteSourcesForGuest(config, *shares);
  ASSERT_TRUE(rewritten.ok()) << rewritten.message();
  EXPECT_EQ(config["mounts"][0]["source"], "proc");
  EXPECT_EQ(config["mounts"][1]["source"], std::string(kGuestSharedDir) + "/1");
  EXPECT_EQ(config["mounts"][2]["source"], std::string(kGuestSharedDir) + "/2");
  EXPECT_EQ(config["mounts"][1]["options"], nlohmann::json({"rbind", "ro"})) << "options untouched";
}

TEST(SharedFs, TheRootShareIsNamedRootfsAndIsNoMount) {
  TempDir bundle = TempDir::CreateOrDie("/tmp/shared-fs-test-");
  ASSERT_TRUE(MakeDirs(bundle.path() + "/rootfs").ok());
  oci::Spec spec = SpecWithMounts({{.destination = "/proc", .type = "proc", .source = "proc"}});
  spec.root = oci::Root{.path = "rootfs", .readonly = true};
  Result<SharedMount> root = PlanRootfsShare(spec, bundle.path());
  ASSERT_TRUE(root.ok()) << root.status().message();
  EXPECT_EQ(ShareName(*root), "rootfs");
  EXPECT_EQ(ShareName({.index = 4}), "4");
  EXPECT_EQ(GuestRootfsPath(), std::string(kGuestSharedDir) + "/rootfs");
  EXPECT_TRUE(root->read_only && root->recursive && root->directory);
  nlohmann::json config = nlohmann::json::parse(oci::SpecToJson(spec));
  const Status rewritten = RewriteSourcesForGuest(config, {*root});
  ASSERT_TRUE(rewritten.ok()) << rewritten.message();
  EXPECT_EQ(config["mounts"][0]["source"], "proc") << "mounts[0] is not the root";
}

TEST(SharedFs, AMissingSourceIsRefusedByField) {
  const oci::Spec spec = SpecWithMounts(
      {{.destination = "/data", .type = "bind", .source = "/nonexistent/dir", .options = oci::StringList{"bind"}}});
  Result<std::vector<SharedMount>> shares = PlanSharedMounts(spec, "/tmp");
  ASSERT_FALSE(shares.ok());
  EXPECT_NE(shares.status().message().find("mounts[0].source: stat /nonexistent/dir"), std::string::npos)
      << shares.status().message();
  const oci::Spec no_source = SpecWithMounts({{.destination = "/data", .type = "bind"}});
  EXPECT_NE(PlanSharedMounts(no_source, "/tmp").status().message().find("mounts[0].source"), std::string::npos);
}

bool Exited(pid_t pid, int timeout_ms) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  pollfd ended{pidfd.get(), POLLIN, 0};
  return pidfd.valid() && ::poll(&ended, 1, timeout_ms) == 1;
}

// The real virtiofsd from Debian's qemu: it serves the binds from a mount
// namespace of its own, the host sees none of them, and it ends when the
// VMM's connection does.
TEST(SharedFs, VirtiofsdServesTheBindsFromItsOwnMountNamespace) {
  if (!PathExists(kDefaultVirtiofsd)) GTEST_FAIL() << kDefaultVirtiofsd << " is missing (qemu-system-common)";
  TempDir work = TempDir::CreateOrDie("/tmp/shared-fs-test-");
  ASSERT_TRUE(MakeDirs(work.path() + "/data").ok());
  const std::vector<SharedMount> shares = {
      {.index = 0, .source = work.path() + "/data", .read_only = true, .directory = true},
  };
  const std::string socket_path = work.path() + "/virtiofs.sock";
  Result<UniqueFd> listener = ListenUnix(socket_path, 1);
  ASSERT_TRUE(listener.ok());
  Result<pid_t> helper =
      SpawnVirtiofsd(kDefaultVirtiofsd, shares, work.path() + "/shared", listener->get(), work.path() + "/log");
  ASSERT_TRUE(helper.ok()) << helper.status().message();
  listener->Reset();

  std::optional<Result<vmm::VhostUserFrontend>> frontend = vmm::VhostUserFrontend::Connect(socket_path);
  ASSERT_TRUE(frontend->ok()) << frontend->status().message() << "; log: " << ReadFile(work.path() + "/log").value_or("");
  EXPECT_NE((*frontend)->backend_features() & (1ull << 32), 0u) << "a virtio 1 device";

  const std::string target = work.path() + "/shared/0";
  const std::string theirs = ReadFile("/proc/" + std::to_string(*helper) + "/mountinfo").value_or("");
  // virtiofsd is chrooted into the shared dir, so the bind shows as "/0"
  // there; its root field is the source.
  const size_t line = theirs.find(" " + shares[0].source + " ");
  ASSERT_NE(line, std::string::npos) << "the bind, in the helper's namespace:\n" << theirs;
  EXPECT_NE(theirs.substr(line, theirs.find('\n', line) - line).find(" ro,"), std::string::npos) << "read-only";
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").value_or("").find(" " + target + " "), std::string::npos)
      << "nothing mounted on the host";

  frontend.reset();  // drops the connection, as sandbox-vmm's exit does
  EXPECT_TRUE(Exited(*helper, 10'000)) << "virtiofsd ends with the VMM's connection";
  if (!Exited(*helper, 0)) ::kill(*helper, SIGKILL);
  ::waitpid(*helper, nullptr, 0);
}

std::string NamespaceOf(pid_t pid, const char* type) {
  char target[128] = {};
  const std::string link = "/proc/" + std::to_string(pid) + "/ns/" + type;
  return ::readlink(link.c_str(), target, sizeof(target) - 1) > 0 ? target : "";
}

// virtiofsd is one process, alone in a pid namespace of its own, chrooted
// into the shared dir, in a new network namespace, or in the caller's
// when the caller says it made that one for the sandbox (the monitor).
TEST(SharedFs, VirtiofsdRunsAloneInNamespacesOfItsOwn) {
  if (!PathExists(kDefaultVirtiofsd)) GTEST_FAIL() << kDefaultVirtiofsd << " is missing (qemu-system-common)";
  for (const VirtiofsdNetwork network : {VirtiofsdNetwork::kNewNamespace, VirtiofsdNetwork::kCallersPrivateNamespace}) {
    SCOPED_TRACE(network == VirtiofsdNetwork::kNewNamespace ? "a new network namespace" : "the caller's");
    TempDir work = TempDir::CreateOrDie("/tmp/shared-fs-test-");
    const std::string socket_path = work.path() + "/virtiofs.sock";
    Result<UniqueFd> listener = ListenUnix(socket_path, 1);
    ASSERT_TRUE(listener.ok());
    Result<pid_t> helper =
        SpawnVirtiofsd(kDefaultVirtiofsd, {}, work.path() + "/shared", listener->get(), work.path() + "/log", network);
    ASSERT_TRUE(helper.ok()) << helper.status().message();
    listener->Reset();
    std::optional<Result<vmm::VhostUserFrontend>> frontend = vmm::VhostUserFrontend::Connect(socket_path);
    ASSERT_TRUE(frontend->ok()) << frontend->status().message() << "; log: " << ReadFile(work.path() + "/log").value_or("");

    const std::string status = ReadFile("/proc/" + std::to_string(*helper) + "/status").value_or("");
    EXPECT_NE(status.find("NSpid:\t" + std::to_string(*helper) + "\t1\n"), std::string::npos)
        << "the init of its own pid namespace:\n" << status;
    EXPECT_TRUE(testing::ChildrenOf(*helper).empty()) << "no second virtiofsd process";
    char root[PATH_MAX] = {};
    ASSERT_GT(::readlink(("/proc/" + std::to_string(*helper) + "/root").c_str(), root, sizeof(root) - 1), 0);
    EXPECT_EQ(std::string(root), work.path() + "/shared") << "chrooted into the shared dir";
    EXPECT_NE(NamespaceOf(*helper, "mnt"), NamespaceOf(::getpid(), "mnt"));
    EXPECT_EQ(NamespaceOf(*helper, "net") == NamespaceOf(::getpid(), "net"),
              network == VirtiofsdNetwork::kCallersPrivateNamespace);

    frontend.reset();
    EXPECT_TRUE(Exited(*helper, 10'000)) << "virtiofsd ends with the VMM's connection";
    if (!Exited(*helper, 0)) ::kill(*helper, SIGKILL);
    ::waitpid(*helper, nullptr, 0);
  }
}

// The bundle's rootfs as virtiofsd sees it: bound recursively at
// shared/rootfs, so a mount under it (podman's overlay, here a tmpfs) comes
// along; read-only with root.readonly; the share's root walkable (0711) by
// a container's user-namespace root.
TEST(SharedFs, VirtiofsdServesTheRootfsWithTheMountsUnderIt) {
  if (!PathExists(kDefaultVirtiofsd)) GTEST_FAIL() << kDefaultVirtiofsd << " is missing (qemu-system-common)";
  TempDir work = TempDir::CreateOrDie("/tmp/shared-fs-test-");
  const std::string rootfs = work.path() + "/bundle/rootfs";
  ASSERT_TRUE(MakeDirs(rootfs + "/merged").ok());
  ASSERT_EQ(::mount("tmpfs", (rootfs + "/merged").c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  const std::vector<SharedMount> shares = {
      {.source = rootfs, .read_only = true, .recursive = true, .directory = true, .root = true},
  };
  const std::string socket_path = work.path() + "/virtiofs.sock";
  Result<UniqueFd> listener = ListenUnix(socket_path, 1);
  ASSERT_TRUE(listener.ok());
  Result<pid_t> helper =
      SpawnVirtiofsd(kDefaultVirtiofsd, shares, work.path() + "/shared", listener->get(), work.path() + "/log");
  listener->Reset();
  std::optional<Result<vmm::VhostUserFrontend>> frontend;
  if (helper.ok()) frontend = vmm::VhostUserFrontend::Connect(socket_path);
  // virtiofsd answers once the binds are made: the helper holds its copy.
  ::umount2((rootfs + "/merged").c_str(), MNT_DETACH);
  ASSERT_TRUE(helper.ok()) << helper.status().message();
  ASSERT_TRUE(frontend->ok()) << frontend->status().message() << "; log: " << ReadFile(work.path() + "/log").value_or("");

  const std::string theirs = ReadFile("/proc/" + std::to_string(*helper) + "/mountinfo").value_or("");
  // virtiofsd is chrooted into the shared dir: the rootfs shows as
  // /rootfs, the tmpfs under it as /rootfs/merged, both read-only.
  for (const char* point : {" /rootfs ", " /rootfs/merged "}) {
    const size_t line = theirs.find(point);
    ASSERT_NE(line, std::string::npos) << point << " in the helper's namespace:\n" << theirs;
    EXPECT_NE(theirs.substr(line, theirs.find('\n', line) - line).find(" ro,"), std::string::npos) << point;
  }
  struct stat shared {};
  ASSERT_EQ(::stat((work.path() + "/shared").c_str(), &shared), 0);
  EXPECT_EQ(shared.st_mode & 07777, 0711u);

  frontend.reset();
  EXPECT_TRUE(Exited(*helper, 10'000));
  if (!Exited(*helper, 0)) ::kill(*helper, SIGKILL);
  ::waitpid(*helper, nullptr, 0);
}

TEST(SharedFs, APodContainersSharesLiveUnderItsOwnDirectory) {
  const SharedMount root{.root = true, .under = PodContainerShareDir("app")};
  EXPECT_EQ(ShareName(root), "containers/app/rootfs");
  EXPECT_EQ(GuestRootfsPath(root), std::string(kGuestSharedDir) + "/containers/app/rootfs");
  const oci::Spec spec = SpecWithMounts({{.destination = "/data", .type = "bind", .source = "/srv"}});
  nlohmann::json config = nlohmann::json::parse(oci::SpecToJson(spec));
  const Status rewritten = RewriteSourcesForGuest(config, {{.index = 0, .source = "/srv", .under = "containers/app"}});
  ASSERT_TRUE(rewritten.ok()) << rewritten.message();
  EXPECT_EQ(config["mounts"][0]["source"], std::string(kGuestSharedDir) + "/containers/app/0");
}

// A stand-in for virtiofsd as SpawnVirtiofsd starts it: a process in a
// mount namespace of its own, chrooted into shared_dir. Killed on destruction.
class FakeVirtiofsd {
 public:
  explicit FakeVirtiofsd(const std::string& shared_dir) {
    int ready[2];
    if (::pipe(ready) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          ::chroot(shared_dir.c_str()) != 0 || ::chdir("/") != 0) {
        ::_exit(1);
      }
      (void)!::write(ready[1], "r", 1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char byte;
    ready_ = ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
  }
  ~FakeVirtiofsd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }
  // A path as the process sees it.
  std::string Inside(const std::string& path) const { return "/proc/" + std::to_string(pid_) + "/root/" + path; }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

TEST(SharedFs, APodContainersSharesJoinTheRunningVirtiofsdAndLeaveAgain) {
  TempDir work = TempDir::CreateOrDie("/tmp/shared-fs-test-");
  const std::string shared_dir = work.path() + "/shared";
  ASSERT_TRUE(MakeDirs(shared_dir + "/rootfs").ok());
  ASSERT_TRUE(MakeDirs(work.path() + "/app-rootfs").ok());
  ASSERT_TRUE(WriteFileAtomic(work.path() + "/app-rootfs/hello", "from the app's rootfs", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(work.path() + "/hosts", "127.0.0.1 pod\n", 0644).ok());
  FakeVirtiofsd virtiofsd(shared_dir);
  ASSERT_TRUE(virtiofsd.ready());
  const std::string under = PodContainerShareDir("app");
  const std::vector<SharedMount> shares = {
      {.source = work.path() + "/app-rootfs", .read_only = true, .recursive = true, .directory = true, .root = true,
       .under = under},
      {.index = 2, .source = work.path() + "/hosts", .under = under}};
  Status added = AddSharesToVirtiofsd(virtiofsd.pid(), shares, shared_dir);
  ASSERT_TRUE(added.ok()) << added.message();
  EXPECT_EQ(ReadFile(virtiofsd.Inside("containers/app/rootfs/hello")).value_or(""), "from the app's rootfs");
  EXPECT_EQ(ReadFile(virtiofsd.Inside("containers/app/2")).value_or(""), "127.0.0.1 pod\n");
  EXPECT_FALSE(WriteFileAtomic(virtiofsd.Inside("containers/app/rootfs/new"), "x", 0644).ok()) << "read-only share";
  EXPECT_EQ(ReadFile("/proc/self/mounts").value_or("").find(shared_dir), std::string::npos)
      << "nothing is mounted in the shim's own namespace";

  ASSERT_TRUE(RemoveSharesFromVirtiofsd(virtiofsd.pid(), shares, shared_dir).ok());
  EXPECT_FALSE(PathExists(virtiofsd.Inside("containers/app")));
  EXPECT_FALSE(PathExists(shared_dir + "/containers/app"));
  EXPECT_EQ(ReadFile("/proc/" + std::to_string(virtiofsd.pid()) + "/mounts").value_or("").find("containers/app"),
            std::string::npos);
}

TEST(SharedFs, ASharedSourceThatIsMissingIsNamedAndLeavesNothing) {
  TempDir work = TempDir::CreateOrDie("/tmp/shared-fs-test-");
  const std::string shared_dir = work.path() + "/shared";
  ASSERT_TRUE(MakeDirs(work.path() + "/present").ok());
  ASSERT_TRUE(MakeDirs(shared_dir).ok());
  FakeVirtiofsd virtiofsd(shared_dir);
  ASSERT_TRUE(virtiofsd.ready());
  const std::string under = PodContainerShareDir("app");
  Status added = AddSharesToVirtiofsd(virtiofsd.pid(),
                                      {{.index = 0, .source = work.path() + "/present", .directory = true, .under = under},
                                       {.index = 1, .source = work.path() + "/absent", .directory = true, .under = under}},
                                      shared_dir);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.message().find(work.path() + "/absent"), std::string::npos) << added.message();
  EXPECT_FALSE(PathExists(shared_dir + "/containers/app"));
  EXPECT_EQ(ReadFile("/proc/" + std::to_string(virtiofsd.pid()) + "/mounts").value_or("").find("containers/app"),
            std::string::npos);
  // A virtiofsd that is gone is named too.
  Status gone = AddSharesToVirtiofsd(999999999, {}, shared_dir);
  EXPECT_NE(gone.message().find("virtiofsd's mount namespace"), std::string::npos) << gone.message();
}

TEST(SharedFs, AMissingVirtiofsdIsNamed) {
  Result<pid_t> helper = SpawnVirtiofsd("/nonexistent/virtiofsd", {}, "/tmp/x", -1, "/tmp/x.log");
  ASSERT_FALSE(helper.ok());
  EXPECT_NE(helper.status().message().find("virtiofsd /nonexistent/virtiofsd does not exist"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::shim
