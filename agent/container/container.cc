#include "agent/container/container.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

constexpr size_t kCloneStackSize = 64 * 1024;

// What the cloned child needs, prepared before clone(): between clone and
// exec in a multi-threaded parent only async-signal-safe calls are allowed.
struct CloneArguments {
  int channel;
  std::array<int, 3> stdio;  // -1: keep the agent's
  const char* binary;
  char* const* argv;
};

int ExecInit(void* raw) {
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
  std::unique_ptr<RootfsMount> rootfs_mount;
  if (!request.rootfs_fstype.empty() && request.rootfs_fstype != "dir") {
    SANDBOX_RETURN_IF_ERROR(MakeDirs(request.work_dir, 0700));
    SANDBOX_ASSIGN_OR_RETURN(rootfs_mount,
                             RootfsMount::Mount({.device = request.rootfs, .fstype = request.rootfs_fstype},
                                                request.work_dir + "/" + request.id, !spec.root->readonly.value_or(false)));
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
  void* stack = ::mmap(nullptr, kCloneStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ErrnoStatus("mmap", "clone stack");
  const pid_t pid = processes.SpawnTracked([&] {
    return ::clone(ExecInit, static_cast<char*>(stack) + kCloneStackSize,
                   static_cast<int>(namespaces.clone_flags) | SIGCHLD, &arguments);
  });
  const int clone_errno = errno;
  ::munmap(stack, kCloneStackSize);
  if (pid < 0) return ErrnoStatus("clone", "container " + request.id, clone_errno);
  theirs.Reset();

  std::unique_ptr<Container> container(new Container(request.id, pid, std::move(ours), processes));
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

int Container::Wait() { return ShellExitStatus(processes_.Wait(pid_)); }

Container::State Container::state() {
  if (processes_.ExitStatus(pid_)) return State::kStopped;
  std::lock_guard lock(mutex_);
  return started_ ? State::kRunning : State::kCreated;
}

}  // namespace sandbox::agent
