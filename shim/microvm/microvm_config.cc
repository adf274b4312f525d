#include "shim/microvm/microvm_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "common/base/file_util.h"
#include "common/oci/cpu_list.h"

namespace sandbox::shim {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The CPUs of cpu.cpus, which validation has checked.
Result<oci::CpuList> CpusetOf(const std::string& list) {
  Result<oci::CpuList> cpuset = oci::ParseCpuList(list);
  if (!cpuset.ok()) {
    return InvalidArgument("linux.resources.cpu.cpus: bad list \"" + list + "\": " + cpuset.status().message());
  }
  return cpuset;
}

const oci::CpuResources* CpuOf(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->resources || !spec.linux->resources->cpu) return nullptr;
  return &*spec.linux->resources->cpu;
}

// vCPUs from linux.resources.cpu: quota/period rounded up, else the size
// of the cpuset; `fallback` without either.
Result<uint32_t> VcpusFromResources(const oci::Spec& spec, uint32_t fallback) {
  const oci::CpuResources* cpu = CpuOf(spec);
  if (cpu == nullptr) return fallback;
  if (cpu->quota && *cpu->quota > 0 && cpu->period && *cpu->period > 0) {
    const uint64_t quota = static_cast<uint64_t>(*cpu->quota);
    return static_cast<uint32_t>(std::min<uint64_t>((quota + *cpu->period - 1) / *cpu->period, 254));
  }
  if (cpu->cpus && !cpu->cpus->empty()) {
    SANDBOX_ASSIGN_OR_RETURN(oci::CpuList cpuset, CpusetOf(*cpu->cpus));
    return cpuset.count;
  }
  return fallback;
}

// cpu.cpus names guest vCPUs: each must exist in a VM of `vcpus`.
Status CheckCpusetFits(const oci::Spec& spec, uint32_t vcpus) {
  const oci::CpuResources* cpu = CpuOf(spec);
  if (cpu == nullptr || !cpu->cpus || cpu->cpus->empty()) return Status::Ok();
  SANDBOX_ASSIGN_OR_RETURN(oci::CpuList cpuset, CpusetOf(*cpu->cpus));
  if (cpuset.highest < vcpus) return Status::Ok();
  return InvalidArgument("linux.resources.cpu.cpus: \"" + *cpu->cpus + "\" names vCPU " +
                         std::to_string(cpuset.highest) + ", but the VM has " + std::to_string(vcpus) +
                         " vCPU(s), numbered from 0 (the CPUs are the guest's)");
}

// vm.hwConfig.memory is in bytes (runtime spec); a microVM needs 64 MiB.
Result<uint32_t> MemoryFromHwConfig(uint64_t bytes) {
  const uint64_t mib = bytes / (1 << 20) + (bytes % (1 << 20) != 0 ? 1 : 0);
  if (mib < 64) {
    return InvalidArgument("vm.hwConfig.memory: " + std::to_string(bytes) +
                           " bytes is less than the 64 MiB a microVM needs (the value is in bytes)");
  }
  if (mib > (1u << 20)) {
    return InvalidArgument("vm.hwConfig.memory: " + std::to_string(bytes) + " bytes is more than a microVM can have");
  }
  return static_cast<uint32_t>(mib);
}

// A kernel command-line word: quoted when it has spaces.
Result<std::string> KernelParameter(const std::string& parameter, size_t index) {
  const std::string field = "vm.kernel.parameters[" + std::to_string(index) + "]";
  if (parameter.empty()) return InvalidArgument(field + ": must not be empty");
  for (char c : parameter) {
    if (c == '"' || static_cast<unsigned char>(c) < 0x20) {
      return InvalidArgument(field + ": a double quote or control character cannot be passed on the kernel command line");
    }
  }
  if (parameter.find(' ') == std::string::npos) return parameter;
  return "\"" + parameter + "\"";
}

}  // namespace

