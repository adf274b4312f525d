#include "common/sys/kvm_probe.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/base/unique_fd.h"

namespace sandbox {

std::string_view KvmKindName(KvmKind kind) {
  switch (kind) {
    case KvmKind::kNone: return "none";
    case KvmKind::kIntel: return "hardware (Intel VMX, kvm_intel)";
    case KvmKind::kAmd: return "hardware (AMD SVM, kvm_amd)";
    case KvmKind::kPvm: return "PVM (kvm_pvm; standard guest kernels do not boot)";
    case KvmKind::kUnknown: return "unknown vendor module";
  }
  return "unknown";
}

KvmKind ClassifyKvmModules(const std::vector<std::string>& modules) {
  auto has = [&](const char* name) { return std::find(modules.begin(), modules.end(), name) != modules.end(); };
  if (has("kvm_pvm")) return KvmKind::kPvm;
  if (has("kvm_intel")) return KvmKind::kIntel;
  if (has("kvm_amd")) return KvmKind::kAmd;
  return has("kvm") ? KvmKind::kUnknown : KvmKind::kNone;
}

std::vector<std::string> LoadedModules(const std::string& sys_module_dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(sys_module_dir, error)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

std::span<const KvmCapability> RequiredKvmCapabilities() {
  static constexpr KvmCapability kNeeded[] = {
      {"KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP},       {"KVM_CAP_HLT", KVM_CAP_HLT},
      {"KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY}, {"KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR},
      {"KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID},   {"KVM_CAP_IRQFD", KVM_CAP_IRQFD},
      {"KVM_CAP_IOEVENTFD", KVM_CAP_IOEVENTFD},   {"KVM_CAP_PIT2", KVM_CAP_PIT2},
      {"KVM_CAP_SET_IDENTITY_MAP_ADDR", KVM_CAP_SET_IDENTITY_MAP_ADDR},
      {"KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT},
  };
  return kNeeded;
}

Result<KvmProbe> ProbeKvm(const std::string& device) {
  UniqueFd kvm(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!kvm.valid()) return ErrnoStatus("open", device);
  KvmProbe probe;
  probe.api_version = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
  if (probe.api_version != KVM_API_VERSION) {
    return FailedPrecondition(device + ": KVM API version " + std::to_string(probe.api_version) +
                              ", want " + std::to_string(KVM_API_VERSION));
  }
  for (const auto& [name, capability] : RequiredKvmCapabilities()) {
    probe.capabilities.push_back({name, ::ioctl(kvm.get(), KVM_CHECK_EXTENSION, capability) > 0});
  }
  return probe;
}

}  // namespace sandbox
