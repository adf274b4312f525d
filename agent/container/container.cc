#include "agent/container/container.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "agent/container/container_init.h"
#include "agent/container/init_channel.h"
#include "agent/container/namespaces.h"
#include "agent/container/support.h"
#include "common/base/file_util.h"
#include "common/oci/spec_json.h"

namespace sandbox::agent {
namespace {

// struct clone_args of <linux/sched.h> (which clashes with glibc's <sched.h>).
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

// What the cloned child needs, prepared before clone(): between clone and
// exec in a multi-threaded parent only async-signal-safe calls are allowed.
struct CloneArguments {
  int channel;
  std::array<int, 3> stdio;  // -1: keep the agent's
  const char* binary;
  char* const* argv;
};

[[noreturn]] void ExecInit(void* raw) {
  const auto* arguments = static_cast<CloneArguments*>(raw);
  for (int fd = 0; fd < 3; ++fd) {
    if (arguments->stdio[fd] >= 0 && ::dup2(arguments->stdio[fd], fd) < 0) ::_exit(126);
  }
  if (::dup2(arguments->channel, kInitChannelFd) < 0) ::_exit(126);
  char* const envp[] = {nullptr};
  ::execve(arguments->binary, arguments->argv, envp);
  ::_exit(127);
}

Status InitError(const std::string& message) {
  // The init reports "error: <what failed>"; config problems keep their kind.
  const std::string text = message.substr(message.find(' ') + 1);
  return Status(StatusCode::kFailedPrecondition, "building the container: " + text);
}

}  // namespace

Result<std::unique_ptr<Container>> Container::Create(ContainerOptions request, ProcessTable& processes,
                                                     const std::string& agent_binary) {
  oci::Spec spec;
  const oci::FieldErrors errors = oci::ParseSpec(request.config_json, spec);
  if (!errors.empty()) return oci::FieldErrorsToStatus("config.json", errors);
  SANDBOX_RETURN_IF_ERROR(CheckAgentSupports(spec));
  SANDBOX_ASSIGN_OR_RETURN(NamespacePlan namespaces, PlanNamespaces(*spec.linux->namespaces));
  std::unique_ptr<Cgroup> cgroup;
  if (!request.cgroup_root.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(std::string cgroup_path, CgroupPathFor(spec, request.id));
    SANDBOX_ASSIGN_OR_RETURN(cgroup, Cgroup::Create(request.cgroup_root, cgroup_path, spec));
  } else if ((spec.linux->resources && HasResources(*spec.linux->resources)) || spec.linux->cgroups_path) {
    return Unimplemented("linux.resources/cgroupsPath: this agent has no cgroup v2 root (host test mode without "
                         "--cgroup-root)");
  }
  std::unique_ptr<RootfsMount> rootfs_mount;
  if (!request.rootfs_fstype.empty() && request.rootfs_fstype != "dir") {
    SANDBOX_RETURN_IF_ERROR(MakeDirs(request.work_dir, 0700));
    // Always with the writable overlay: mount points missing from the image
    // must be creatable, as in runc's bundle directory; root.readonly is
    // applied at the end of the setup (rootfs_setup.cc), as runc does.
    SANDBOX_ASSIGN_OR_RETURN(rootfs_mount,
                             RootfsMount::Mount({.device = request.rootfs, .fstype = request.rootfs_fstype},
                                                request.work_dir + "/" + request.id, /*writable=*/true));
    request.rootfs = rootfs_mount->path();
  }
  struct stat info {};
  if (::stat(request.rootfs.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return InvalidArgument("rootfs " + request.rootfs + ": not a directory");
  }

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return ErrnoStatus("socketpair", "container init");
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  std::string arg0 = "sandbox-agent";
  std::string arg1 = kContainerInitCommand;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  const std::array<int, 3> no_stdio = {-1, -1, -1};
  CloneArguments arguments{theirs.get(), request.stdio ? request.stdio->child_fds() : no_stdio, agent_binary.c_str(),
                           argv};
  // clone3 without CLONE_VM behaves like fork (the child runs on a copy of
  // this stack); CLONE_INTO_CGROUP places it in its cgroup before it runs,
  // so a new cgroup namespace is rooted at the container's cgroup.
  CloneArgs clone_args{};
  clone_args.flags = namespaces.clone_flags;
  clone_args.exit_signal = SIGCHLD;
  if (cgroup) {
    clone_args.flags |= kCloneIntoCgroup;
    clone_args.cgroup = static_cast<uint64_t>(cgroup->fd());
  }
  const pid_t pid = processes.SpawnTracked([&] {
    const long child = ::syscall(SYS_clone3, &clone_args, sizeof(clone_args));
    if (child == 0) ExecInit(&arguments);  // never returns
    return static_cast<pid_t>(child);
  });
  if (pid < 0) return ErrnoStatus("clone3", "container " + request.id);
  theirs.Reset();

  std::unique_ptr<Container> container(new Container(request.id, pid, std::move(ours), processes));
  container->cgroup_ = std::move(cgroup);
  container->rootfs_ = std::move(rootfs_mount);
  container->stdio_ = std::move(request.stdio);
  if (container->stdio_) container->stdio_->StartRelays();
  Status sent = SendInitMessage(container->channel_.get(),
                                EncodeInitPlan(request.rootfs, request.config_json, request.no_pivot));
  Result<std::string> reply = sent.ok() ? ReceiveInitMessage(container->channel_.get()) : Result<std::string>(sent);
  if (reply.ok() && *reply == "ready") return container;
  // The destructor kills and reaps the init.
  if (reply.ok()) return InitError(*reply);
  const int status = processes.Wait(pid);
  return Internal("container init exited with status " + std::to_string(ShellExitStatus(status)) +
                  " before the container was built");
}

Container::~Container() {
  if (!processes_.ExitStatus(pid_)) {
    ::kill(pid_, SIGKILL);
    processes_.Wait(pid_);
  }
  processes_.Forget(pid_);
}

Status Container::Start() {
  std::lock_guard lock(mutex_);
  if (started_) return FailedPrecondition("container " + id_ + " was already started");
  if (processes_.ExitStatus(pid_)) return FailedPrecondition("container " + id_ + " has stopped");
  SANDBOX_RETURN_IF_ERROR(SendInitMessage(channel_.get(), "start"));
  started_ = true;
  // EOF: the channel closed on exec. A message: the last steps or the exec failed.
  Result<std::string> reply = ReceiveInitMessage(channel_.get());
  channel_.Reset();
  if (reply.ok()) return InitError(*reply);
  if (reply.status().code() == StatusCode::kNotFound) return Status::Ok();
  return reply.status();
}

Result<std::vector<pid_t>> Container::Processes() {
  if (processes_.ExitStatus(pid_)) return FailedPrecondition("container " + id_ + " has stopped");
  struct stat init_namespace {};
  const std::string init_ns = "/proc/" + std::to_string(pid_) + "/ns/pid";
  if (::stat(init_ns.c_str(), &init_namespace) != 0) return ErrnoStatus("stat", init_ns);
  struct stat own_namespace {};
  if (::stat("/proc/self/ns/pid", &own_namespace) == 0 && own_namespace.st_ino == init_namespace.st_ino) {
    return FailedPrecondition("container " + id_ + " has no pid namespace of its own: its processes cannot be told "
                              "from the agent's");
  }
  std::vector<pid_t> pids = {pid_};
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return ErrnoStatus("opendir", "/proc");
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == pid_) continue;
    struct stat namespace_info {};
    const std::string ns = std::string("/proc/") + entry->d_name + "/ns/pid";
    if (::stat(ns.c_str(), &namespace_info) == 0 && namespace_info.st_ino == init_namespace.st_ino &&
        namespace_info.st_dev == init_namespace.st_dev) {
      pids.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(proc);
  return pids;
}

Status Container::Signal(int signal, bool all) {
  if (processes_.ExitStatus(pid_)) return FailedPrecondition("container " + id_ + " has stopped");
  if (!all) {
    if (::kill(pid_, signal) != 0) return ErrnoStatus("kill", "container " + id_);
    return Status::Ok();
  }
  SANDBOX_ASSIGN_OR_RETURN(std::vector<pid_t> pids, Processes());
  for (pid_t pid : pids) ::kill(pid, signal);
  return Status::Ok();
}

Status Container::Freeze(bool frozen) {
  if (!cgroup_) return FailedPrecondition("container " + id_ + " has no cgroup to freeze");
  if (processes_.ExitStatus(pid_)) return FailedPrecondition("container " + id_ + " has stopped");
  return cgroup_->Freeze(frozen);
}

Result<CgroupStats> Container::Stats() {
  if (!cgroup_) return FailedPrecondition("container " + id_ + " has no cgroup to read statistics from");
  return cgroup_->Stats();
}

int Container::Wait() { return ShellExitStatus(processes_.Wait(pid_)); }

Container::State Container::state() {
  if (processes_.ExitStatus(pid_)) return State::kStopped;
  std::lock_guard lock(mutex_);
  return started_ ? State::kRunning : State::kCreated;
}

}  // namespace sandbox::agent
