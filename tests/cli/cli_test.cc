// End-to-end tests of the sandbox-rt CLI that need no microVM: the binary is
// run as a child process with its own --root, and its exit code, stdout,
// stderr and the state directory are checked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox {
namespace {

using Json = nlohmann::json;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(MakeDirs(bundle_ + "/rootfs").ok()); }

  // Runs sandbox-rt --root <root_> ARGS..., capturing output through files.
  Outcome Run(std::vector<std::string> args, bool with_root = true) {
    const std::string out_path = dir_ + "/stdout", err_path = dir_ + "/stderr";
    const pid_t child = Start(std::move(args), with_root);
    int status = 0;
    ::waitpid(child, &status, 0);
    Outcome outcome;
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.out = ReadFile(out_path).value();
    outcome.err = ReadFile(err_path).value();
    return outcome;
  }

  // Starts sandbox-rt --root <root_> ARGS..., output to dir_/stdout and stderr.
  pid_t Start(std::vector<std::string> args, bool with_root = true) {
    if (with_root) args.insert(args.begin(), {"--root", root_});
    args.insert(args.begin(), SANDBOX_RT_BINARY);
    const std::string out_path = dir_ + "/stdout", err_path = dir_ + "/stderr";
    pid_t child = ::fork();
    if (child == 0) {
      int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return child;
  }

  void WriteConfig(const Json& config) {
    ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", config.dump(2)).ok());
  }

  // No container state may be left under --root.
  void ExpectNothingLeft() {
    if (!IsDirectory(root_)) return;
    EXPECT_TRUE(std::filesystem::is_empty(root_)) << root_ << " is not empty";
  }

  // `spec`'s bundle without a terminal, and a guest whose files exist (they
  // are no kernel and initramfs: create gets as far as starting sandbox-vmm).
  void WriteDetachedBundleAndFakeGuest(Json linux_extra = Json::object()) {
    ASSERT_EQ(Run({"spec", "-b", bundle_}).exit_code, 0);
    Json config = Json::parse(ReadFile(bundle_ + "/config.json").value());
    config["process"]["terminal"] = false;
    config["linux"].update(linux_extra);
    WriteConfig(config);
    ASSERT_TRUE(MakeDirs(guest_).ok());
    ASSERT_TRUE(WriteFileAtomic(guest_ + "/vmlinux", "not a kernel").ok());
    ASSERT_TRUE(WriteFileAtomic(guest_ + "/initramfs.img", "not an initramfs").ok());
  }

  // An executable shell script at `path`.
  static void WriteScript(const std::string& path, const std::string& body) {
    ASSERT_TRUE(WriteFileAtomic(path, "#!/bin/sh\n" + body + "\n", 0755).ok());
  }

  // The pid in an identity file ("<pid> <start time>"); 0 when there is none.
  static pid_t PidIn(const std::string& path) { return std::atoi(ReadFile(path).value_or("0").c_str()); }

  // Not running: no such process, or a zombie nobody reaped yet.
  static bool Gone(pid_t pid) {
    const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat").value_or("");
    const size_t close = stat.rfind(')');
    return close == std::string::npos || stat.substr(close + 2, 1) == "Z";
  }

  static bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds limit) {
    for (const auto deadline = std::chrono::steady_clock::now() + limit; !condition();) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  // The dirs of `cgroup` (relative) that exist on the host's hierarchies.
  static std::vector<std::string> CgroupDirs(const std::string& cgroup) {
    std::vector<std::string> dirs;
    std::istringstream mounts(ReadFile("/proc/self/mounts").value_or(""));
    for (std::string source, target, type, rest; mounts >> source >> target >> type && std::getline(mounts, rest);) {
      const std::string dir = target + "/" + cgroup;
      if ((type == "cgroup" || type == "cgroup2") && PathExists(dir)) dirs.push_back(dir);
    }
    return dirs;
  }

  static void KillAndReap(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-cli-");
  const std::string dir_ = temp_.path();
  const std::string root_ = dir_ + "/state";
  const std::string bundle_ = dir_ + "/bundle";
  const std::string guest_ = dir_ + "/guest";
};

TEST_F(CliTest, SpecWritesAConfigThatValidateAccepts) {
  Outcome spec = Run({"spec", "-b", bundle_});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  Json config = Json::parse(ReadFile(bundle_ + "/config.json").value());
  EXPECT_EQ(config["ociVersion"], "1.3.0");
  EXPECT_EQ(config["root"]["path"], "rootfs");
  Outcome validate = Run({"validate", "-b", bundle_});
  EXPECT_EQ(validate.exit_code, 0) << validate.out;
  EXPECT_EQ(validate.out, "OK\n");
}

TEST_F(CliTest, SpecRefusesToOverwrite) {
  ASSERT_EQ(Run({"spec", "-b", bundle_}).exit_code, 0);
  Outcome again = Run({"spec", "-b", bundle_});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("config.json exists"), std::string::npos) << again.err;
}

