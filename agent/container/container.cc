#include "agent/container/container.h"

#include <dirent.h>
#include <fcntl.h>
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
#include "agent/container/exec_init.h"
#include "agent/container/init_channel.h"
#include "agent/container/namespaces.h"
#include "agent/container/support.h"
#include "agent/self_executable.h"
#include "common/base/file_util.h"
#include "common/oci/spec_json.h"
#include "common/oci/state.h"
#include "common/oci/validate.h"

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
  const int* extra_fds;      // become fds 3, 4, ... (--preserve-fds)
  size_t extra_count;
  int executable;  // the agent, executed from this fd
  char* const* argv;
  int user_namespace_ready;  // -1, or a pipe that says when the id maps are written
  int user_namespace_writer;  // its other end, the agent's: closed in the child
  bool joined_user_namespace;  // already in a user namespace joined by path
};

// ExecAgentMode's exit status when it cannot become root of a joined user
// namespace (no mapping for 0).
constexpr int kJoinedUserNamespaceFailed = 124;

// Becomes uid/gid 0 of the user namespace this process is in, before exec
// (which would otherwise drop every capability: the agent's uid is not the
// namespace's root). Raw system calls: glibc's wrappers would signal the
// agent's other threads (setxid broadcast), which do not exist in this
// child, and wait for them forever.
bool BecomeNamespaceRoot(bool groups_required) {
  if (::syscall(SYS_setgroups, 0, nullptr) != 0 && groups_required) return false;
  return ::syscall(SYS_setresgid, 0, 0, 0) == 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0;
}

[[noreturn]] void ExecAgentMode(void* raw) {
  const auto* arguments = static_cast<CloneArguments*>(raw);
  if (arguments->user_namespace_ready >= 0) {
    // In a new user namespace: wait for the id maps, then become its root
    // before exec, or exec would drop every capability (an unmapped uid).
    char ready = 0;
    ::close(arguments->user_namespace_writer);  // so a failed setup reads EOF
    if (::read(arguments->user_namespace_ready, &ready, 1) != 1) ::_exit(125);
    if (!BecomeNamespaceRoot(/*groups_required=*/true)) ::_exit(125);
  }
  // A joined namespace may deny setgroups (made without privilege): the
  // agent's groups are none anyway.
  if (arguments->joined_user_namespace && !BecomeNamespaceRoot(/*groups_required=*/false)) {
    ::_exit(kJoinedUserNamespaceFailed);
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (arguments->stdio[fd] >= 0 && ::dup2(arguments->stdio[fd], fd) < 0) ::_exit(126);
  }
  // The extra fds and the channel go to fixed numbers that any source fd
  // may occupy: copies above every target first (close-on-exec, so they
  // vanish at execve), then into place.
  constexpr int kAboveTargets = kInitChannelFd + 1;
  const int channel = ::fcntl(arguments->channel, F_DUPFD_CLOEXEC, kAboveTargets);
  if (channel < 0) ::_exit(126);
  int extra[kMaxPreservedFds];
  for (size_t index = 0; index < arguments->extra_count; ++index) {
    extra[index] = ::fcntl(arguments->extra_fds[index], F_DUPFD_CLOEXEC, kAboveTargets);
    if (extra[index] < 0) ::_exit(126);
  }
  for (size_t index = 0; index < arguments->extra_count; ++index) {
    if (::dup2(extra[index], static_cast<int>(3 + index)) < 0) ::_exit(126);
  }
  if (::dup2(channel, kInitChannelFd) < 0) ::_exit(126);
  char* const envp[] = {nullptr};
  ExecuteFd(arguments->executable, arguments->argv, envp);
  ::_exit(127);
}

