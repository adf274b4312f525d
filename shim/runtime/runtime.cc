#include "shim/runtime/runtime.h"

#include <signal.h>
#include <sys/stat.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <system_error>

#include "common/base/file_util.h"
#include "common/oci/spec_json.h"
#include "common/oci/validate.h"
#include "common/oci/version.h"
#include "shim/runtime/container_id.h"
#include "shim/runtime/foreground_console.h"
#include "shim/runtime/hooks.h"
#include "shim/runtime/process_identity.h"
#include "shim/runtime/signals.h"

namespace sandbox::shim {
namespace {

using oci::ContainerStatus;

// The hooks of config.json, kept at create for poststart and poststop (the
// bundle may change or go away meanwhile).
std::string HooksFile(const std::string& container_dir) { return container_dir + "/hooks.json"; }

// The process making the container (create's or run's CLI), as "<pid> <start
// time>": a "creating" container whose creator is gone was abandoned.
std::string CreatorFile(const std::string& container_dir) { return container_dir + "/creator"; }

std::optional<oci::Hooks> LoadHooks(const std::string& container_dir) {
  Result<std::string> text = ReadFile(HooksFile(container_dir));
  if (!text.ok()) return std::nullopt;
  oci::Hooks hooks;
  if (!oci::ParseHooks(*text, hooks).empty()) return std::nullopt;
  return hooks;
}

// poststart and poststop failures are warnings: the lifecycle goes on (runtime spec).
void RunHooksWarning(const std::string& stage, const std::optional<std::vector<oci::Hook>>& hooks,
                     const oci::State& state) {
  if (!hooks) return;
  const Status ran = RunHooks(stage, *hooks, state);
  if (!ran.ok()) spdlog::warn("{}", ran.message());
}

// Hooks the runtime runs after the sandbox's create and before its start:
// with any, run cannot start the container as part of the create.
bool HasHooksBeforeStart(const oci::Spec& spec) {
  if (!spec.hooks) return false;
  for (const auto* hooks : {&spec.hooks->prestart, &spec.hooks->create_runtime, &spec.hooks->create_container}) {
    if (*hooks && !(*hooks)->empty()) return true;
  }
  return false;
}

ContainerStatus StatusOf(const oci::State& state) {
  return oci::ParseContainerStatus(state.status).value_or(ContainerStatus::kStopped);
}

ContainerStatus FromLive(LiveStatus live) {
  switch (live) {
    case LiveStatus::kCreated: return ContainerStatus::kCreated;
    case LiveStatus::kRunning: return ContainerStatus::kRunning;
    case LiveStatus::kPaused: return ContainerStatus::kPaused;
    case LiveStatus::kStopped: return ContainerStatus::kStopped;
  }
  return ContainerStatus::kStopped;
}

Status WritePidFile(const std::string& path, int64_t pid) {
  // runc writes the pid without a newline, atomically.
  return WriteFileAtomic(path, std::to_string(pid), 0644).Wrap("writing --pid-file");
}

std::string AbsolutePath(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) return path;
  return absolute.lexically_normal().string();
}

}  // namespace

Status CheckConsoleSocket(const oci::Spec& spec, const std::string& console_socket) {
  const bool terminal = spec.process && spec.process->terminal.value_or(false);
  if (terminal && console_socket.empty()) {
    return InvalidArgument("process.terminal: true needs --console-socket, which receives the container's pty "
                           "(create detaches; `run` in the foreground relays the terminal itself)");
  }
  if (!terminal && !console_socket.empty()) {
    return InvalidArgument("--console-socket: only with process.terminal true (there is no pty to send)");
  }
  const auto& size = spec.process ? spec.process->console_size : std::nullopt;
  if (size && (size->height > 0xffff || size->width > 0xffff)) {
    return InvalidArgument("process.consoleSize: height and width must be at most 65535");
  }
  struct stat info {};
  if (terminal && (::stat(console_socket.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode))) {
    return InvalidArgument("--console-socket " + console_socket + ": not a Unix socket");
  }
  return Status::Ok();
}

