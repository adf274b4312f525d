// Host bind mounts into the guest, as Kata does it: one virtio-fs share per
// sandbox, served by virtiofsd from <state>/shared. Each bind mount i of
// config.json is bound (by the helper below, in a mount namespace of its
// own) onto <state>/shared/<i>, read-only there when the mount is "ro", so
// virtiofsd cannot write what the container may not. In the guest the agent
// mounts the share at kGuestSharedDir and the container's mount i binds
// kGuestSharedDir/<i> with the spec's own options.
//
// With rootfs_mode "virtiofs" (microvm_config.h) the bundle's root.path is
// shared too, at <state>/shared/rootfs (read-only when root.readonly), and
// the agent builds the container on kGuestSharedDir/rootfs: what the
// container writes to / lands in the bundle, as with runc.
//
// Nothing is mounted in the host's mount namespace: the binds live and die
// with virtiofsd's namespace, so a killed sandbox leaves no mount behind.
#pragma once

#include <sys/types.h>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::shim {

inline constexpr char kSharedFsTag[] = "sandbox-shared";
inline constexpr char kGuestSharedDir[] = "/run/sandbox-rt/shared";
inline constexpr char kDefaultVirtiofsd[] = "/usr/lib/qemu/virtiofsd";
inline constexpr char kRootfsShareName[] = "rootfs";

struct SharedMount {
  size_t index = 0;     // in config.json's mounts
  std::string source;   // absolute host path
  bool read_only = false;
  bool recursive = false;  // rbind
  bool directory = false;
  bool root = false;       // root.path, not a mount: shared as kRootfsShareName
  // Empty for a sandbox's first container; PodContainerShareDir(id) for a
  // pod's later ones, whose shares join the running virtiofsd.
  std::string under;
};

// Its path under the share: "<index>", or kRootfsShareName for the root,
// below `under` when set.
std::string ShareName(const SharedMount& share);
// Where the agent finds the shared root.path (a share with root set) in the guest.
std::string GuestRootfsPath(const SharedMount& root_share = {});
// Where a pod's later container `id` has its shares: not a name the first
// container's shares (numbers, kRootfsShareName) can take.
std::string PodContainerShareDir(const std::string& id);

// root.path (relative to the bundle, as runc) as a share: recursive, so
// mounts under it (podman's overlay on its merged dir) come along, and
// read-only when root.readonly. It must be a directory; errors name root.path.
Result<SharedMount> PlanRootfsShare(const oci::Spec& spec, const std::string& bundle);

// root.readonly shares root.path read-only (to virtiofsd too), so the guest
// cannot make a mount point the rootfs lacks. runc makes those in the
// bundle's rootfs before it remounts / read-only; this does the same, before
// the share, for each mount that is not under an earlier mount's destination
// (those are made inside that mount, in the guest). Paths resolve inside
// root.path (symlinks included); an error names the mount's destination.
Status MakeMountpointsOfReadOnlyRoot(const oci::Spec& spec, const std::string& bundle, const SharedMount& root);

// The bind mounts of `spec`, with sources resolved against the bundle (as
// runc does) and checked to exist; an error names the mount.
Result<std::vector<SharedMount>> PlanSharedMounts(const oci::Spec& spec, const std::string& bundle);

// Replaces each shared mount's source in config.json (as saved at create,
// parsed) by its path in the guest (the root share is the agent's rootfs,
// not a mount).
Status RewriteSourcesForGuest(nlohmann::json& config, const std::vector<SharedMount>& shares);

// A pod's later container: its shares (each with `under` set) are bound
// into the mount namespace of the running virtiofsd `virtiofsd_pid`, whose
// root is `shared_dir`, by a helper child (setns needs one thread):
// open_tree(2) clones each source here, move_mount(2) attaches it there.
// On failure nothing of them stays. RemoveSharesFromVirtiofsd detaches
// them again and removes their directory.
Status AddSharesToVirtiofsd(pid_t virtiofsd_pid, const std::vector<SharedMount>& shares, const std::string& shared_dir);
Status RemoveSharesFromVirtiofsd(pid_t virtiofsd_pid, const std::vector<SharedMount>& shares,
                                 const std::string& shared_dir);

// Which network namespace virtiofsd runs in: a new one, or its caller's
// when the caller made one of its own for the sandbox (with nothing but
// loopback, as the monitor's), so that a sandbox makes one, not two.
enum class VirtiofsdNetwork { kNewNamespace, kCallersPrivateNamespace };

// Makes <shared_dir>/<ShareName> for each share and starts virtiofsd on `listener`
// (a listening Unix socket; the caller closes its copy), chrooted into
// shared_dir, as the init of a new pid namespace (its own /proc shows only
// itself) in a new mount namespace holding the binds. Its output goes to
// `log_path`. The helper is killed if the calling process dies.
Result<pid_t> SpawnVirtiofsd(const std::string& virtiofsd, const std::vector<SharedMount>& shares,
                             const std::string& shared_dir, int listener, const std::string& log_path,
                             VirtiofsdNetwork network = VirtiofsdNetwork::kNewNamespace);

}  // namespace sandbox::shim
