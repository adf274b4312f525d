// `sandbox-rt check`: a diagnosis of whether this host can run containers in
// microVMs, one verdict and remedy per requirement.
#pragma once

#include <string>
#include <vector>

namespace sandbox::shim {

enum class Verdict { kOk, kWarn, kFail };

struct HostCheck {
  std::string name;
  Verdict verdict = Verdict::kOk;
  std::string detail;
  std::string remedy;  // empty when nothing needs doing
};

struct HostCheckOptions {
  std::string kvm_device = "/dev/kvm";
  std::string sys_module_dir = "/sys/module";
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string guest_dir;        // holds vmlinux and initramfs.img
  std::string vmm_path;         // sandbox-vmm binary
  std::string path_env;         // $PATH, for finding qemu
  std::string virtiofsd_path = "/usr/lib/qemu/virtiofsd";  // host bind mounts only: a warning
};

struct HostReport {
  std::vector<HostCheck> checks;
  bool ready = false;  // no check failed
};

HostReport CheckHost(const HostCheckOptions& options);

// "ok", "warn", "FAIL".
const char* VerdictName(Verdict verdict);

}  // namespace sandbox::shim