TEST_F(CliTest, RootlessSpecHasAUserNamespaceAndValidates) {
  ASSERT_EQ(Run({"spec", "--rootless", "-b", bundle_}).exit_code, 0);
  Json config = Json::parse(ReadFile(bundle_ + "/config.json").value());
  bool user_ns = false;
  for (const Json& ns : config["linux"]["namespaces"]) user_ns |= ns["type"] == "user";
  EXPECT_TRUE(user_ns);
  EXPECT_EQ(config["linux"]["uidMappings"][0]["hostID"], ::getuid());
  EXPECT_EQ(Run({"validate", "-b", bundle_}).exit_code, 0);
}

TEST_F(CliTest, ValidatePrintsEveryErrorWithItsPath) {
  WriteConfig({{"ociVersion", "9.0.0"},
               {"root", {{"path", "missing-rootfs"}}},
               {"process", {{"args", Json::array()}, {"cwd", "rel"}, {"user", {{"uid", 0}, {"gid", 0}}}}},
               {"linux", {{"namespaces", {{{"type", "foo"}}}}}}});
  Outcome validate = Run({"validate", "-b", bundle_});
  EXPECT_EQ(validate.exit_code, 1);
  for (const char* expected : {"ociVersion: unsupported version \"9.0.0\"", "root.path:", "does not exist",
                               "process.args:", "process.cwd: must be an absolute path",
                               "linux.namespaces[0].type: unknown namespace type \"foo\"", "5 errors"}) {
    EXPECT_NE(validate.out.find(expected), std::string::npos) << expected << "\n" << validate.out;
  }
}

// Numbers past any CPU, once an uncaught std::out_of_range that aborted
// validate, create and update: an error naming the field instead.
TEST_F(CliTest, ValidateRefusesAHugeCpuListByField) {
  ASSERT_EQ(Run({"spec", "-b", bundle_}).exit_code, 0);
  Json config = Json::parse(ReadFile(bundle_ + "/config.json").value());
  config["linux"]["resources"]["cpu"]["cpus"] = "0-99999999999999999999";
  WriteConfig(config);
  Outcome validate = Run({"validate", "-b", bundle_});
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_NE(validate.out.find("linux.resources.cpu.cpus: \"0-99999999999999999999\" is not a CPU list like 0-3,5: "
                              "99999999999999999999 is above 65535"),
            std::string::npos)
      << validate.out << validate.err;
}

TEST_F(CliTest, ValidateNotesUnenforcedLsmFields) {
  ASSERT_EQ(Run({"spec", "-b", bundle_}).exit_code, 0);
  Json config = Json::parse(ReadFile(bundle_ + "/config.json").value());
  config["process"]["apparmorProfile"] = "docker-default";
  WriteConfig(config);
  Outcome validate = Run({"validate", "-b", bundle_});
  EXPECT_EQ(validate.exit_code, 0);
  EXPECT_NE(validate.out.find("note: process.apparmorProfile \"docker-default\" is not enforced"), std::string::npos)
      << validate.out;
  EXPECT_NE(validate.out.find("OK\n"), std::string::npos);
}