struct SpawnPlan {
  const char* command;          // kContainerInitCommand or kExecInitCommand
  uint64_t namespace_flags = 0;  // new namespaces
  int cgroup_fd = -1;            // CLONE_INTO_CGROUP; -1: the agent's cgroup
  int pid_namespace_fd = -1;     // the pid namespace to start in; -1: the agent's
  int channel = -1;
  std::array<int, 3> stdio = {-1, -1, -1};
  std::vector<int> extra_fds;  // at most kMaxPreservedFds
  int user_namespace_ready = -1;  // with CLONE_NEWUSER: see CloneArguments
  int user_namespace_writer = -1;
  int user_namespace_fd = -1;  // a user namespace to start in (joined by path); -1: none
  // (fd, CLONE_NEW*) to join before the new user namespace is made, while
  // the agent's privileges still reach namespaces it does not own.
  std::vector<std::pair<int, int>> early_joins;

  bool NeedsIntermediate() const { return user_namespace_fd >= 0 || !early_joins.empty(); }
};

// Namespaces to enter before the child is cloned, which setns allows only
// a single-threaded caller (a user namespace) or would give this agent
// thread for good: an intermediate child joins them (a user namespace
// first, as runc does) and clones the real one as the agent's child
// (CLONE_PARENT), whose new namespaces then belong to the user namespace
// it is in; the intermediate reports the pid over a pipe and exits.
// Async-signal-safe only, as in any child of this multi-threaded agent.
pid_t CloneThroughIntermediate(const SpawnPlan& plan, CloneArgs clone_args, CloneArguments* arguments,
                               int* clone_errno) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    *clone_errno = errno;
    return -1;
  }
  CloneArgs intermediate_args{};
  intermediate_args.exit_signal = SIGCHLD;
  const long intermediate = ::syscall(SYS_clone3, &intermediate_args, sizeof(intermediate_args));
  if (intermediate == 0) {
    ::close(report[0]);
    long child = -1;
    bool joined = plan.user_namespace_fd < 0 || ::setns(plan.user_namespace_fd, CLONE_NEWUSER) == 0;
    for (size_t index = 0; joined && index < plan.early_joins.size(); ++index) {
      joined = ::setns(plan.early_joins[index].first, plan.early_joins[index].second) == 0;
    }
    if (joined) {
      clone_args.flags |= CLONE_PARENT;
      clone_args.exit_signal = 0;  // CLONE_PARENT: the child gets ours, SIGCHLD
      child = ::syscall(SYS_clone3, &clone_args, sizeof(clone_args));
      if (child == 0) ExecAgentMode(arguments);  // never returns
    }
    const long outcome[2] = {child, child < 0 ? errno : 0};
    (void)!::write(report[1], outcome, sizeof(outcome));
    ::_exit(0);
  }
  long outcome[2] = {-1, errno};  // the intermediate's clone3 failed, unless it reports
  ::close(report[1]);
  if (intermediate > 0 && ::read(report[0], outcome, sizeof(outcome)) != sizeof(outcome)) outcome[1] = EPIPE;
  ::close(report[0]);
  *clone_errno = static_cast<int>(outcome[1]);
  return static_cast<pid_t>(outcome[0]);
}