Result<oci::Spec> LoadBundleSpec(const std::string& bundle) {
  if (!IsDirectory(bundle)) return NotFound("bundle " + bundle + " is not a directory");
  std::string path = bundle + "/config.json";
  SANDBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  oci::Spec spec;
  oci::FieldErrors errors = oci::ParseSpec(text, spec);
  if (errors.empty()) errors = oci::ValidateSpec(spec, {.bundle_dir = bundle, .host_arch = oci::HostOciArch()});
  if (!errors.empty()) return oci::FieldErrorsToStatus(path + " is invalid", errors);
  return spec;
}

Result<Sandbox*> Runtime::RequireSandbox() const {
  if (context_.sandbox == nullptr && !context_.sandbox_unavailable.empty()) {
    return FailedPrecondition(context_.sandbox_unavailable);
  }
  if (context_.sandbox == nullptr) {
    return FailedPrecondition(
        "no microVM sandbox backend is available in this build (sandbox-vmm and the guest "
        "agent are not installed); `sandbox-rt check` shows what is missing");
  }
  return context_.sandbox;
}

SandboxRef Runtime::RefFor(const oci::State& state) const {
  return SandboxRef{.id = state.id,
                    .state_dir = context_.store->ContainerDir(state.id),
                    .bundle = state.bundle,
                    .pid = state.pid,
                    .status = state.status};
}

Status Runtime::SetStatus(oci::State& state, ContainerStatus status) {
  state.status = std::string(oci::ContainerStatusName(status));
  return context_.store->Save(state);
}

Result<oci::State> Runtime::LoadFresh(const std::string& id, const FileLock* held) {
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, context_.store->Load(id));
  if (held != nullptr) {
    SANDBOX_ASSIGN_OR_RETURN(bool undone, UndoAbandonedCreate(state, *held));
    if (undone) return NotFound("container \"" + id + "\" does not exist");
  }
  return Refresh(std::move(state));
}

Result<oci::State> Runtime::Refresh(oci::State state) {
  ContainerStatus status = StatusOf(state);
  bool live = status == ContainerStatus::kCreated || status == ContainerStatus::kRunning ||
              status == ContainerStatus::kPaused;
  if (!live || context_.sandbox == nullptr) return state;
  Result<LiveStatus> queried = context_.sandbox->Query(RefFor(state));
  // A sandbox that cannot be reached any more (VMM gone) means the container is gone.
  ContainerStatus fresh = queried.ok() ? FromLive(*queried) : ContainerStatus::kStopped;
  if (fresh != status) SANDBOX_RETURN_IF_ERROR(SetStatus(state, fresh));
  return state;
}

Result<bool> Runtime::UndoAbandonedCreate(const oci::State& state, const FileLock& /*held*/) {
  if (StatusOf(state) != ContainerStatus::kCreating) return false;
  const SandboxRef ref = RefFor(state);
  // A creator that still runs holds the lock (StateStore::Create), so this is
  // a guard; a missing file is a creator that died before writing it.
  const std::optional<ProcessIdentity> creator = ReadIdentity(CreatorFile(ref.state_dir));
  if (creator && IsRunning(*creator)) return false;
  spdlog::warn("container \"{}\": its create was interrupted; removing what it made", state.id);
  if (context_.sandbox != nullptr) SANDBOX_RETURN_IF_ERROR(context_.sandbox->Destroy(ref));
  SANDBOX_RETURN_IF_ERROR(context_.store->Remove(state.id));
  return true;
}

Result<oci::State> Runtime::LoadInStatus(const std::string& id, const FileLock* held, const char* verb,
                                         std::initializer_list<ContainerStatus> allowed) {
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, LoadFresh(id, held));
  ContainerStatus status = StatusOf(state);
  for (ContainerStatus ok : allowed) {
    if (status == ok) return state;
  }
  return FailedPrecondition(std::string("cannot ") + verb + " container \"" + id + "\": it is " +
                            state.status);
}