TEST_F(CliTest, ValidateReportsMalformedJsonAndMissingConfig) {
  Outcome missing = Run({"validate", "-b", bundle_});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find(bundle_ + "/config.json"), std::string::npos) << missing.out;
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", "{\"ociVersion\": \"1.0.0\",").ok());
  Outcome malformed = Run({"validate", "-b", bundle_});
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_NE(malformed.out.find("malformed JSON"), std::string::npos) << malformed.out;
}

TEST_F(CliTest, StateOfUnknownContainerFailsClearly) {
  Outcome state = Run({"state", "nosuch"});
  EXPECT_EQ(state.exit_code, 1);
  EXPECT_EQ(state.out, "");
  EXPECT_NE(state.err.find("container \"nosuch\" does not exist"), std::string::npos) << state.err;
}

TEST_F(CliTest, ExecFlagsAfterTheContainerIdBelongToTheCommand) {
  // `-c` after the id is sh's, not exec's --cap: the error is about the
  // container, not about a capability named "echo hi".
  Outcome exec = Run({"exec", "--cwd", "/", "nosuch", "sh", "-c", "echo hi", "-e", "X=1"});
  EXPECT_EQ(exec.exit_code, 1);
  EXPECT_NE(exec.err.find("container \"nosuch\" does not exist"), std::string::npos) << exec.err;
  Outcome usage = Run({"exec", "nosuch"});
  EXPECT_EQ(usage.exit_code, 1);
  EXPECT_NE(usage.err.find("exec needs a command or -p process.json"), std::string::npos) << usage.err;
}

TEST_F(CliTest, ExecProcessJsonGetsTheUnenforcedFieldNotes) {
  const std::string process = dir_ + "/process.json";
  ASSERT_TRUE(WriteFileAtomic(process, R"({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                                           "apparmorProfile": "docker-default", "selinuxLabel": "system_u:r:t:s0",
                                           "execCPUAffinity": {"initial": "0"}})").ok());
  Outcome exec = Run({"exec", "-p", process, "nosuch"});
  EXPECT_EQ(exec.exit_code, 1);
  for (const char* note : {"process.apparmorProfile \"docker-default\" is not enforced",
                           "process.selinuxLabel \"system_u:r:t:s0\" is not enforced",
                           "process.execCPUAffinity.initial \"0\" is not enforced"}) {
    EXPECT_NE(exec.err.find(note), std::string::npos) << note << "\n" << exec.err;
  }
  EXPECT_NE(exec.err.find("container \"nosuch\" does not exist"), std::string::npos) << exec.err;
}

TEST_F(CliTest, InvalidIdsAreRejectedBeforeTouchingDisk) {
  for (const char* id : {"../escape", "a/b", ".."}) {
    Outcome state = Run({"delete", id});
    EXPECT_EQ(state.exit_code, 1) << id;
    EXPECT_NE(state.err.find("invalid container id"), std::string::npos) << state.err;
  }
  EXPECT_FALSE(PathExists(root_));
}

TEST_F(CliTest, FeaturesIsTheSpecDocument) {
  Outcome features = Run({"features"});
  ASSERT_EQ(features.exit_code, 0);
  Json document = Json::parse(features.out);
  EXPECT_EQ(document["ociVersionMax"], "1.3.0");
  EXPECT_TRUE(document["linux"]["seccomp"]["enabled"].get<bool>());
  EXPECT_EQ(document["linux"]["namespaces"].size(), 8u);  // user namespaces too
}

TEST_F(CliTest, CreateWithInvalidBundleLeavesNothing) {
  WriteConfig({{"ociVersion", "1.3.0"}, {"root", {{"path", "rootfs"}}}});
  Outcome create = Run({"create", "-b", bundle_, "--pid-file", dir_ + "/pid", "c1"});
  EXPECT_EQ(create.exit_code, 1);
  EXPECT_NE(create.err.find("process: required"), std::string::npos) << create.err;
  ExpectNothingLeft();
  EXPECT_FALSE(PathExists(dir_ + "/pid"));
}