// Clones the agent binary into `plan.command` mode, tracked by `processes`.
// clone3 without CLONE_VM behaves like fork (the child runs on a copy of
// this stack); CLONE_INTO_CGROUP places it in its cgroup before it runs, so
// a new cgroup namespace is rooted at the container's cgroup. A pid
// namespace is entered for the child only: setns(CLONE_NEWPID) on this
// thread changes where its children go, and is undone right after.
Result<pid_t> SpawnAgentMode(ProcessTable& processes, const SpawnPlan& plan, int agent_executable) {
  std::string arg0 = "sandbox-agent";
  std::string arg1 = plan.command;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  if (plan.extra_fds.size() > kMaxPreservedFds) return InvalidArgument("io.extra_fds: too many fds");
  CloneArguments arguments{.channel = plan.channel,
                           .stdio = plan.stdio,
                           .extra_fds = plan.extra_fds.data(),
                           .extra_count = plan.extra_fds.size(),
                           .executable = agent_executable,
                           .argv = argv,
                           .user_namespace_ready = plan.user_namespace_ready,
                           .user_namespace_writer = plan.user_namespace_writer,
                           .joined_user_namespace = plan.user_namespace_fd >= 0};
  CloneArgs clone_args{};
  clone_args.flags = plan.namespace_flags;
  clone_args.exit_signal = SIGCHLD;
  if (plan.cgroup_fd >= 0) {
    clone_args.flags |= kCloneIntoCgroup;
    clone_args.cgroup = static_cast<uint64_t>(plan.cgroup_fd);
  }
  UniqueFd own_pid_namespace;
  if (plan.pid_namespace_fd >= 0) {
    own_pid_namespace.Reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_pid_namespace.valid()) return ErrnoStatus("open", "/proc/self/ns/pid");
  }
  int clone_errno = 0;
  const pid_t pid = processes.SpawnTracked([&] {
    if (plan.pid_namespace_fd >= 0 && ::setns(plan.pid_namespace_fd, CLONE_NEWPID) != 0) {
      clone_errno = errno;
      return -1;
    }
    long child;
    if (plan.NeedsIntermediate()) {
      child = CloneThroughIntermediate(plan, clone_args, &arguments, &clone_errno);
    } else {
      child = ::syscall(SYS_clone3, &clone_args, sizeof(clone_args));
      if (child == 0) ExecAgentMode(&arguments);  // never returns
      clone_errno = errno;
    }
    if (plan.pid_namespace_fd >= 0 && ::setns(own_pid_namespace.get(), CLONE_NEWPID) != 0) {
      // This thread would put every later child in the container: no way on.
      std::abort();
    }
    return static_cast<pid_t>(child);
  });
  if (pid < 0) {
    errno = clone_errno;
    const char* what = plan.NeedsIntermediate() ? "setns (linux.namespaces paths)+clone3"
                       : plan.pid_namespace_fd >= 0 ? "setns+clone3"
                                                     : "clone3";
    return ErrnoStatus(what, std::string("sandbox-agent ") + plan.command);
  }
  return pid;
}

// The init's next message; a "console" message first (process.terminal)
// hands the pty master to `stdio` and the message after it is returned.
Result<std::string> ReceiveReply(int channel, ProcessStdio* stdio) {
  UniqueFd master;
  Result<std::string> reply = ReceiveInitMessage(channel, stdio && stdio->terminal() ? &master : nullptr);
  if (!reply.ok() || *reply != "console") return reply;
  if (!master.valid()) return Internal("container init sent \"console\" without the pty");
  stdio->AttachTerminal(std::move(master));
  return ReceiveInitMessage(channel);
}

// process.terminal and the request's io.terminal must agree: the streams
// were connected for one or the other.
Status CheckTerminalMatches(const oci::Process& process, const ProcessStdio* stdio) {
  const bool wanted = process.terminal.value_or(false);
  if (wanted == (stdio != nullptr && stdio->terminal())) return Status::Ok();
  return InvalidArgument(std::string("io.terminal: ") + (wanted ? "false" : "true") + " while process.terminal is " +
                         (wanted ? "true" : "false"));
}

// "containerID hostID size" lines into /proc/<pid>/<file>; one write, as the
// kernel wants.
Status WriteIdMap(pid_t pid, const char* file, const std::vector<oci::IdMapping>& mappings, const std::string& field) {
  std::string text;
  for (const oci::IdMapping& mapping : mappings) {
    text += std::to_string(mapping.container_id) + " " + std::to_string(mapping.host_id) + " " +
            std::to_string(mapping.size) + "\n";
  }
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return ErrnoStatus("write", path).Wrap(field);
  }
  return Status::Ok();
}

Status InitError(const std::string& message) {
  // The init reports "error: <what failed>"; config problems keep their kind.
  const std::string text = message.substr(message.find(' ') + 1);
  return Status(StatusCode::kFailedPrecondition, "building the container: " + text);
}

}  // namespace