Status Runtime::Create(const CreateOptions& options) {
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(options.id));
  std::string bundle = AbsolutePath(options.bundle);
  SANDBOX_ASSIGN_OR_RETURN(oci::Spec spec, LoadBundleSpec(bundle));
  for (const std::string& note : oci::UnenforcedFieldNotes(spec)) spdlog::warn("{}", note);
  SANDBOX_RETURN_IF_ERROR(CheckConsoleSocket(spec, options.console_socket));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());

  oci::State state;
  state.oci_version = std::string(oci::kOciVersion);
  state.id = options.id;
  state.status = std::string(oci::ContainerStatusName(ContainerStatus::kCreating));
  state.bundle = bundle;
  state.annotations = spec.annotations;
  std::string root_path = spec.root->path;
  state.rootfs = root_path.starts_with("/") ? root_path : bundle + "/" + root_path;
  if (context_.now) state.created = context_.now();
  if (!context_.owner.empty()) state.owner = context_.owner;
  // Held until create returns: state, delete and the others wait for it.
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, context_.store->Create(state));

  // From here on every failure must leave nothing behind.
  SandboxRef ref = RefFor(state);
  auto undo = [&](const Status& failure) {
    (void)sandbox->Destroy(ref);
    (void)context_.store->Remove(options.id);
    return failure;
  };
  // Should this process die half-way (a client's timeout SIGKILLs it), the
  // next to hold the lock sees it gone and undoes what it made.
  Status recorded = WriteFileAtomic(CreatorFile(ref.state_dir), FormatIdentity(SelfIdentity()), 0600);
  if (!recorded.ok()) return undo(recorded);
  SandboxCreateRequest request{.ref = ref,
                               .spec = &spec,
                               .console_socket = options.console_socket.empty() ? "" : AbsolutePath(options.console_socket),
                               .no_pivot = options.no_pivot,
                               .no_new_keyring = options.no_new_keyring,
                               .preserve_fds = options.preserve_fds,
                               .private_rootfs = options.private_rootfs,
                               .start = options.start && !HasHooksBeforeStart(spec)};
  Result<int64_t> pid = sandbox->Create(request);
  if (!pid.ok()) return undo(pid.status().Wrap("creating container \"" + options.id + "\""));
  state.pid = *pid;
  if (spec.hooks) {
    Status kept = WriteFileAtomic(HooksFile(ref.state_dir), oci::HooksToJson(*spec.hooks), 0600);
    if (!kept.ok()) return undo(kept);
    // In the runtime's namespaces, once the container exists; a failure
    // stops it (runtime spec). prestart is createRuntime's deprecated twin.
    for (const auto& [stage, hooks] : {std::pair{"prestart", &spec.hooks->prestart},
                                       std::pair{"createRuntime", &spec.hooks->create_runtime}}) {
      if (!*hooks) continue;
      Status ran = RunHooks(stage, **hooks, state);
      if (!ran.ok()) return undo(ran);
    }
    // Paths resolve in the runtime's namespace (the host's), run in the
    // container's network namespace.
    if (spec.hooks->create_container) {
      Status ran = RunHooksInNetworkNamespaceOf(*pid, "createContainer", *spec.hooks->create_container, state);
      if (!ran.ok()) return undo(ran);
    }
  }
  Status saved = SetStatus(state, request.start ? ContainerStatus::kRunning : ContainerStatus::kCreated);
  if (!saved.ok()) return undo(saved);
  if (!options.pid_file.empty()) {
    Status written = WritePidFile(options.pid_file, *pid);
    if (!written.ok()) return undo(written);
  }
  if (request.start && spec.hooks) RunHooksWarning("poststart", spec.hooks->poststart, state);
  return Status::Ok();
}

