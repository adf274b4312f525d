#include "shim/runtime/host_check.h"

#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common/base/file_util.h"
#include "common/sys/kvm_probe.h"

namespace sandbox::shim {
namespace {

HostCheck CheckKvmKind(const HostCheckOptions& options) {
  HostCheck check{.name = "kvm", .verdict = Verdict::kOk, .detail = "", .remedy = ""};
  if (!PathExists(options.kvm_device)) {
    check.verdict = Verdict::kFail;
    check.detail = options.kvm_device + " does not exist";
    check.remedy = "load kvm_intel or kvm_amd (modprobe), or enable nested virtualization for this VM";
    return check;
  }
  KvmKind kind = ClassifyKvmModules(LoadedModules(options.sys_module_dir));
  check.detail = options.kvm_device + ": " + std::string(KvmKindName(kind));
  if (kind == KvmKind::kIntel || kind == KvmKind::kAmd) return check;
  if (kind == KvmKind::kPvm) {
    check.verdict = Verdict::kWarn;
    check.remedy = "microVMs run here only inside the test host: tests/testhost/run.sh -- CMD";
  } else {
    check.verdict = Verdict::kWarn;
    check.remedy = "could not tell the KVM vendor module from " + options.sys_module_dir;
  }
  return check;
}

HostCheck CheckKvmApi(const HostCheckOptions& options) {
  HostCheck check{.name = "kvm-api", .verdict = Verdict::kOk, .detail = "", .remedy = ""};
  Result<KvmProbe> probe = ProbeKvm(options.kvm_device);
  if (!probe.ok()) {
    check.verdict = Verdict::kFail;
    check.detail = probe.status().message();
    check.remedy = "run as root (or a member of the kvm group) on a host with KVM";
    return check;
  }
  std::string missing;
  for (const KvmCapabilityCheck& capability : probe->capabilities) {
    if (!capability.present) missing += (missing.empty() ? "" : ", ") + capability.name;
  }
  check.detail = "API version " + std::to_string(probe->api_version) + ", " +
                 std::to_string(probe->capabilities.size()) + " capabilities checked";
  if (!missing.empty()) {
    check.verdict = Verdict::kFail;
    check.detail += "; missing: " + missing;
    check.remedy = "use a newer host kernel with full x86 KVM support";
  }
  return check;
}

HostCheck CheckCgroups(const HostCheckOptions& options) {
  HostCheck check{.name = "cgroup", .verdict = Verdict::kOk, .detail = "", .remedy = ""};
  struct statfs fs;
  if (::statfs(options.cgroup_root.c_str(), &fs) != 0) {
    check.verdict = Verdict::kWarn;
    check.detail = options.cgroup_root + " is not mounted";
    check.remedy = "mount cgroup2 on /sys/fs/cgroup to place VMMs in linux.cgroupsPath";
    return check;
  }
  if (fs.f_type == CGROUP2_SUPER_MAGIC) {
    check.detail = "unified (cgroup v2)";
  } else if (IsDirectory(options.cgroup_root + "/unified")) {
    check.detail = "hybrid (v1 controllers, v2 at " + options.cgroup_root + "/unified)";
  } else {
    check.detail = "legacy (cgroup v1)";
  }
  // The container's own cgroups live in the guest (pure v2); the host tree
  // only holds the VMM, so every mode works.
  return check;
}

HostCheck CheckFile(const std::string& name, const std::string& path, const std::string& remedy) {
  HostCheck check{.name = name, .verdict = Verdict::kOk, .detail = path, .remedy = ""};
  if (path.empty() || !PathExists(path)) {
    check.verdict = Verdict::kFail;
    check.detail = (path.empty() ? std::string("no path configured") : path + " not found");
    check.remedy = remedy;
  }
  return check;
}

std::string FindInPath(const std::string& path_env, const std::string& program) {
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t colon = path_env.find(':', start);
    std::string dir = path_env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + program;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk: return "ok";
    case Verdict::kWarn: return "warn";
    case Verdict::kFail: return "FAIL";
  }
  return "?";
}

HostReport CheckHost(const HostCheckOptions& options) {
  HostReport report;
  report.checks.push_back(CheckKvmKind(options));
  report.checks.push_back(CheckKvmApi(options));
  report.checks.push_back(CheckCgroups(options));
  report.checks.push_back(CheckFile("guest-kernel", options.guest_dir.empty() ? "" : options.guest_dir + "/vmlinux",
                                    "build it with guest-kernel-config/ (set SANDBOX_RT_GUEST_DIR to its output)"));
  report.checks.push_back(CheckFile("guest-initramfs",
                                    options.guest_dir.empty() ? "" : options.guest_dir + "/initramfs.img",
                                    "build it with rootfs-builder/ (set SANDBOX_RT_GUEST_DIR to its output)"));
  report.checks.push_back(CheckFile("sandbox-vmm", options.vmm_path,
                                    "build vmm/ and install sandbox-vmm next to sandbox-rt"));
  std::string qemu = FindInPath(options.path_env, "qemu-system-x86_64");
  HostCheck test_host{.name = "test-host", .verdict = Verdict::kOk, .detail = "", .remedy = ""};
  if (qemu.empty()) {
    test_host.verdict = Verdict::kWarn;
    test_host.detail = "qemu-system-x86_64 not in PATH";
    test_host.remedy = "apt-get install qemu-system-x86 (needed for tests/testhost on non-hardware KVM)";
  } else {
    test_host.detail = qemu;
  }
  report.checks.push_back(test_host);
  HostCheck virtiofsd = CheckFile("virtiofsd", options.virtiofsd_path,
                                  "apt-get install qemu-system-common, or set \"virtiofsd\" in the runtime config "
                                  "(only containers with host bind mounts need it)");
  if (virtiofsd.verdict == Verdict::kFail) virtiofsd.verdict = Verdict::kWarn;
  report.checks.push_back(virtiofsd);
  report.ready = true;
  for (const HostCheck& check : report.checks) {
    if (check.verdict == Verdict::kFail) report.ready = false;
  }
  return report;
}

}  // namespace sandbox::shim