Result<Container::CheckedConfig> Container::CheckConfig(const ContainerOptions& request) {
  CheckedConfig checked;
  oci::Spec& spec = checked.spec;
  const oci::FieldErrors errors = oci::ParseSpec(request.config_json, spec);
  if (!errors.empty()) return oci::FieldErrorsToStatus("config.json", errors);
  SANDBOX_RETURN_IF_ERROR(CheckAgentSupports(spec));
  SANDBOX_RETURN_IF_ERROR(CheckTerminalMatches(*spec.process, request.stdio.get()));
  SANDBOX_ASSIGN_OR_RETURN(checked.namespaces, PlanNamespaces(*spec.linux->namespaces));
  checked.state_json = request.state_json;
  if (checked.state_json.empty()) {
    checked.state_json = oci::StateToJson({.oci_version = spec.oci_version,
                                           .id = request.id,
                                           .status = "created",
                                           .annotations = spec.annotations},
                                          -1);
  } else {
    oci::State given;
    const oci::FieldErrors state_errors = oci::ParseState(checked.state_json, given);
    if (!state_errors.empty()) return oci::FieldErrorsToStatus("state_json", state_errors);
  }
  if (request.cgroup_root.empty() &&
      ((spec.linux->resources && HasResources(*spec.linux->resources)) || spec.linux->cgroups_path)) {
    return Unimplemented("linux.resources/cgroupsPath: this agent has no cgroup v2 root (host test mode without "
                         "--cgroup-root)");
  }
  for (const auto& [flag, path] : checked.namespaces.joins) {
    if (flag == CLONE_NEWPID && request.cgroup_root.empty()) {
      return FailedPrecondition("linux.namespaces: joining the pid namespace " + path +
                                " needs a cgroup of the container's own, to tell its processes from the others "
                                "(this agent has no cgroup root)");
    }
  }
  return checked;
}

namespace {

// The namespaces the init joins rather than creates, opened before it starts.
struct NamespaceJoins {
  // A pid namespace: the init must start in it (setns for pid namespaces
  // applies to children only), so the agent enters it to clone.
  UniqueFd pid_namespace;
  // A user namespace: the init starts in it, so that the namespaces it
  // creates are owned by it (as runc joins it before unsharing the rest).
  UniqueFd user_namespace;
  // With a new user namespace, the other paths are joined first (they
  // belong to namespaces outside it); the init then finds itself in them.
  std::vector<UniqueFd> early_fds;
  std::vector<std::pair<int, int>> early;  // (fd, CLONE_NEW* flag)
};

Result<UniqueFd> OpenNamespace(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", "linux.namespaces path " + path);
  return fd;
}

Result<NamespaceJoins> OpenNamespaceJoins(const NamespacePlan& namespaces) {
  NamespaceJoins joins;
  for (const auto& [flag, path] : namespaces.joins) {
    if (flag == CLONE_NEWPID) {
      SANDBOX_ASSIGN_OR_RETURN(joins.pid_namespace, OpenNamespace(path));
    } else if (flag == CLONE_NEWUSER) {
      SANDBOX_ASSIGN_OR_RETURN(joins.user_namespace, OpenNamespace(path));
    }
  }
  if (!namespaces.Creates(CLONE_NEWUSER)) return joins;
  for (const auto& [flag, path] : namespaces.joins) {
    if (flag == CLONE_NEWPID) continue;  // the agent's thread enters it (pid_namespace)
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd fd, OpenNamespace(path));
    joins.early.emplace_back(fd.get(), static_cast<int>(flag));
    joins.early_fds.push_back(std::move(fd));
  }
  return joins;
}

// The virtio-fs share the container's bind mounts come from, if it has one.
Result<std::shared_ptr<SharedFsMount>> AcquireSharedFs(const ContainerOptions& request) {
  if (request.shared_fs_tag.empty()) return std::shared_ptr<SharedFsMount>();
  if (request.shared_fs_mounts != nullptr) {
    return request.shared_fs_mounts->Acquire(request.shared_fs_tag, request.shared_fs_mount_point);
  }
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<SharedFsMount> own,
                           SharedFsMount::Mount(request.shared_fs_tag, request.shared_fs_mount_point));
  return std::shared_ptr<SharedFsMount>(std::move(own));
}

