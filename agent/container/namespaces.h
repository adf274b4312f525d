// linux.namespaces -> the clone(2) flags for new namespaces and the paths of
// namespaces to join with setns(2), checked the way runc checks them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

#include <sched.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

namespace sandbox::agent {

struct NamespacePlan {
  // CLONE_NEW* for the namespaces to create. A time namespace is not made
  // by clone: its offsets can only be written before a process is in it,
  // so the init unshares it (EnterNewTimeNamespace) and enters it at exec.
  unsigned long clone_flags = 0;
  // (CLONE_NEW* flag, path) for the namespaces to join, in the order given.
  std::vector<std::pair<unsigned long, std::string>> joins;

  bool Creates(unsigned long flag) const { return clone_flags & flag; }
  // True when the container gets its own namespace of that kind (new or joined).
  bool Has(unsigned long flag) const;
};

// Errors name the entry: "linux.namespaces[2].type: ...".
Result<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces);

// The CLONE_NEW* flag of a runtime-spec namespace type; 0 if unknown.
unsigned long CloneFlagOf(const std::string& type);

// The flags clone3 gets for `plan` (all but the time namespace).
unsigned long CloneFlagsFor(const NamespacePlan& plan);

// /proc/self/timens_offsets lines for linux.timeOffsets ("monotonic S N").
std::string TimeOffsetsText(const std::map<std::string, oci::TimeOffset>& offsets);

// unshare(CLONE_NEWTIME) and the offsets: this process's children, and the
// process itself from its next execve, run in the new time namespace.
Status EnterNewTimeNamespace(const std::optional<std::map<std::string, oci::TimeOffset>>& offsets);

}  // namespace sandbox::agent
