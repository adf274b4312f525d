// The OCI lifecycle (create, start, state, kill, delete, ...) over a state
// store and a Sandbox. This is the library the CLI verbs and, later, the
// containerd shim v2 call; it knows nothing of argv or output formats.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"
#include "common/oci/state.h"
#include "shim/runtime/sandbox.h"
#include "shim/runtime/state_store.h"

namespace sandbox::shim {

struct RuntimeContext {
  StateStore* store = nullptr;
  // Null when this build has no working sandbox backend: validation and
  // queries work, creating containers fails with a clear error.
  Sandbox* sandbox = nullptr;
  // Why `sandbox` is null (e.g. a bad runtime config); empty: not built in.
  std::string sandbox_unavailable;
  // RFC 3339 time for state "created".
  std::function<std::string()> now;
  std::string owner;  // reported by state/list, as runc does
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  // run --image: the bundle is a cache shared between runs (SandboxCreateRequest).
  bool private_rootfs = false;
  // run: start the container with the create where config.json has no hook
  // that runs between them (prestart, createRuntime, createContainer); the
  // state is then "running" when Create returns.
  bool start = false;
};

// runc's rules: process.terminal needs a console socket to send the pty to,
// and a console socket needs process.terminal.
Status CheckConsoleSocket(const oci::Spec& spec, const std::string& console_socket);

// Reads and validates <bundle>/config.json. Every problem is reported.
Result<oci::Spec> LoadBundleSpec(const std::string& bundle);

class Runtime {
 public:
  explicit Runtime(RuntimeContext context) : context_(std::move(context)) {}

  Status Create(const CreateOptions& options);
  Status Start(const std::string& id);
  // The stored state refreshed against the live sandbox.
  Result<oci::State> State(const std::string& id);
  Result<std::vector<oci::State>> List();
  Status Kill(const std::string& id, int signal, bool all);
  Status Delete(const std::string& id, bool force);
  Status Pause(const std::string& id);
  Status Resume(const std::string& id);
  // create + start + wait; returns the container's exit code. With detach,
  // returns 0 once started.
  Result<int> Run(const CreateOptions& options, bool detach);
  Result<std::vector<ProcessInfo>> Ps(const std::string& id);
  Result<ExecResult> Exec(const std::string& id, const ExecRequest& request);
  Status Update(const std::string& id, const oci::Resources& resources);
  Result<ContainerStats> Stats(const std::string& id);

 private:
  Result<Sandbox*> RequireSandbox() const;
  SandboxRef RefFor(const oci::State& state) const;
  // Loads the state and refreshes its status from the sandbox; saves changes.
  // `held`: the container's lock, when the caller holds it; then a create
  // whose creator is gone is undone first and reported as kNotFound.
  Result<oci::State> LoadFresh(const std::string& id, const FileLock* held);
  Result<oci::State> Refresh(oci::State state);
  // A "creating" container whose creator process is gone (a client's timeout
  // SIGKILLed create half-way) can no longer be finished or undone by it:
  // under the lock, destroys what its sandbox has and removes its state.
  // True when `state` was such a container.
  Result<bool> UndoAbandonedCreate(const oci::State& state, const FileLock& held);
  // Loads a container that must be in one of `allowed`, for verb `verb`.
  Result<oci::State> LoadInStatus(const std::string& id, const FileLock* held, const char* verb,
                                  std::initializer_list<oci::ContainerStatus> allowed);
  Status SetStatus(oci::State& state, oci::ContainerStatus status);

  RuntimeContext context_;
};

}  // namespace sandbox::shim