// A block-device rootfs is mounted under work_dir/<id> and request.rootfs
// becomes that directory; a directory rootfs is used as it is.
Result<std::unique_ptr<RootfsMount>> MountRootfs(ContainerOptions& request) {
  std::unique_ptr<RootfsMount> rootfs_mount;
  if (!request.rootfs_fstype.empty() && request.rootfs_fstype != "dir") {
    SANDBOX_RETURN_IF_ERROR(MakeDirs(request.work_dir, 0711));  // see RootfsMount
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
  return rootfs_mount;
}

// Writes the init's uid and gid maps, then lets it go on (one byte on
// `maps_written`, which is closed either way: on failure the init reads EOF
// and exits, and is reaped here).
Status WriteIdMaps(pid_t pid, const oci::Spec& spec, UniqueFd maps_written, ProcessTable& processes) {
  Status mapped = WriteIdMap(pid, "uid_map", *spec.linux->uid_mappings, "linux.uidMappings");
  if (mapped.ok()) mapped = WriteIdMap(pid, "gid_map", *spec.linux->gid_mappings, "linux.gidMappings");
  if (mapped.ok() && ::write(maps_written.get(), "1", 1) != 1) mapped = ErrnoStatus("write", "user namespace setup");
  maps_written.Reset();
  if (!mapped.ok()) {
    processes.Wait(pid);
    processes.Forget(pid);
  }
  return mapped;
}

}  // namespace

Result<std::unique_ptr<Container>> Container::Create(ContainerOptions request, ProcessTable& processes,
                                                     int agent_executable) {
  SANDBOX_ASSIGN_OR_RETURN(CheckedConfig checked, CheckConfig(request));
  const oci::Spec& spec = checked.spec;
  std::unique_ptr<Cgroup> cgroup;
  if (!request.cgroup_root.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(std::string cgroup_path, CgroupPathFor(spec, request.id));
    SANDBOX_ASSIGN_OR_RETURN(cgroup, Cgroup::Create(request.cgroup_root, cgroup_path, spec));
  }
  SANDBOX_ASSIGN_OR_RETURN(NamespaceJoins joins, OpenNamespaceJoins(checked.namespaces));
  SANDBOX_ASSIGN_OR_RETURN(std::shared_ptr<SharedFsMount> shared_fs, AcquireSharedFs(request));
  SANDBOX_ASSIGN_OR_RETURN(std::unique_ptr<RootfsMount> rootfs_mount, MountRootfs(request));

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return ErrnoStatus("socketpair", "container init");
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  SpawnPlan plan{.command = kContainerInitCommand,
                 .namespace_flags = CloneFlagsFor(checked.namespaces),
                 .cgroup_fd = cgroup ? cgroup->fd() : -1,
                 .pid_namespace_fd = joins.pid_namespace.get(),
                 .channel = theirs.get(),
                 .user_namespace_fd = joins.user_namespace.get(),
                 .early_joins = joins.early};
  if (request.stdio) {
    plan.stdio = request.stdio->child_fds();
    plan.extra_fds = request.stdio->extra_child_fds();
  }
  UniqueFd maps_written;  // ours: one byte once the id maps are in place
  UniqueFd maps_awaited;
  if (checked.namespaces.Creates(CLONE_NEWUSER)) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "user namespace setup");
    maps_awaited.Reset(ready[0]);
    maps_written.Reset(ready[1]);
    plan.user_namespace_ready = maps_awaited.get();
    plan.user_namespace_writer = maps_written.get();
  }
  Result<pid_t> spawned = SpawnAgentMode(processes, plan, agent_executable);
  if (!spawned.ok()) return spawned.status().Wrap("container " + request.id);
  const pid_t pid = *spawned;
  theirs.Reset();
  if (maps_written.valid()) {
    maps_awaited.Reset();
    SANDBOX_RETURN_IF_ERROR(WriteIdMaps(pid, spec, std::move(maps_written), processes));
  }

  std::unique_ptr<Container> container(new Container(request.id, pid, std::move(ours), processes));
  container->cgroup_ = std::move(cgroup);
  container->shared_fs_ = std::move(shared_fs);
  container->rootfs_ = std::move(rootfs_mount);
  container->stdio_ = std::move(request.stdio);
  container->config_json_ = request.config_json;
  container->agent_executable_ = agent_executable;
  if (container->stdio_) container->stdio_->StartRelays();
  Status sent = SendInitMessage(container->channel_.get(), EncodeInitPlan(request.rootfs, request.config_json,
                                                                          request.no_pivot, checked.state_json));
  Result<std::string> reply =
      sent.ok() ? ReceiveReply(container->channel_.get(), container->stdio_.get()) : Result<std::string>(sent);
  if (reply.ok() && *reply == "ready") return container;
  // The destructor kills and reaps the init.
  if (reply.ok()) return InitError(*reply);
  const int status = processes.Wait(pid);
  if (joins.user_namespace.valid() && WIFEXITED(status) && WEXITSTATUS(status) == kJoinedUserNamespaceFailed) {
    return FailedPrecondition("linux.namespaces: the joined user namespace has no mapping for uid and gid 0, which "
                              "the container's setup runs as");
  }
  return Internal("container init exited with status " + std::to_string(ShellExitStatus(status)) +
                  " before the container was built");
}

