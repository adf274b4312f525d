#include "agent/container/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include "common/base/unique_fd.h"

namespace sandbox::agent {

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

unsigned long CloneFlagsFor(const NamespacePlan& plan) { return plan.clone_flags & ~CLONE_NEWTIME; }

std::string TimeOffsetsText(const std::map<std::string, oci::TimeOffset>& offsets) {
  std::string text;
  for (const auto& [clock, offset] : offsets) {
    text += clock + " " + std::to_string(offset.secs.value_or(0)) + " " + std::to_string(offset.nanosecs.value_or(0)) +
            "\n";
  }
  return text;
}

Status EnterNewTimeNamespace(const std::optional<std::map<std::string, oci::TimeOffset>>& offsets) {
  if (::unshare(CLONE_NEWTIME) != 0) return ErrnoStatus("unshare", "a new time namespace");
  if (!offsets || offsets->empty()) return Status::Ok();
  UniqueFd file(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
  if (!file.valid()) return ErrnoStatus("open", "/proc/self/timens_offsets (linux.timeOffsets)");
  // One write: the kernel takes all the lines at once or none.
  const std::string text = TimeOffsetsText(*offsets);
  if (::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return ErrnoStatus("write", "linux.timeOffsets to /proc/self/timens_offsets");
  }
  return Status::Ok();
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