Result<MicroVmConfig> WithSpecKernel(const oci::Spec& spec, MicroVmConfig config) {
  if (!spec.vm) return config;
  const oci::VmKernel& kernel = spec.vm->kernel;
  config.kernel = kernel.path;
  if (kernel.initrd) config.initrd = *kernel.initrd;
  const oci::StringList parameters = kernel.parameters.value_or(oci::StringList{});
  for (size_t index = 0; index < parameters.size(); ++index) {
    SANDBOX_ASSIGN_OR_RETURN(std::string word, KernelParameter(parameters[index], index));
    config.kernel_cmdline += " " + word;
  }
  return config;
}

namespace {

template <class T>
Status ReadUnsigned(const nlohmann::json& object, const char* key, T& out, uint64_t min, uint64_t max) {
  if (!object.contains(key)) return Status::Ok();
  const nlohmann::json& value = object.at(key);
  if (!value.is_number_unsigned() || value.get<uint64_t>() < min || value.get<uint64_t>() > max) {
    return InvalidArgument(std::string(key) + ": must be an integer from " + std::to_string(min) + " to " +
                           std::to_string(max));
  }
  out = static_cast<T>(value.get<uint64_t>());
  return Status::Ok();
}

Status ReadString(const nlohmann::json& object, const char* key, std::string& out) {
  if (!object.contains(key)) return Status::Ok();
  if (!object.at(key).is_string() || object.at(key).get<std::string>().empty()) {
    return InvalidArgument(std::string(key) + ": must be a non-empty string");
  }
  out = object.at(key).get<std::string>();
  return Status::Ok();
}

Status ReadBool(const nlohmann::json& object, const char* key, bool& out) {
  if (!object.contains(key)) return Status::Ok();
  if (!object.at(key).is_boolean()) return InvalidArgument(std::string(key) + ": must be true or false");
  out = object.at(key).get<bool>();
  return Status::Ok();
}

}  // namespace

MicroVmConfigSources DefaultMicroVmConfigSources(const std::string& self_dir) {
  MicroVmConfigSources sources;
  sources.file = Env("SANDBOX_RT_CONFIG");
  sources.file_required = !sources.file.empty();
  if (sources.file.empty() && PathExists("/etc/sandbox-rt/config.json")) sources.file = "/etc/sandbox-rt/config.json";
  sources.guest_dir = Env("SANDBOX_RT_GUEST_DIR");
  if (sources.guest_dir.empty()) sources.guest_dir = "/var/lib/sandbox-rt/guest";
  sources.vmm = Env("SANDBOX_RT_VMM");
  if (sources.vmm.empty()) sources.vmm = self_dir + "/sandbox-vmm";
  return sources;
}