Container::~Container() {
  for (auto& [exec_id, exec] : execs_) {
    if (!processes_.ExitStatus(exec.pid)) {
      ::kill(exec.pid, SIGKILL);
      processes_.Wait(exec.pid);
    }
    processes_.Forget(exec.pid);
  }
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

Status Container::Exec(const std::string& exec_id, const std::string& process_json,
                       std::unique_ptr<ProcessStdio> stdio) {
  if (exec_id.empty()) return InvalidArgument("exec_id: required");
  oci::Process process;
  oci::FieldErrors errors = oci::ParseProcess(process_json, process);
  if (errors.empty()) errors = oci::ValidateProcess(process);
  if (!errors.empty()) return oci::FieldErrorsToStatus("process", errors);
  if (!process.args || process.args->empty()) return InvalidArgument("process.args: an exec needs a command");
  SANDBOX_RETURN_IF_ERROR(CheckProcessSupported(process));
  SANDBOX_RETURN_IF_ERROR(CheckTerminalMatches(process, stdio.get()));

  std::lock_guard lock(mutex_);
  PruneExecs();
  if (processes_.ExitStatus(pid_)) return FailedPrecondition("container " + id_ + " has stopped");
  // A child cloned into a frozen cgroup would never answer.
  if (frozen_) return FailedPrecondition("container " + id_ + " is paused; resume it first");
  if (execs_.contains(exec_id)) return AlreadyExists("exec \"" + exec_id + "\" already exists in container " + id_);
  const std::string their_pid_namespace = "/proc/" + std::to_string(pid_) + "/ns/pid";
  struct stat theirs_info {}, ours_info {};
  if (::stat(their_pid_namespace.c_str(), &theirs_info) != 0) return ErrnoStatus("stat", their_pid_namespace);
  UniqueFd pid_namespace;
  if (::stat("/proc/self/ns/pid", &ours_info) != 0 || ours_info.st_ino != theirs_info.st_ino) {
    pid_namespace.Reset(::open(their_pid_namespace.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pid_namespace.valid()) return ErrnoStatus("open", their_pid_namespace);
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return ErrnoStatus("socketpair", "exec init");
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  SpawnPlan plan{.command = kExecInitCommand,
                 .cgroup_fd = cgroup_ ? cgroup_->fd() : -1,
                 .pid_namespace_fd = pid_namespace.valid() ? pid_namespace.get() : -1,
                 .channel = theirs.get()};
  if (stdio) {
    plan.stdio = stdio->child_fds();
    plan.extra_fds = stdio->extra_child_fds();
  }
  Result<pid_t> spawned = SpawnAgentMode(processes_, plan, agent_executable_);
  if (!spawned.ok()) return spawned.status().Wrap("exec " + exec_id + " in container " + id_);
  const pid_t pid = *spawned;
  theirs.Reset();
  ExecProcess& exec = execs_[exec_id] = ExecProcess{pid, std::move(stdio)};
  if (exec.stdio) exec.stdio->StartRelays();

  const Status sent = SendInitMessage(ours.get(), EncodeExecPlan(pid_, config_json_, process_json));
  Result<std::string> reply = sent.ok() ? ReceiveReply(ours.get(), exec.stdio.get()) : Result<std::string>(sent);
  // EOF: the channel closed on exec.
  if (!reply.ok() && reply.status().code() == StatusCode::kNotFound) return Status::Ok();
  if (!processes_.ExitStatus(pid)) ::kill(pid, SIGKILL);
  processes_.Wait(pid);
  processes_.Forget(pid);
  execs_.erase(exec_id);
  if (reply.ok()) {
    const std::string text = reply->substr(reply->find(' ') + 1);
    return Status(StatusCode::kFailedPrecondition, "exec " + exec_id + ": " + text);
  }
  return reply.status().Wrap("exec " + exec_id);
}

Result<int> Container::WaitExec(const std::string& exec_id) {
  pid_t pid;
  {
    std::lock_guard lock(mutex_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return NotFound("exec \"" + exec_id + "\" does not exist in container " + id_);
    pid = it->second.pid;
  }
  const int status = processes_.Wait(pid);
  std::lock_guard lock(mutex_);
  auto it = execs_.find(exec_id);
  if (it != execs_.end() && it->second.pid == pid) it->second.waited = true;
  PruneExecs();
  return ShellExitStatus(status);
}

Status Container::SignalExec(const std::string& exec_id, int signal) {
  std::lock_guard lock(mutex_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return NotFound("exec \"" + exec_id + "\" does not exist in container " + id_);
  if (processes_.ExitStatus(it->second.pid)) return FailedPrecondition("exec " + exec_id + " has exited");
  if (::kill(it->second.pid, signal) != 0) return ErrnoStatus("kill", "exec " + exec_id);
  return Status::Ok();
}

void Container::PruneExecs() {
  for (auto it = execs_.begin(); it != execs_.end();) {
    if (it->second.waited && (!it->second.stdio || it->second.stdio->Finished())) {
      processes_.Forget(it->second.pid);
      it = execs_.erase(it);
    } else {
      ++it;
    }
  }
}

ProcessStdio* Container::StdioOf(const std::string& exec_id) {
  if (exec_id.empty()) return stdio_.get();
  auto it = execs_.find(exec_id);
  return it == execs_.end() ? nullptr : it->second.stdio.get();
}

Status Container::ResizeTty(const std::string& exec_id, uint32_t rows, uint32_t columns) {
  std::lock_guard lock(mutex_);
  if (!exec_id.empty() && !execs_.contains(exec_id)) {
    return NotFound("exec \"" + exec_id + "\" does not exist in container " + id_);
  }
  const pid_t pid = exec_id.empty() ? pid_ : execs_.at(exec_id).pid;
  if (processes_.ExitStatus(pid)) return FailedPrecondition("the process has exited");
  ProcessStdio* stdio = StdioOf(exec_id);
  if (stdio == nullptr) return FailedPrecondition("the process has no terminal");
  return stdio->Resize(rows, columns);
}

Status Container::CloseStdin(const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  if (!exec_id.empty() && !execs_.contains(exec_id)) {
    return NotFound("exec \"" + exec_id + "\" does not exist in container " + id_);
  }
  if (ProcessStdio* stdio = StdioOf(exec_id)) stdio->CloseStdin();
  return Status::Ok();
}

Result<std::vector<pid_t>> Container::Processes() {
  if (processes_.ExitStatus(pid_)) return FailedPrecondition("container " + id_ + " has stopped");
  // By cgroup where there is one (as runc does): a pid namespace may be
  // shared, by a container that joined it or one this one joined.
  if (cgroup_) {
    SANDBOX_ASSIGN_OR_RETURN(std::vector<pid_t> pids, cgroup_->Processes());
    std::erase(pids, pid_);
    pids.insert(pids.begin(), pid_);  // the init first
    return pids;
  }
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
  SANDBOX_RETURN_IF_ERROR(cgroup_->Freeze(frozen));
  std::lock_guard lock(mutex_);
  frozen_ = frozen;
  return Status::Ok();
}

Status Container::Update(const oci::Resources& resources) {
  if (!cgroup_) return FailedPrecondition("container " + id_ + " has no cgroup to update");
  if (processes_.ExitStatus(pid_)) return FailedPrecondition("container " + id_ + " has stopped");
  return cgroup_->Update(resources);
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
