// linux.namespaces -> the clone(2) flags for new namespaces and the paths of
// namespaces to join with setns(2), checked the way runc checks them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

struct NamespacePlan {
  unsigned long clone_flags = 0;  // CLONE_NEW* for the namespaces to create
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

}  // namespace sandbox::agent