Result<MicroVmConfig> LoadMicroVmConfig(const MicroVmConfigSources& sources) {
  MicroVmConfig config;
  config.vmm = sources.vmm;
  config.kernel = sources.guest_dir + "/vmlinux";
  config.initrd = sources.guest_dir + "/initramfs.img";
  if (sources.file.empty()) return config;
  Result<std::string> text = ReadFile(sources.file);
  if (!text.ok()) return text.status().Wrap("runtime config");
  nlohmann::json object = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  const std::string where = "runtime config " + sources.file;
  if (!object.is_object()) return InvalidArgument(where + ": not a JSON object");
  static const char* const kKeys[] = {"vmm", "kernel", "initrd", "kernel_cmdline", "default_vcpus",
                                      "default_memory_mib", "memory_overhead_mib", "max_vcpus", "boot_timeout_ms",
                                      "rootfs_mode", "rootfs_format", "virtiofsd", "jail_vmm", "vmm_uid", "vmm_gid",
                                      "vm_templates", "template_dir"};
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const char* name : kKeys) known = known || key == name;
    if (!known) return InvalidArgument(where + ": " + key + ": unknown key");
  }
  Status status = Status::Ok();
  auto check = [&](Status step) {
    if (status.ok() && !step.ok()) status = step;
  };
  check(ReadString(object, "vmm", config.vmm));
  check(ReadString(object, "kernel", config.kernel));
  check(ReadString(object, "initrd", config.initrd));
  check(ReadString(object, "kernel_cmdline", config.kernel_cmdline));
  check(ReadUnsigned(object, "default_vcpus", config.default_vcpus, 1, 254));
  check(ReadUnsigned(object, "default_memory_mib", config.default_memory_mib, 64, 1 << 20));
  check(ReadUnsigned(object, "memory_overhead_mib", config.memory_overhead_mib, 0, 1 << 16));
  check(ReadUnsigned(object, "max_vcpus", config.max_vcpus, 0, 254));
  check(ReadUnsigned(object, "boot_timeout_ms", config.boot_timeout_ms, 100, 3'600'000));
  check(ReadString(object, "rootfs_mode", config.rootfs_mode));
  check(ReadString(object, "rootfs_format", config.rootfs_format));
  check(ReadString(object, "virtiofsd", config.virtiofsd));
  check(ReadBool(object, "jail_vmm", config.jail_vmm));
  // Not 0: root would keep the jailed VMM privileged; not 2^32-1 (no id).
  check(ReadUnsigned(object, "vmm_uid", config.vmm_uid, 1, 0xfffffffe));
  check(ReadUnsigned(object, "vmm_gid", config.vmm_gid, 1, 0xfffffffe));
  check(ReadBool(object, "vm_templates", config.vm_templates));
  check(ReadString(object, "template_dir", config.template_dir));
  if (status.ok() && !config.template_dir.starts_with("/")) {
    status = InvalidArgument("template_dir: must be an absolute path");
  }
  if (status.ok() && config.rootfs_mode != "virtiofs" && config.rootfs_mode != "image") {
    status = InvalidArgument("rootfs_mode: must be virtiofs or image");
  }
  if (status.ok() && config.rootfs_format != "erofs" && config.rootfs_format != "ext4") {
    status = InvalidArgument("rootfs_format: must be erofs or ext4");
  }
  if (!status.ok()) return InvalidArgument(where + ": " + status.message());
  return config;
}

Result<VmSize> SizeVm(const oci::Spec& spec, const MicroVmConfig& config, uint32_t host_cpus) {
  VmSize size{.vcpus = config.default_vcpus, .memory_mib = config.default_memory_mib};
  const oci::VmHwConfig* hw = spec.vm && spec.vm->hw_config ? &*spec.vm->hw_config : nullptr;
  const oci::Resources* resources =
      spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
  if (hw != nullptr && hw->memory) {
    SANDBOX_ASSIGN_OR_RETURN(size.memory_mib, MemoryFromHwConfig(*hw->memory));
  } else if (resources != nullptr && resources->memory && resources->memory->limit && *resources->memory->limit > 0) {
    const uint64_t limit_mib = (static_cast<uint64_t>(*resources->memory->limit) + (1 << 20) - 1) >> 20;
    const uint64_t total = limit_mib + config.memory_overhead_mib;
    if (total > (1u << 20)) {
      return InvalidArgument("linux.resources.memory.limit: " + std::to_string(*resources->memory->limit) +
                             " bytes is more than a microVM can have");
    }
    size.memory_mib = std::max<uint32_t>(64, static_cast<uint32_t>(total));
  }
  uint32_t cap = config.max_vcpus != 0 ? config.max_vcpus : host_cpus;
  if (cap == 0) cap = 1;
  if (hw != nullptr && hw->vcpus) {
    if (*hw->vcpus > cap) {
      return InvalidArgument("vm.hwConfig.vcpus: " + std::to_string(*hw->vcpus) + " is more than the " +
                             std::to_string(cap) + " this host allows (max_vcpus in the runtime config, else its CPUs)");
    }
    size.vcpus = *hw->vcpus;
  } else {
    SANDBOX_ASSIGN_OR_RETURN(size.vcpus, VcpusFromResources(spec, size.vcpus));
    size.vcpus = std::clamp<uint32_t>(size.vcpus, 1, cap);
  }
  SANDBOX_RETURN_IF_ERROR(CheckCpusetFits(spec, size.vcpus));
  return size;
}

}  // namespace sandbox::shim
