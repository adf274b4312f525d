// Read-only probing of the host's KVM: which module serves /dev/kvm and which
// of the capabilities sandbox-vmm needs it reports. Used by `sandbox-rt check`
// and by the test-host harness's mode choice.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace sandbox {

enum class KvmKind {
  kNone,      // no KVM module loaded
  kIntel,     // kvm_intel: hardware VMX
  kAmd,       // kvm_amd: hardware SVM
  kPvm,       // kvm_pvm: runs only PVM-enabled guest kernels
  kUnknown,   // kvm without a known vendor module
};

std::string_view KvmKindName(KvmKind kind);

// Classifies the names of loaded modules (built-in ones included).
KvmKind ClassifyKvmModules(const std::vector<std::string>& modules);

// The entries of /sys/module (which, unlike /proc/modules, also lists
// built-in modules and exists on kernels without module support).
std::vector<std::string> LoadedModules(const std::string& sys_module_dir = "/sys/module");

// A KVM_CAP_* that sandbox-vmm relies on, with its name for error messages.
struct KvmCapability {
  const char* name;
  int id;
};
std::span<const KvmCapability> RequiredKvmCapabilities();

struct KvmCapabilityCheck {
  std::string name;
  bool present = false;
};

struct KvmProbe {
  int api_version = 0;
  std::vector<KvmCapabilityCheck> capabilities;
};

// Opens the device, checks KVM_GET_API_VERSION == 12 and each capability
// sandbox-vmm relies on.
Result<KvmProbe> ProbeKvm(const std::string& device = "/dev/kvm");

}  // namespace sandbox
