// The isolation backend behind the OCI lifecycle. The runtime (runtime.h)
// owns the state store, validation and lifecycle rules; a Sandbox owns the
// machinery that actually runs a container (the microVM: sandbox-vmm plus the
// guest agent). Implementations must be safe to call from a fresh CLI process
// for a container another process created: everything they need is in the
// SandboxRef and under its state_dir.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::shim {

struct SandboxRef {
  std::string id;
  std::string state_dir;  // <root>/<id>, private to the runtime and the sandbox
  std::string bundle;
  std::optional<int64_t> pid;
  // The container's status as the runtime last refreshed it under the
  // container's lock (oci::State's: "running", "paused", ...); empty: unknown.
  std::string status;
};

struct SandboxCreateRequest {
  SandboxRef ref;
  const oci::Spec* spec = nullptr;  // validated; outlives the call
  std::string console_socket;       // empty: stdio are this process's fds 0-2
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  // The bundle is shared between runs (run --image's cache): the container
  // must not write into its rootfs, so a backend works on a copy.
  bool private_rootfs = false;
  // run: the container starts as the create's last step, where no hook of
  // the caller's runs between create and start (Runtime::Run).
  bool start = false;
};

enum class LiveStatus { kCreated, kRunning, kPaused, kStopped };

struct ProcessInfo {
  int64_t pid = 0;
  uint32_t uid = 0;
  std::string command;
};

struct ExecRequest {
  oci::Process process;
  bool detach = false;
  std::string console_socket;
  int preserve_fds = 0;
  // Called once the process runs, with ExecResult::pid (--pid-file).
  std::function<Status(int64_t pid)> on_started;
};

struct ExecResult {
  int64_t pid = 0;        // host-visible pid of the exec'd process's relay
  std::optional<int> exit_code;  // set unless detached
};

struct ContainerStats {
  uint64_t cpu_usage_ns = 0;
  uint64_t memory_usage_bytes = 0;
  uint64_t memory_limit_bytes = 0;
  uint64_t pids_current = 0;
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;

  // Builds the sandbox and the container's init process, stopped before exec.
  // Returns the host pid that lives exactly as long as the container.
  virtual Result<int64_t> Create(const SandboxCreateRequest& request) = 0;
  virtual Status Start(const SandboxRef& ref) = 0;
  virtual Result<LiveStatus> Query(const SandboxRef& ref) = 0;
  virtual Status Kill(const SandboxRef& ref, int signal, bool all) = 0;
  virtual Status Pause(const SandboxRef& ref) = 0;
  virtual Status Resume(const SandboxRef& ref) = 0;
  // Blocks until the init process exits; returns its code (128+n for signal n).
  virtual Result<int> Wait(const SandboxRef& ref) = 0;
  virtual Result<std::vector<ProcessInfo>> ListProcesses(const SandboxRef& ref) = 0;
  virtual Result<ExecResult> Exec(const SandboxRef& ref, const ExecRequest& request) = 0;
  virtual Status Update(const SandboxRef& ref, const oci::Resources& resources) = 0;
  virtual Result<ContainerStats> Stats(const SandboxRef& ref) = 0;
  // Stops everything and frees every host resource. Idempotent.
  virtual Status Destroy(const SandboxRef& ref) = 0;
};

}  // namespace sandbox::shim
