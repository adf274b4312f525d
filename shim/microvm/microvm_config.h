// How sandbox-rt builds a microVM: where sandbox-vmm, the guest kernel and
// the agent initramfs are, and the VM size when config.json sets no limits.
//
// Read from $SANDBOX_RT_CONFIG, else /etc/sandbox-rt/config.json when it
// exists; every key is optional. $SANDBOX_RT_GUEST_DIR and $SANDBOX_RT_VMM
// override the default paths (the test suite uses them).
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::shim {

// The jailed sandbox-vmm's uid and gid unless the runtime config names
// others: in no distribution's or systemd's allocation ranges (system, user,
// subordinate 100000+ and nspawn's 524288-1879048191), so no host user or
// file owner shares it.
inline constexpr uint32_t kDefaultVmmId = 2'000'000'000;

struct MicroVmConfig {
  std::string vmm;     // sandbox-vmm
  std::string kernel;  // <guest dir>/vmlinux
  std::string initrd;  // <guest dir>/initramfs.img: sandbox-agent as /init
  // i8042.noaux and 8250.nr_uarts=1 skip probes of hardware the VM lacks (a
  // mouse port, three more UARTs): 0.7 s of a nested guest's boot to
  // userspace (docs/measurements.md). The keyboard stays: sandbox-vmm's
  // graceful shutdown types Ctrl-Alt-Del on it. noreplace-smp keeps the
  // kernel's 4096 lock prefixes in a one-vCPU guest, which Linux would
  // otherwise rewrite at boot: 2.4 MiB of the kernel's text, which sandbox-vmm
  // maps shared from the vmlinux, copied into every VM (stop 49).
  std::string kernel_cmdline = "console=ttyS0 reboot=k panic=-1 quiet i8042.noaux 8250.nr_uarts=1 noreplace-smp";
  uint32_t default_vcpus = 1;
  uint32_t default_memory_mib = 256;
  // Added to linux.resources.memory.limit: the guest kernel, the agent and
  // the page cache of the rootfs image live in the same RAM.
  uint32_t memory_overhead_mib = 96;
  uint32_t max_vcpus = 0;       // 0: the host's online CPUs
  uint32_t boot_timeout_ms = 60'000;  // until the agent answers
  // How the bundle's rootfs reaches the guest: "virtiofs" shares root.path
  // itself (the container writes into the bundle, as with runc); "image"
  // copies it into a rootfs_format image at create, with the container's
  // writes on a guest tmpfs that vanishes with it.
  std::string rootfs_mode = "virtiofs";
  std::string rootfs_format = "erofs";  // "image" mode: erofs or ext4
  std::string virtiofsd = "/usr/lib/qemu/virtiofsd";  // serves host bind mounts (shared_fs.h)
  // sandbox-vmm confines itself (vmm/sandboxing/jail.h) in a pid namespace
  // of its own, as vmm_uid:vmm_gid; false only to debug it.
  bool jail_vmm = true;
  uint32_t vmm_uid = kDefaultVmmId;
  uint32_t vmm_gid = kDefaultVmmId;
  // VM templates (vm_template.h): a sandbox of a template's shape is restored
  // from a snapshot of a booted VM instead of booting. Templates live in
  // template_dir, one per kernel, initramfs, command line, size and devices.
  bool vm_templates = false;
  std::string template_dir = "/run/sandbox-rt/templates";
};

struct MicroVmConfigSources {
  std::string file;       // empty: no file
  bool file_required = false;
  std::string guest_dir;  // holds vmlinux and initramfs.img
  std::string vmm;
};

// The sources this process would use (environment, defaults).
MicroVmConfigSources DefaultMicroVmConfigSources(const std::string& self_dir);

// Unknown keys, wrong types and impossible values are errors naming the key.
Result<MicroVmConfig> LoadMicroVmConfig(const MicroVmConfigSources& sources);

// `config` with config.json's vm.kernel: its path and initrd replace the
// guest kernel and initramfs (an initrd given must hold sandbox-agent as
// /init), its parameters are appended to kernel_cmdline. Without vm, `config`.
Result<MicroVmConfig> WithSpecKernel(const oci::Spec& spec, MicroVmConfig config);

struct VmSize {
  uint32_t vcpus = 1;
  uint32_t memory_mib = 256;
};

// vm.hwConfig.memory (bytes, rounded up to MiB), else memory.limit
// (+ overhead) -> RAM; vm.hwConfig.vcpus (refused above max_vcpus or the
// host's CPUs), else cpu quota/period (rounded up) or the size of the cpuset
// (capped by max_vcpus), else the defaults -> vCPUs. linux.resources still
// limit the container's cgroup in the guest. cpu.cpus naming a vCPU the VM
// lacks is refused by field.
Result<VmSize> SizeVm(const oci::Spec& spec, const MicroVmConfig& config, uint32_t host_cpus);

}  // namespace sandbox::shim