Status Runtime::Start(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, context_.store->Lock(id));
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, LoadInStatus(id, &lock, "start", {ContainerStatus::kCreated}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  SANDBOX_RETURN_IF_ERROR(sandbox->Start(RefFor(state)));
  SANDBOX_RETURN_IF_ERROR(SetStatus(state, ContainerStatus::kRunning));
  if (std::optional<oci::Hooks> hooks = LoadHooks(RefFor(state).state_dir)) {
    RunHooksWarning("poststart", hooks->poststart, state);  // SetStatus made it "running"
  }
  return Status::Ok();
}

Result<oci::State> Runtime::State(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, context_.store->Lock(id));
  return LoadFresh(id, &lock);
}

Result<std::vector<oci::State>> Runtime::List() {
  SANDBOX_ASSIGN_OR_RETURN(std::vector<std::string> ids, context_.store->ListIds());
  std::vector<oci::State> states;
  for (const std::string& id : ids) {
    Result<oci::State> state = State(id);
    // A container deleted while listing is simply not listed.
    if (!state.ok() && state.status().code() == StatusCode::kNotFound) continue;
    if (!state.ok()) return state.status();
    states.push_back(std::move(state).value());
  }
  return states;
}

Status Runtime::Kill(const std::string& id, int signal, bool all) {
  if (signal <= 0 || signal >= NSIG) return InvalidArgument("invalid signal " + std::to_string(signal));
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, context_.store->Lock(id));
  SANDBOX_ASSIGN_OR_RETURN(
      oci::State state,
      LoadInStatus(id, &lock, "kill", {ContainerStatus::kCreated, ContainerStatus::kRunning, ContainerStatus::kPaused}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  return sandbox->Kill(RefFor(state), signal, all);
}

Status Runtime::Delete(const std::string& id, bool force) {
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(id));
  Result<FileLock> lock = context_.store->Lock(id);
  if (!lock.ok()) {
    // runc: deleting an unknown container with --force succeeds.
    if (force && lock.status().code() == StatusCode::kNotFound) return Status::Ok();
    return lock.status();
  }
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, context_.store->Load(id));
  SANDBOX_ASSIGN_OR_RETURN(bool undone, UndoAbandonedCreate(state, *lock));
  if (undone) return Status::Ok();  // as runc's delete of a container whose create was interrupted
  SANDBOX_ASSIGN_OR_RETURN(state, Refresh(std::move(state)));
  ContainerStatus status = StatusOf(state);
  bool busy = status == ContainerStatus::kRunning || status == ContainerStatus::kPaused;
  if (busy && !force) {
    return FailedPrecondition("cannot delete container \"" + id + "\": it is " + state.status +
                              " (stop it first or use --force)");
  }
  const std::optional<oci::Hooks> hooks = LoadHooks(RefFor(state).state_dir);
  if (context_.sandbox != nullptr) {
    // A created container is deleted without --force, as with runc: its
    // init never ran the user program.
    SANDBOX_RETURN_IF_ERROR(context_.sandbox->Destroy(RefFor(state)));
  } else if (status != ContainerStatus::kStopped && status != ContainerStatus::kCreating) {
    SANDBOX_RETURN_IF_ERROR(RequireSandbox().status());
  }
  SANDBOX_RETURN_IF_ERROR(context_.store->Remove(id));
  // After the container is gone, before delete returns (runtime spec).
  if (hooks) {
    state.status = std::string(oci::ContainerStatusName(ContainerStatus::kStopped));
    RunHooksWarning("poststop", hooks->poststop, state);
  }
  return Status::Ok();
}

Status Runtime::Pause(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, context_.store->Lock(id));
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, LoadInStatus(id, &lock, "pause", {ContainerStatus::kRunning}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  SANDBOX_RETURN_IF_ERROR(sandbox->Pause(RefFor(state)));
  return SetStatus(state, ContainerStatus::kPaused);
}

Status Runtime::Resume(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, context_.store->Lock(id));
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, LoadInStatus(id, &lock, "resume", {ContainerStatus::kPaused}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  SANDBOX_RETURN_IF_ERROR(sandbox->Resume(RefFor(state)));
  return SetStatus(state, ContainerStatus::kRunning);
}

