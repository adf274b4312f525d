// The microVM backend of the OCI lifecycle: one sandbox-vmm and one guest
// agent per container, driven from short-lived CLI processes through the
// files under the container's state dir (sandbox_files.h) and the monitor
// process (monitor.h) that holds the container's stdio.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/io/preserved_fds.h"
#include "shim/microvm/agent_client.h"
#include "shim/microvm/microvm_config.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/microvm/shared_fs.h"
#include "shim/microvm/vm_template.h"
#include "shim/runtime/sandbox.h"

namespace sandbox::shim {

class MicroVmSandbox : public Sandbox {
 public:
  explicit MicroVmSandbox(MicroVmConfig config) : config_(std::move(config)) {}

  Result<int64_t> Create(const SandboxCreateRequest& request) override;
  Status Start(const SandboxRef& ref) override;
  Result<LiveStatus> Query(const SandboxRef& ref) override;
  Status Kill(const SandboxRef& ref, int signal, bool all) override;
  Status Pause(const SandboxRef& ref) override;
  Status Resume(const SandboxRef& ref) override;
  Result<int> Wait(const SandboxRef& ref) override;
  Result<std::vector<ProcessInfo>> ListProcesses(const SandboxRef& ref) override;
  Result<ExecResult> Exec(const SandboxRef& ref, const ExecRequest& request) override;
  Status Update(const SandboxRef& ref, const oci::Resources& resources) override;
  Result<ContainerStats> Stats(const SandboxRef& ref) override;
  Status Destroy(const SandboxRef& ref) override;

 private:
  MicroVmConfig config_;
};

// The caller's --preserve-fds as this backend relays them (each fd a byte
// stream), or why one cannot cross into the VM, before anything is made.
Result<std::vector<FdAccess>> PreservedFdsFor(const SandboxCreateRequest& request);

// linux.namespaces paths name host namespaces, which a container on the
// guest's own kernel cannot join: refused by entry before a VM boots.
Status CheckNamespacePaths(const oci::Spec& spec);

// How the bundle's rootfs reaches the guest (config.rootfs_mode).
struct RootfsPlan {
  std::string fstype;                 // for the agent: "dir" (the share), "erofs" or "ext4"
  std::vector<std::string> mkfs;      // "image": makes <state>/rootfs.img; empty: no image
  std::optional<SharedMount> share;   // "virtiofs": root.path, served with the bind mounts
};
// `private_copy`: the bundle is shared between runs (run --image's cache),
// so its rootfs is copied into an image whatever the mode.
Result<RootfsPlan> PlanRootfs(const MicroVmConfig& config, const oci::Spec& spec, const std::string& bundle,
                              const std::string& state_dir, bool private_copy = false);
// Runs the plan's mkfs, if any.
Status MakeRootfsImage(const RootfsPlan& plan);

// sandbox-vmm's config for this sandbox (vmm/README.md).
// `rootfs_image`: the image as read-only virtio-blk (`image` mode).
// `shared_fs`: a virtio-fs device for the shares (shared_fs.h).
// `from_template`: the VM is restored from it instead of booting the kernel.
std::string VmmConfigJson(const MicroVmConfig& config, const VmSize& size, const std::string& state_dir,
                          bool rootfs_image, bool shared_fs, const VmTemplate* from_template = nullptr);

// Everything a sandbox's VM needs, decided before anything is made: the boot
// files (config.json's vm.kernel applied), the VM's size, the shares served
// by virtiofsd (host bind mounts and, in virtiofs mode, root.path) and the
// rootfs. Shared by the CLI's create and the containerd shim.
struct SandboxPlan {
  MicroVmConfig boot;
  VmSize size;
  std::vector<SharedMount> shares;
  RootfsPlan rootfs;
  std::string netns_path;  // linux.namespaces[network].path, mirrored into the VM
  uint32_t nics = 0;       // its interfaces that get a NIC each (PlanPodNetwork)
  // Set by UseVmTemplate: the VM starts from this template.
  std::optional<VmTemplate> from_template;
};
// Checks what must exist (sandbox-vmm, kernel, initramfs, bind sources, a
// network namespace path that can be mirrored) and refuses other host
// namespace paths; errors name the field or file.
Result<SandboxPlan> PlanSandbox(const MicroVmConfig& config, const oci::Spec& spec, const std::string& bundle,
                                const std::string& state_dir, bool private_rootfs = false);
// The pod network at `netns_path` ("": none), read and checked now: a
// namespace no VM can mirror is an error naming the field, before anything
// exists. PlanSandbox calls it with the spec's path; a CRI pod's shim, whose
// spec no longer names it, with the sandbox's.
Status PlanPodNetwork(SandboxPlan& plan, const std::string& netns_path);
// With vm_templates on, a plan whose VM a template can give (no rootfs image:
// a template has vsock, rng, virtio-fs and one NIC per interface of the
// plan's pod network) gets its template, made first when missing; other
// plans boot.
Status UseVmTemplate(SandboxPlan& plan);

// The rootfs image (image mode), the validated config.json and sandbox-vmm's
// config, under `state_dir` (sandbox_files.h).
Status WriteSandboxFiles(const SandboxPlan& plan, const oci::Spec& spec, const std::string& state_dir);

// StartContainer, then files.started, which Query reads as "running": by
// `start`, or by the monitor when run asked for the start with the create.
Status StartGuestContainer(AgentClient& agent, const std::string& id, const SandboxFiles& files);

}  // namespace sandbox::shim
