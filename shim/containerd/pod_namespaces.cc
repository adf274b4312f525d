#include "shim/containerd/pod_namespaces.h"

#include <string>
#include <vector>

namespace sandbox::shim::containerd {

Status MapPodNamespaces(oci::Spec& spec, const PodNamespaces& pod) {
  if (!spec.linux || !spec.linux->namespaces) return Status::Ok();
  const std::string sandbox_task_dir = "/proc/" + std::to_string(pod.sandbox_task_pid) + "/ns/";
  std::vector<oci::Namespace> mapped;
  const std::vector<oci::Namespace>& namespaces = *spec.linux->namespaces;
  for (size_t i = 0; i < namespaces.size(); ++i) {
    oci::Namespace entry = namespaces[i];
    if (!entry.path || entry.path->empty()) {
      mapped.push_back(std::move(entry));
      continue;
    }
    const std::string field = "linux.namespaces[" + std::to_string(i) + "] (" + entry.type + ")";
    if (pod.sandbox_guest_pid == 0 && entry.type == "network") continue;  // the VM's own network namespace
    if (pod.sandbox_guest_pid > 0 && pod.sandbox_task_pid > 0 && entry.path->starts_with(sandbox_task_dir)) {
      const std::string kind = entry.path->substr(sandbox_task_dir.size());
      if (kind.empty() || kind.find('/') != std::string::npos) {
        return InvalidArgument(field + ": path " + *entry.path + " is not a namespace file");
      }
      entry.path = "/proc/" + std::to_string(pod.sandbox_guest_pid) + "/ns/" + kind;
      mapped.push_back(std::move(entry));
      continue;
    }
    return InvalidArgument(field + ": path " + *entry.path +
                           " names a host namespace, which the pod's VM cannot enter (a pod's containers may join "
                           "only the sandbox task's namespaces, " + sandbox_task_dir + "*)");
  }
  spec.linux->namespaces = std::move(mapped);
  return Status::Ok();
}

}  // namespace sandbox::shim::containerd