TEST_F(CliTest, TerminalWithoutAConsoleSocketFailsCleanly) {
  // `spec` writes terminal: true; a detached container's pty needs a console socket (runc's rule).
  ASSERT_EQ(Run({"spec", "-b", bundle_}).exit_code, 0);
  Outcome create = Run({"create", "--bundle", bundle_, "c1"});
  EXPECT_EQ(create.exit_code, 1);
  EXPECT_NE(create.err.find("process.terminal"), std::string::npos) << create.err;
  EXPECT_NE(create.err.find("--console-socket"), std::string::npos) << create.err;
  ExpectNothingLeft();
  Outcome run = Run({"run", "-d", "-b", bundle_, "c2"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("process.terminal"), std::string::npos) << run.err;
  ExpectNothingLeft();
  Outcome not_a_socket = Run({"create", "--console-socket", bundle_ + "/config.json", "--bundle", bundle_, "c3"});
  EXPECT_EQ(not_a_socket.exit_code, 1);
  EXPECT_NE(not_a_socket.err.find("not a Unix socket"), std::string::npos) << not_a_socket.err;
  ExpectNothingLeft();
}

TEST_F(CliTest, CreateWithoutTheGuestKernelFailsCleanly) {
  ASSERT_EQ(Run({"spec", "-b", bundle_}).exit_code, 0);
  std::string config = ReadFile(bundle_ + "/config.json").value();
  const size_t terminal = config.find("\"terminal\": true");
  ASSERT_NE(terminal, std::string::npos);
  config.replace(terminal, 16, "\"terminal\": false");
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", config).ok());
  ::setenv("SANDBOX_RT_GUEST_DIR", (dir_ + "/no-guest").c_str(), 1);
  ::setenv("SANDBOX_RT_VMM", "/bin/true", 1);  // present: the kernel is what is missing
  Outcome create = Run({"create", "--bundle", bundle_, "c1"});
  ::unsetenv("SANDBOX_RT_GUEST_DIR");
  ::unsetenv("SANDBOX_RT_VMM");
  EXPECT_EQ(create.exit_code, 1);
  EXPECT_NE(create.err.find("no-guest/vmlinux does not exist"), std::string::npos) << create.err;
  EXPECT_NE(create.err.find("sandbox-rt check"), std::string::npos) << create.err;
  ExpectNothingLeft();
}

// containerd's runc shim: --root /run/containerd/runc/k8s.io and 64-hex ids, so
// the sockets in the state dir are longer than sun_path (108 bytes). Create
// gets past every path check and fails only where this host lacks KVM or the
// fake kernel is no kernel, leaving nothing behind.
TEST_F(CliTest, CreateUnderALongRootFailsOnlyForLackOfAGuest) {
  WriteDetachedBundleAndFakeGuest();
  const std::string long_root = dir_ + "/" + std::string(150 - dir_.size() - 1, 'r');
  ASSERT_EQ(long_root.size(), 150u);
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  ::setenv("SANDBOX_RT_GUEST_DIR", guest_.c_str(), 1);
  ::setenv("SANDBOX_RT_VMM", SANDBOX_VMM_BINARY, 1);
  Outcome create = Run({"--root", long_root, "create", "--bundle", bundle_, id}, false);
  ::unsetenv("SANDBOX_RT_GUEST_DIR");
  ::unsetenv("SANDBOX_RT_VMM");
  EXPECT_EQ(create.exit_code, 1);
  for (const char* path_error : {"--root", "longer than", "too long", "sun_path"}) {
    EXPECT_EQ(create.err.find(path_error), std::string::npos) << path_error << "\n" << create.err;
  }
  // The guest is what fails: no KVM here, or on a KVM host the fake kernel.
  EXPECT_TRUE(create.err.find("/dev/kvm") != std::string::npos ||
              create.err.find("neither an ELF vmlinux nor a bzImage") != std::string::npos)
      << create.err;
  EXPECT_TRUE(!IsDirectory(long_root) || std::filesystem::is_empty(long_root)) << long_root << " is not empty";
}

// A client's timeout SIGKILLs create while the VM boots (containerd and
// podman do): the monitor sees the reader of its report pipe gone, kills
// sandbox-vmm, leaves and removes the host cgroups and removes the state dir.
// A sandbox-vmm that never answers stands in for a slow boot.
TEST_F(CliTest, ACreateKilledWhileTheVmBootsLeavesNothing) {
  const std::string cgroup = "sandbox-rt-cli-test-" + std::to_string(::getpid());
  WriteDetachedBundleAndFakeGuest({{"cgroupsPath", "/" + cgroup}});
  WriteScript(dir_ + "/slow-vmm", "exec sleep 600");
  ::setenv("SANDBOX_RT_GUEST_DIR", guest_.c_str(), 1);
  ::setenv("SANDBOX_RT_VMM", (dir_ + "/slow-vmm").c_str(), 1);
  const pid_t create = Start({"create", "--bundle", bundle_, "c1"});
  ::unsetenv("SANDBOX_RT_GUEST_DIR");
  ::unsetenv("SANDBOX_RT_VMM");
  const std::string state_dir = root_ + "/c1";
  const bool booting = WaitFor([&] { return PathExists(state_dir + "/vmm.pid"); }, std::chrono::seconds(20));
  const pid_t vmm = PidIn(state_dir + "/vmm.pid");
  const pid_t monitor = PidIn(state_dir + "/monitor.pid");
  const size_t joined = CgroupDirs(cgroup).size();
  KillAndReap(create);
  ASSERT_TRUE(booting) << ReadFile(dir_ + "/stderr").value_or("");
  EXPECT_GT(joined, 0u) << "the monitor made and joined linux.cgroupsPath";
  ASSERT_GT(vmm, 0);
  ASSERT_GT(monitor, 0);

  EXPECT_TRUE(WaitFor([&] { return !PathExists(state_dir); }, std::chrono::seconds(10))) << "the state dir is left";
  EXPECT_TRUE(WaitFor([&] { return Gone(vmm) && Gone(monitor); }, std::chrono::seconds(10)));
  if (!Gone(vmm)) KillAndReap(vmm);
  if (!Gone(monitor)) KillAndReap(monitor);
  const std::vector<std::string> left = CgroupDirs(cgroup);
  EXPECT_TRUE(left.empty()) << "host cgroup left: " << left.front();
  for (const std::string& dir : left) ::rmdir(dir.c_str());
  Outcome state = Run({"state", "c1"});
  EXPECT_EQ(state.exit_code, 1);
  EXPECT_NE(state.err.find("does not exist"), std::string::npos) << state.err;
  EXPECT_EQ(Run({"list", "-q"}).out, "");
}

// Killed before its monitor exists (here in mkfs of the rootfs image, so
// rootfs_mode "image"), create
// leaves its "creating" state: the next list (or state, delete, kill) sees its
// creator gone and undoes it, as create's own undo would have.
TEST_F(CliTest, ACreateKilledBeforeItsMonitorStartedIsUndoneByTheNextList) {
  WriteDetachedBundleAndFakeGuest();
  const std::string bin = dir_ + "/bin";
  ASSERT_TRUE(MakeDirs(bin).ok());
  WriteScript(bin + "/mkfs.erofs", "echo $$ > " + dir_ + "/mkfs.pid\nexec sleep 600");
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/runtime.json", R"({"rootfs_mode": "image"})").ok());
  const std::string path = ::getenv("PATH") ? ::getenv("PATH") : "/usr/bin:/bin";
  ::setenv("PATH", (bin + ":" + path).c_str(), 1);
  ::setenv("SANDBOX_RT_GUEST_DIR", guest_.c_str(), 1);
  ::setenv("SANDBOX_RT_VMM", "/bin/true", 1);
  ::setenv("SANDBOX_RT_CONFIG", (dir_ + "/runtime.json").c_str(), 1);
  const pid_t create = Start({"create", "--bundle", bundle_, "c1"});
  ::setenv("PATH", path.c_str(), 1);
  ::unsetenv("SANDBOX_RT_GUEST_DIR");
  ::unsetenv("SANDBOX_RT_VMM");
  ::unsetenv("SANDBOX_RT_CONFIG");
  const bool in_mkfs = WaitFor([&] { return PidIn(dir_ + "/mkfs.pid") > 0; }, std::chrono::seconds(20));
  KillAndReap(create);
  if (PidIn(dir_ + "/mkfs.pid") > 0) ::kill(PidIn(dir_ + "/mkfs.pid"), SIGKILL);  // reaped by init
  ASSERT_TRUE(in_mkfs) << ReadFile(dir_ + "/stderr").value_or("");
  ASSERT_EQ(Json::parse(ReadFile(root_ + "/c1/state.json").value_or("{}")).value("status", ""), "creating");

  Outcome list = Run({"list", "-q"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, "");
  EXPECT_NE(list.err.find("its create was interrupted"), std::string::npos) << list.err;
  ExpectNothingLeft();
  Outcome state = Run({"state", "c1"});
  EXPECT_EQ(state.exit_code, 1);
  EXPECT_NE(state.err.find("does not exist"), std::string::npos) << state.err;
}

TEST_F(CliTest, ListOfEmptyRoot) {
  Outcome table = Run({"list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.substr(0, 2), "ID");
  EXPECT_NE(table.out.find("STATUS"), std::string::npos);
  Outcome json = Run({"list", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0);
  EXPECT_EQ(Json::parse(json.out), Json::array());
  EXPECT_EQ(Run({"list", "-q"}).out, "");
}

TEST_F(CliTest, ListShowsStoredContainers) {
  // A state dir as a sandbox backend would leave it; list reads it back.
  ASSERT_TRUE(MakeDirs(root_ + "/web").ok());
  ASSERT_TRUE(WriteFileAtomic(root_ + "/web/state.json",
                              R"({"ociVersion":"1.3.0","id":"web","status":"stopped","pid":12,"bundle":"/b"})")
                  .ok());
  Outcome quiet = Run({"list", "-q"});
  EXPECT_EQ(quiet.out, "web\n");
  Outcome state = Run({"state", "web"});
  ASSERT_EQ(state.exit_code, 0) << state.err;
  EXPECT_EQ(Json::parse(state.out)["status"], "stopped");
  Outcome start = Run({"start", "web"});
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_NE(start.err.find("cannot start container \"web\": it is stopped"), std::string::npos) << start.err;
  EXPECT_EQ(Run({"delete", "web"}).exit_code, 0);
  ExpectNothingLeft();
}

TEST_F(CliTest, KillRejectsUnknownSignals) {
  Outcome kill = Run({"kill", "c1", "SIGNOPE"});
  EXPECT_EQ(kill.exit_code, 1);
  EXPECT_NE(kill.err.find("unknown signal \"SIGNOPE\""), std::string::npos) << kill.err;
}

TEST_F(CliTest, UpdateRejectsBadSizes) {
  Outcome update = Run({"update", "--memory", "12q", "c1"});
  EXPECT_EQ(update.exit_code, 1);
  EXPECT_NE(update.err.find("--memory: \"12q\""), std::string::npos) << update.err;
}

TEST_F(CliTest, JsonLogFormatWritesRuncStyleLines) {
  std::string log = dir_ + "/log.json";
  Outcome state = Run({"--root", root_, "--log", log, "--log-format", "json", "state", "gone"}, false);
  EXPECT_EQ(state.exit_code, 1);
  Json line = Json::parse(ReadFile(log).value());
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "container \"gone\" does not exist");
}

TEST_F(CliTest, UsageErrorsExitNonZero) {
  EXPECT_EQ(Run({}).exit_code, 1);
  EXPECT_EQ(Run({"state"}).exit_code, 1);
  EXPECT_EQ(Run({"--log-format", "yaml", "list"}).exit_code, 1);
  EXPECT_EQ(Run({"--help"}, false).exit_code, 0);
}

TEST_F(CliTest, CheckReportsEveryRequirement) {
  Outcome check = Run({"check"}, false);
  EXPECT_TRUE(check.exit_code == 0 || check.exit_code == 1);
  for (const char* name : {"kvm ", "kvm-api", "cgroup", "guest-kernel", "guest-initramfs", "sandbox-vmm",
                           "test-host", "ready for microVM containers:"}) {
    EXPECT_NE(check.out.find(name), std::string::npos) << name << "\n" << check.out;
  }
}

}  // namespace
}  // namespace sandbox
