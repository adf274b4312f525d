#include "agent/container/namespaces.h"

#include <sched.h>

#include <algorithm>

namespace sandbox::agent {

#ifndef CLONE_NEWTIME
constexpr unsigned long CLONE_NEWTIME = 0x80;
#endif

unsigned long CloneFlagOf(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "time") return CLONE_NEWTIME;
  return 0;
}

bool NamespacePlan::Has(unsigned long flag) const {
  return Creates(flag) ||
         std::any_of(joins.begin(), joins.end(), [flag](const auto& join) { return join.first == flag; });
}

Result<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces) {
  NamespacePlan plan;
  unsigned long seen = 0;
  for (size_t i = 0; i < namespaces.size(); ++i) {
    const oci::Namespace& entry = namespaces[i];
    const std::string field = "linux.namespaces[" + std::to_string(i) + "]";
    const unsigned long flag = CloneFlagOf(entry.type);
    if (flag == 0) return InvalidArgument(field + ".type: unknown namespace type \"" + entry.type + "\"");
    if (seen & flag) return InvalidArgument(field + ".type: \"" + entry.type + "\" is listed twice");
    seen |= flag;
    if (entry.path && !entry.path->empty()) {
      if (entry.path->front() != '/') return InvalidArgument(field + ".path: must be absolute");
      plan.joins.emplace_back(flag, *entry.path);
    } else {
      plan.clone_flags |= flag;
    }
  }
  return plan;
}

}  // namespace sandbox::agent
