#include "agent/container/container_init.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/container/console.h"
#include "agent/container/init_channel.h"
#include "agent/container/namespaces.h"
#include "agent/container/process_attributes.h"
#include "agent/container/process_setup.h"
#include "agent/container/rootfs_setup.h"
#include "agent/container/seccomp_filter.h"
#include "common/base/unique_fd.h"
#include "common/oci/hook_runner.h"
#include "common/oci/spec_json.h"
#include "common/oci/state.h"

namespace sandbox::agent {
namespace {

// Joins the namespaces given by path that this process is not in yet: the
// agent started it in a joined pid or user namespace already, and in every
// joined one when it made a new user namespace (agent/README.md; from in
// there the paths may not even be readable).
Status JoinNamespaces(const NamespacePlan& plan) {
  if (plan.Creates(CLONE_NEWUSER)) return Status::Ok();
  for (const auto& [flag, path] : plan.joins) {
    if (flag == CLONE_NEWPID || flag == CLONE_NEWUSER) continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus("open", "linux.namespaces path " + path);
    if (::setns(fd.get(), static_cast<int>(flag)) != 0) return ErrnoStatus("setns", "linux.namespaces path " + path);
  }
  return Status::Ok();
}

// The state a hook of `stage` gets: the runtime's, with `status` and this
// process's pid as the container sees it.
Result<std::string> HookState(const std::string& state_json, const char* status) {
  oci::State state;
  const oci::FieldErrors errors = oci::ParseState(state_json, state);
  if (!errors.empty()) return oci::FieldErrorsToStatus("state", errors);
  state.status = status;
  state.pid = ::getpid();
  return oci::StateToJson(state, -1);
}

Status BuildContainer(const oci::Spec& spec, const std::string& rootfs, bool no_pivot, const std::string& state_json) {
  SANDBOX_ASSIGN_OR_RETURN(NamespacePlan namespaces, PlanNamespaces(*spec.linux->namespaces));
  SANDBOX_RETURN_IF_ERROR(JoinNamespaces(namespaces));
  if (namespaces.Creates(CLONE_NEWTIME)) SANDBOX_RETURN_IF_ERROR(EnterNewTimeNamespace(spec.linux->time_offsets));
  SANDBOX_RETURN_IF_ERROR(PrepareRootfs(spec, rootfs, namespaces.Has(CLONE_NEWUSER)));
  // createContainer hooks: in the container's namespaces, before pivot_root,
  // so their path resolves in the runtime's (the agent's) root. sandbox-rt
  // runs a microVM's on the host instead and sends none (docs/lifecycle.md).
  if (spec.hooks && spec.hooks->create_container) {
    SANDBOX_ASSIGN_OR_RETURN(std::string state, HookState(state_json, "creating"));
    SANDBOX_RETURN_IF_ERROR(oci::RunHooks("createContainer", *spec.hooks->create_container, state));
  }
  SANDBOX_RETURN_IF_ERROR(EnterRootfs(rootfs, no_pivot));
  SANDBOX_RETURN_IF_ERROR(ApplySystemSettings(spec, namespaces.Has(CLONE_NEWUTS)));
  // After the config's mounts (its /dev/pts), before the rootfs turns read-only.
  if (spec.process->terminal.value_or(false)) {
    SANDBOX_RETURN_IF_ERROR(SetUpConsole(kInitChannelFd, spec.process->console_size, /*bind_dev_console=*/true));
  }
  return FinishRootfs(spec);
}

// startContainer hooks: in the container's namespaces (this process's), the
// path resolved in its root, the state with status "created" and this
// process's pid as the container sees it.
Status RunStartContainerHooks(const oci::Spec& spec, const std::string& state_json) {
  SANDBOX_ASSIGN_OR_RETURN(std::string state, HookState(state_json, "created"));
  return oci::RunHooks("startContainer", *spec.hooks->start_container, state);
}

}  // namespace

std::string EncodeInitPlan(const std::string& rootfs, const std::string& config_json, bool no_pivot,
                           const std::string& state_json) {
  nlohmann::json plan;
  plan["rootfs"] = rootfs;
  plan["config"] = config_json;
  plan["no_pivot"] = no_pivot;
  plan["state"] = state_json;
  return plan.dump();
}

int RunContainerInit() {
  const auto fail = ReportInitFailure;
  Result<std::string> message = ReceivePlan();
  if (!message.ok()) return kSetupFailed;
  std::string rootfs, config_json, state_json;
  bool no_pivot = false;
  try {
    const nlohmann::json plan = nlohmann::json::parse(*message);
    rootfs = plan.at("rootfs").get<std::string>();
    config_json = plan.at("config").get<std::string>();
    no_pivot = plan.at("no_pivot").get<bool>();
    state_json = plan.at("state").get<std::string>();
  } catch (const nlohmann::json::exception& error) {
    return fail(Internal(std::string("bad container init plan: ") + error.what()), kSetupFailed);
  }
  oci::Spec spec;
  const oci::FieldErrors errors = oci::ParseSpec(config_json, spec);
  if (!errors.empty()) return fail(oci::FieldErrorsToStatus("config.json", errors), kSetupFailed);
  // fds 0-2 are already the process's stdio (ProcessStdio, set up by the
  // agent), or become its terminal (SetUpConsole).

  const Status built = BuildContainer(spec, rootfs, no_pivot, state_json);
  if (!built.ok()) return fail(built, kSetupFailed);
  Result<std::string> executable = ResolveExecutable(*spec.process);
  if (!executable.ok()) return fail(executable.status(), kExecFailed);
  if (!SendInitMessage(kInitChannelFd, "ready").ok()) return kSetupFailed;

  Result<std::string> start = ReceiveInitMessage(kInitChannelFd);
  if (!start.ok() || *start != "start") return kSetupFailed;  // removed before it started
  // execCPUAffinity is for execs only (runtime spec).
  const std::optional<oci::Seccomp>& seccomp = spec.linux->seccomp;
  Status applied = ApplySchedulingAttributes(*spec.process);
  if (applied.ok()) applied = ApplyLinuxAttributes(*spec.linux);
  if (applied.ok()) applied = LoadSeccompAt(SeccompStage::kBeforeCapabilities, seccomp, *spec.process);
  if (applied.ok()) applied = ApplyProcessSettings(*spec.process);
  // After the process's own identity and capabilities, before exec: where
  // runc runs them (under the filter only without noNewPrivileges, as there).
  if (applied.ok() && spec.hooks && spec.hooks->start_container) applied = RunStartContainerHooks(spec, state_json);
  // With noNewPrivileges, last before exec, so nothing above runs under the filter.
  if (applied.ok()) applied = LoadSeccompAt(SeccompStage::kBeforeExec, seccomp, *spec.process);
  if (!applied.ok()) return fail(applied, kSetupFailed);
  return fail(ExecProcess(*spec.process, *executable), kExecFailed);
}

}  // namespace sandbox::agent
