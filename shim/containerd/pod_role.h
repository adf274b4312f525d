// A task's place in a CRI pod, from the annotations containerd's CRI plugin
// puts in config.json: the pod's sandbox container (it boots the pod's VM),
// one of its containers (they join that VM), or neither (`ctr run`: a VM of
// its own).
#pragma once

#include <string>

#include "common/oci/spec.h"

namespace sandbox::shim::containerd {

inline constexpr char kCriContainerTypeAnnotation[] = "io.kubernetes.cri.container-type";
inline constexpr char kCriSandboxIdAnnotation[] = "io.kubernetes.cri.sandbox-id";

enum class PodRole { kOwnVm, kSandbox, kContainer };

inline PodRole PodRoleOf(const oci::Spec& spec) {
  if (!spec.annotations) return PodRole::kOwnVm;
  const auto type = spec.annotations->find(kCriContainerTypeAnnotation);
  if (type == spec.annotations->end()) return PodRole::kOwnVm;
  if (type->second == "sandbox") return PodRole::kSandbox;
  if (type->second == "container") return PodRole::kContainer;
  return PodRole::kOwnVm;
}

}  // namespace sandbox::shim::containerd
