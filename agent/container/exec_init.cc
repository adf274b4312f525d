#include "agent/container/exec_init.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/container/console.h"
#include "agent/container/init_channel.h"
#include "agent/container/process_attributes.h"
#include "agent/container/process_setup.h"
#include "agent/container/seccomp_filter.h"
#include "common/base/unique_fd.h"
#include "common/oci/spec_json.h"

namespace sandbox::agent {
namespace {

// Joins each namespace of `init` that differs from ours; the mount namespace
// last, since it changes what /proc/<init> resolves to. The pid namespace is
// the agent's part (it applies to children only).
Status JoinContainerNamespaces(pid_t init) {
  struct Kind {
    const char* name;
    int flag;
  };
  // The user namespace first: it owns the others, so joining it gives the
  // capabilities that joining them needs.
  // The time namespace is the init's time_for_children: the init enters
  // its new one only at exec, so before start ns/time is still the agent's.
  constexpr Kind kinds[] = {{"user", CLONE_NEWUSER},    {"ipc", CLONE_NEWIPC},
                            {"uts", CLONE_NEWUTS},      {"net", CLONE_NEWNET},
                            {"cgroup", CLONE_NEWCGROUP}, {"time_for_children", CLONE_NEWTIME},
                            {"mnt", CLONE_NEWNS}};
  std::vector<std::pair<UniqueFd, int>> joins;
  for (const Kind& kind : kinds) {
    const std::string theirs = "/proc/" + std::to_string(init) + "/ns/" + kind.name;
    const std::string ours = std::string("/proc/self/ns/") + (kind.flag == CLONE_NEWTIME ? "time" : kind.name);
    struct stat their_ns {}, our_ns {};
    if (::stat(theirs.c_str(), &their_ns) != 0) return ErrnoStatus("stat", theirs + " (has the container stopped?)");
    if (::stat(ours.c_str(), &our_ns) == 0 && our_ns.st_ino == their_ns.st_ino && our_ns.st_dev == their_ns.st_dev) {
      continue;
    }
    UniqueFd fd(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus("open", theirs);
    joins.emplace_back(std::move(fd), kind.flag);
  }
  for (const auto& [fd, flag] : joins) {
    if (::setns(fd.get(), flag) != 0) return ErrnoStatus("setns", "the container's namespaces");
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeExecPlan(pid_t container_init, const std::string& config_json, const std::string& process_json) {
  nlohmann::json plan;
  plan["init"] = container_init;
  plan["config"] = config_json;
  plan["process"] = process_json;
  return plan.dump();
}

int RunExecInit() {
  const auto fail = ReportInitFailure;
  Result<std::string> message = ReceivePlan();
  if (!message.ok()) return kSetupFailed;
  pid_t init = 0;
  std::string config_json, process_json;
  try {
    const nlohmann::json plan = nlohmann::json::parse(*message);
    init = plan.at("init").get<pid_t>();
    config_json = plan.at("config").get<std::string>();
    process_json = plan.at("process").get<std::string>();
  } catch (const nlohmann::json::exception& error) {
    return fail(Internal(std::string("bad exec plan: ") + error.what()), kSetupFailed);
  }
  oci::Spec spec;
  oci::FieldErrors errors = oci::ParseSpec(config_json, spec);
  if (!errors.empty()) return fail(oci::FieldErrorsToStatus("config.json", errors), kSetupFailed);
  oci::Process process;
  errors = oci::ParseProcess(process_json, process);
  if (!errors.empty()) return fail(oci::FieldErrorsToStatus("process", errors), kSetupFailed);
  // fds 0-2 are already the process's stdio (ProcessStdio, set up by the
  // agent), or become its terminal (SetUpConsole).

  const Status joined = JoinContainerNamespaces(init);
  if (!joined.ok()) return fail(joined, kSetupFailed);
  if (process.terminal.value_or(false)) {
    const Status console = SetUpConsole(kInitChannelFd, process.console_size, /*bind_dev_console=*/false);
    if (!console.ok()) return fail(console, kSetupFailed);
  }
  Result<std::string> executable = ResolveExecutable(process);
  if (!executable.ok()) return fail(executable.status(), kExecFailed);
  // The container's filter, at the stage runc exec loads it at.
  const std::optional<oci::Seccomp> no_filter;
  const std::optional<oci::Seccomp>& seccomp = spec.linux ? spec.linux->seccomp : no_filter;
  Status applied = ApplySchedulingAttributes(process);
  if (applied.ok() && spec.linux) applied = ApplyLinuxAttributes(*spec.linux);
  if (applied.ok()) applied = ApplyExecCpuAffinity(process);
  if (applied.ok()) applied = LoadSeccompAt(SeccompStage::kBeforeCapabilities, seccomp, process);
  if (applied.ok()) applied = ApplyProcessSettings(process);
  if (applied.ok()) applied = LoadSeccompAt(SeccompStage::kBeforeExec, seccomp, process);
  if (!applied.ok()) return fail(applied, kSetupFailed);
  return fail(ExecProcess(process, *executable), kExecFailed);
}

}  // namespace sandbox::agent
