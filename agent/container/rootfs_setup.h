// Building the container's filesystem view inside its new mount namespace,
// in runc's order: propagation, the rootfs bind, the config's mounts and
// devices, pivot_root (or MS_MOVE + chroot), then masked and read-only paths
// and the read-only root. Runs in the container init process only.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

// Before the root changes: everything that needs the host's view.
// `user_namespace`: the init is in a new user namespace (no mknod; bind
// remounts keep the source's locked flags).
Status PrepareRootfs(const oci::Spec& spec, const std::string& rootfs, bool user_namespace);
// Makes `rootfs` the root. `no_pivot` (or a root on initramfs, where
// pivot_root is refused) uses MS_MOVE + chroot instead.
Status EnterRootfs(const std::string& rootfs, bool no_pivot);
// After the root changed: masked paths, read-only paths, read-only root.
Status FinishRootfs(const oci::Spec& spec);

}  // namespace sandbox::agent