Result<int> Runtime::Run(const CreateOptions& given, bool detach) {
  CreateOptions options = given;
  // In the foreground, a signal that comes while the VM boots waits and
  // reaches the container once it runs (runc queues them too); acting on it
  // half-way would leave the sandbox behind.
  std::optional<DeferForwardedSignals> deferred;
  if (!detach) deferred.emplace();
  // In the foreground without a console socket, a terminal is relayed to
  // this process's own stdio, as runc does.
  std::unique_ptr<ForegroundConsole> console;
  if (!detach && options.console_socket.empty()) {
    Result<oci::Spec> spec = LoadBundleSpec(AbsolutePath(options.bundle));
    if (spec.ok() && spec->process && spec->process->terminal.value_or(false)) {
      SANDBOX_ASSIGN_OR_RETURN(console, ForegroundConsole::Listen());
      options.console_socket = console->socket_path();
    }
  }
  // A foreground console attaches between create and start.
  options.start = !console;
  SANDBOX_RETURN_IF_ERROR(Create(options));
  if (console) {
    Status attached = console->Attach();
    if (!attached.ok()) {
      (void)Delete(options.id, /*force=*/true);
      return attached;
    }
  }
  Result<oci::State> created = context_.store->Load(options.id);
  const bool running = created.ok() && created->status == oci::ContainerStatusName(ContainerStatus::kRunning);
  Status started = running ? Status::Ok() : Start(options.id);
  if (!started.ok()) {
    (void)Delete(options.id, /*force=*/true);
    return started;
  }
  if (detach) return 0;
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, context_.store->Load(options.id));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  Result<int> code = sandbox->Wait(RefFor(state));
  Status deleted = Delete(options.id, /*force=*/true);
  if (!code.ok()) return code.status();
  if (!deleted.ok()) return deleted;
  return *code;
}

Result<std::vector<ProcessInfo>> Runtime::Ps(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(
      oci::State state,
      LoadInStatus(id, nullptr, "list processes of", {ContainerStatus::kCreated, ContainerStatus::kRunning, ContainerStatus::kPaused}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  return sandbox->ListProcesses(RefFor(state));
}

Result<ExecResult> Runtime::Exec(const std::string& id, const ExecRequest& request) {
  oci::FieldErrors errors = oci::ValidateProcess(request.process);
  if (!errors.empty()) return oci::FieldErrorsToStatus("exec process is invalid", errors);
  for (const std::string& note : oci::UnenforcedProcessFieldNotes(request.process)) spdlog::warn("{}", note);
  SANDBOX_ASSIGN_OR_RETURN(oci::State state, LoadInStatus(id, nullptr, "exec in", {ContainerStatus::kCreated, ContainerStatus::kRunning}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  return sandbox->Exec(RefFor(state), request);
}

Status Runtime::Update(const std::string& id, const oci::Resources& resources) {
  oci::FieldErrors errors = oci::ValidateResources(resources);
  if (!errors.empty()) return oci::FieldErrorsToStatus("resources are invalid", errors);
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, context_.store->Lock(id));
  SANDBOX_ASSIGN_OR_RETURN(
      oci::State state,
      LoadInStatus(id, &lock, "update", {ContainerStatus::kCreated, ContainerStatus::kRunning, ContainerStatus::kPaused}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  return sandbox->Update(RefFor(state), resources);
}

Result<ContainerStats> Runtime::Stats(const std::string& id) {
  SANDBOX_ASSIGN_OR_RETURN(
      oci::State state,
      LoadInStatus(id, nullptr, "read stats of", {ContainerStatus::kCreated, ContainerStatus::kRunning, ContainerStatus::kPaused}));
  SANDBOX_ASSIGN_OR_RETURN(Sandbox * sandbox, RequireSandbox());
  return sandbox->Stats(RefFor(state));
}

}  // namespace sandbox::shim
