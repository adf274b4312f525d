// VM templates (Firecracker's snapshots, Kata's VM factory): a VM booted once
// until its agent answers, then snapshotted (vmm/README.md, "snapshot").
// A sandbox of the same shape is restored from it instead of booting, and
// its agent then reseeds the guest's RNG and sets its clock (AfterRestore):
// what every restored guest shares with the template is listed in
// docs/lifecycle.md, "VM templates".
//
// One template per shape: sandbox-vmm, guest kernel and initramfs (by path
// and file identity, so a file replaced in place gets a new template), kernel
// command line, vCPUs, memory, its virtio devices (TemplateDevices), and the
// jail. Made on first use under a lock (concurrent creates of one shape wait
// for one maker) in the runtime config's template_dir.
#pragma once

#include <string>

#include "common/base/status.h"
#include "shim/microvm/microvm_config.h"

namespace sandbox::shim {

// The devices of a template's VM besides vsock and rng, which every one has.
struct TemplateDevices {
  bool shared_fs = false;  // a virtio-fs device (the sandbox has shares)
  // Unplugged virtio-net NICs (guest_network.h, TemplateNicsJson): a
  // restored sandbox's pod-network TAPs take their place, one per NIC.
  uint32_t nics = 0;
};

struct VmTemplate {
  std::string state;   // the snapshot's state file
  std::string memory;  // guest RAM (zero pages as holes)
};

// The name of the template directory for this shape (a SHA-256 prefix).
// Fails when sandbox-vmm, the kernel or the initramfs cannot be stat()ed.
Result<std::string> VmTemplateKey(const MicroVmConfig& boot, const VmSize& size, const TemplateDevices& devices);

// The template of this shape, made first when missing: `boot` (with
// config.json's vm.kernel applied) is booted, snapshotted once its agent
// answers, and stopped. Errors name the template and carry the VM's log.
Result<VmTemplate> EnsureVmTemplate(const MicroVmConfig& boot, const VmSize& size, const TemplateDevices& devices);

}  // namespace sandbox::shim
