#include "agent/container/support.h"

#include <sched.h>

#include <algorithm>
#include <vector>

#include "agent/container/namespaces.h"
#include "common/oci/validate.h"
#include "agent/container/seccomp_filter.h"

namespace sandbox::agent {
namespace {

Status NotYet(const std::string& field) {
  return Unimplemented(field + ": not enforced by sandbox-agent yet; remove it or wait for the agent that does");
}

}  // namespace

bool HasResources(const oci::Resources& resources) {
  return resources.devices || resources.memory || resources.cpu || resources.pids || resources.block_io ||
         resources.hugepage_limits || resources.network || resources.rdma || resources.unified;
}

Status CheckProcessSupported(const oci::Process& process) {
  // The host validated config.json already; an exec's process is checked
  // here with the same rules (one validator for host and guest).
  return oci::FieldErrorsToStatus("process", oci::ValidateProcess(process));
}

Status CheckAgentSupports(const oci::Spec& spec) {
  if (!spec.process || !spec.process->args || spec.process->args->empty()) {
    return InvalidArgument("process.args: a container needs a command");
  }
  if (!spec.root || spec.root->path.empty()) return InvalidArgument("root.path: required");
  SANDBOX_RETURN_IF_ERROR(CheckProcessSupported(*spec.process));
  if (spec.mounts) {
    for (size_t i = 0; i < spec.mounts->size(); ++i) {
      const oci::Mount& mount = (*spec.mounts)[i];
      if (mount.uid_mappings || mount.gid_mappings) return NotYet("mounts[" + std::to_string(i) + "].uidMappings");
      for (const std::string& option : mount.options.value_or(oci::StringList{})) {
        if (option == "tmpcopyup" || option == "idmap" || option == "ridmap") {
          return NotYet("mounts[" + std::to_string(i) + "].options \"" + option + "\"");
        }
      }
    }
  }
  if (!spec.linux) return InvalidArgument("linux: required (namespaces)");
  const oci::Linux& linux = *spec.linux;
  SANDBOX_ASSIGN_OR_RETURN(NamespacePlan namespaces, PlanNamespaces(linux.namespaces.value_or(std::vector<oci::Namespace>{})));
  if (!namespaces.Creates(CLONE_NEWNS)) return InvalidArgument("linux.namespaces: the container needs a new mount namespace");
  if (namespaces.Creates(CLONE_NEWUSER)) {
    auto maps_root = [](const std::optional<std::vector<oci::IdMapping>>& mappings) {
      return mappings && std::any_of(mappings->begin(), mappings->end(),
                                     [](const oci::IdMapping& mapping) { return mapping.container_id == 0 && mapping.size > 0; });
    };
    if (!maps_root(linux.uid_mappings)) {
      return InvalidArgument("linux.uidMappings: no mapping for uid 0 (the container is set up by its user namespace's root)");
    }
    if (!maps_root(linux.gid_mappings)) return InvalidArgument("linux.gidMappings: no mapping for gid 0");
  }
  if (linux.seccomp) SANDBOX_RETURN_IF_ERROR(CheckSeccomp(*linux.seccomp));
  return oci::FieldErrorsToStatus("config.json", oci::ValidateSpec(spec, {}));
}

}  // namespace sandbox::agent
