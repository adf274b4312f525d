#include "common/oci/validate.h"

#include <sys/utsname.h>

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

#include "common/base/file_util.h"
#include "common/oci/cpu_list.h"
#include "common/oci/names.h"
#include "common/oci/version.h"

namespace sandbox::oci {
namespace {

bool IsAbsolute(const std::string& path) { return !path.empty() && path[0] == '/'; }

bool HasDotDotComponent(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "..") return true;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return false;
}

class Validator {
 public:
  Validator(const Spec& spec, const ValidateOptions& options) : spec_(spec), options_(options) {
    if (spec.linux && spec.linux->namespaces) {
      for (const Namespace& ns : *spec.linux->namespaces) namespaces_[ns.type] = ns.path.has_value();
    }
  }

  FieldErrors RunProcessOnly() {
    CheckProcess();
    return std::move(errors_);
  }

  FieldErrors RunResourcesOnly(const Resources& resources) {
    CheckResources(resources);
    return std::move(errors_);
  }

  FieldErrors Run() {
    CheckVersion();
    CheckRoot();
    CheckProcess();
    CheckHostnames();
    CheckMounts();
    CheckHooks();
    CheckLinux();
    CheckVm();
    CheckPlatform();
    for (const auto& [name, text] : spec_.other_platforms) {
      Fail(name, "configuration for another platform (" + name +
                     ") is not supported by this Linux runtime; remove the section");
    }
    return std::move(errors_);
  }

 private:
  // `what`: "a CPU list like 0-3,5" or "a node list like 0-1".
  void CheckCpuList(const std::string& path, const std::string& value, const std::string& what) {
    Result<CpuList> list = ParseCpuList(value);
    if (!list.ok()) Fail(path, "\"" + value + "\" is not " + what + ": " + list.status().message());
  }

  void Fail(std::string path, std::string message) {
    errors_.push_back({std::move(path), std::move(message)});
  }

  // A new namespace of this type (no path: the container gets a fresh one).
  bool HasNewNamespace(const std::string& type) const {
    auto it = namespaces_.find(type);
    return it != namespaces_.end() && !it->second;
  }
  bool HasNamespace(const std::string& type) const { return namespaces_.contains(type); }

  void CheckVersion() {
    std::optional<SemVer> version = ParseSemVer(spec_.oci_version);
    if (!version) {
      Fail("ociVersion", "\"" + spec_.oci_version + "\" is not a SemVer 2.0.0 version");
      return;
    }
    version_ = *version;
    if (!IsSupportedOciVersion(*version)) {
      Fail("ociVersion", "unsupported version \"" + spec_.oci_version + "\" (supported: " +
                             std::string(kOciVersionMin) + " to 1.3.x)");
    }
  }

  void CheckRoot() {
    if (!spec_.root) {
      Fail("root", "required on Linux: the container's root filesystem");
      return;
    }
    const std::string& path = spec_.root->path;
    if (path.empty()) {
      Fail("root.path", "must not be empty");
      return;
    }
    if (options_.bundle_dir.empty()) return;
    std::string full = IsAbsolute(path) ? path : options_.bundle_dir + "/" + path;
    if (!PathExists(full)) {
      Fail("root.path", "\"" + full + "\" does not exist");
    } else if (!IsDirectory(full)) {
      Fail("root.path", "\"" + full + "\" is not a directory");
    }
  }

  void CheckProcess() {
    if (!spec_.process) {
      Fail("process", "required: the container's init process");
      return;
    }
    const Process& process = *spec_.process;
    if (!process.args || process.args->empty()) {
      Fail("process.args", "must contain at least the program to run");
    } else if ((*process.args)[0].empty()) {
      Fail("process.args[0]", "program must not be empty");
    }
    if (process.command_line) Fail("process.commandLine", "Windows only; use process.args");
    if (process.user.username) Fail("process.user.username", "Windows only; use uid and gid");
    if (!IsAbsolute(process.cwd)) {
      Fail("process.cwd", "must be an absolute path, got \"" + process.cwd + "\"");
    }
    if (process.user.umask && *process.user.umask > 0777) {
      Fail("process.user.umask", "must be at most 0777, got " + std::to_string(*process.user.umask));
    }
    if (process.env) {
      for (size_t i = 0; i < process.env->size(); ++i) {
        const std::string& entry = (*process.env)[i];
        size_t equals = entry.find('=');
        if (equals == std::string::npos || equals == 0) {
          Fail(IndexPath("process.env", i), "\"" + entry + "\" is not KEY=VALUE");
        }
      }
    }
    if (process.capabilities) CheckCapabilities(*process.capabilities);
    if (process.rlimits) CheckRlimits(*process.rlimits);
    if (process.oom_score_adj && (*process.oom_score_adj < -1000 || *process.oom_score_adj > 1000)) {
      Fail("process.oomScoreAdj", "must be in [-1000, 1000], got " + std::to_string(*process.oom_score_adj));
    }
    if (process.io_priority) {
      const IoPriority& io = *process.io_priority;
      if (!Contains(IoPriorityClasses(), io.io_class)) {
        Fail("process.ioPriority.class", "unknown class \"" + io.io_class + "\"");
      }
      if (io.priority && (*io.priority < 0 || *io.priority > 7)) {
        Fail("process.ioPriority.priority", "must be in [0, 7], got " + std::to_string(*io.priority));
      }
    }
    if (process.scheduler) CheckScheduler(*process.scheduler);
    if (process.exec_cpu_affinity) {
      const ExecCpuAffinity& affinity = *process.exec_cpu_affinity;
      if (affinity.initial) CheckCpuList("process.execCPUAffinity.initial", *affinity.initial, "a CPU list like 0-3,5");
      if (affinity.final_cpus) CheckCpuList("process.execCPUAffinity.final", *affinity.final_cpus, "a CPU list like 0-3,5");
    }
  }

  void CheckCapabilities(const Capabilities& caps) {
    auto check = [&](const char* set, const std::optional<StringList>& names) {
      if (!names) return;
      std::string base = std::string("process.capabilities.") + set;
      for (size_t i = 0; i < names->size(); ++i) {
        if (!Contains(CapabilityNames(), (*names)[i])) {
          Fail(IndexPath(base, i), "unknown capability \"" + (*names)[i] + "\"");
        }
      }
    };
    check("bounding", caps.bounding);
    check("effective", caps.effective);
    check("inheritable", caps.inheritable);
    check("permitted", caps.permitted);
    check("ambient", caps.ambient);
  }

  void CheckRlimits(const std::vector<Rlimit>& rlimits) {
    std::set<std::string> seen;
    for (size_t i = 0; i < rlimits.size(); ++i) {
      const Rlimit& limit = rlimits[i];
      std::string path = IndexPath("process.rlimits", i);
      if (!Contains(RlimitTypes(), limit.type)) {
        Fail(path + ".type", "unknown rlimit type \"" + limit.type + "\"");
      } else if (!seen.insert(limit.type).second) {
        Fail(path + ".type", "duplicate rlimit type \"" + limit.type + "\"");
      }
      if (limit.soft > limit.hard) {
        Fail(path + ".soft", "soft limit " + std::to_string(limit.soft) + " exceeds hard limit " +
                                 std::to_string(limit.hard));
      }
    }
  }

  void CheckScheduler(const Scheduler& scheduler) {
    const std::string base = "process.scheduler";
    if (!Contains(SchedulerPolicies(), scheduler.policy)) {
      Fail(base + ".policy", "unknown policy \"" + scheduler.policy + "\"");
    }
    if (scheduler.nice && (*scheduler.nice < -20 || *scheduler.nice > 19)) {
      Fail(base + ".nice", "must be in [-20, 19], got " + std::to_string(*scheduler.nice));
    }
    bool realtime = scheduler.policy == "SCHED_FIFO" || scheduler.policy == "SCHED_RR";
    if (scheduler.priority) {
      if (realtime && (*scheduler.priority < 1 || *scheduler.priority > 99)) {
        Fail(base + ".priority", "must be in [1, 99] for " + scheduler.policy);
      } else if (!realtime && *scheduler.priority != 0) {
        Fail(base + ".priority", "must be 0 for " + scheduler.policy);
      }
    }
    if (scheduler.flags) {
      for (size_t i = 0; i < scheduler.flags->size(); ++i) {
        if (!Contains(SchedulerFlags(), (*scheduler.flags)[i])) {
          Fail(IndexPath(base + ".flags", i), "unknown flag \"" + (*scheduler.flags)[i] + "\"");
        }
      }
    }
    if (scheduler.policy == "SCHED_DEADLINE") {
      uint64_t runtime = scheduler.runtime.value_or(0);
      uint64_t deadline = scheduler.deadline.value_or(0);
      uint64_t period = scheduler.period.value_or(deadline);
      if (runtime == 0 || runtime > deadline || deadline > period) {
        Fail(base, "SCHED_DEADLINE needs 0 < runtime <= deadline <= period");
      }
    } else if (scheduler.runtime || scheduler.deadline || scheduler.period) {
      Fail(base, "runtime, deadline and period apply only to SCHED_DEADLINE");
    }
  }

  void CheckHostnames() {
    if (spec_.hostname && !spec_.hostname->empty() && !HasNewNamespace("uts")) {
      Fail("hostname", "setting the hostname needs a new uts namespace in linux.namespaces");
    }
    if (spec_.domainname && !spec_.domainname->empty() && !HasNewNamespace("uts")) {
      Fail("domainname", "setting the domainname needs a new uts namespace in linux.namespaces");
    }
  }

  void CheckMounts() {
    if (!spec_.mounts) return;
    // Relative destinations became legal in runtime-spec 1.2.0 (relative to "/").
    bool relative_ok = !VersionBefore(version_, 1, 2);
    for (size_t i = 0; i < spec_.mounts->size(); ++i) {
      const Mount& mount = (*spec_.mounts)[i];
      std::string path = IndexPath("mounts", i);
      if (mount.destination.empty()) {
        Fail(path + ".destination", "must not be empty");
      } else if (!IsAbsolute(mount.destination) && !relative_ok) {
        Fail(path + ".destination", "must be an absolute path before runtime-spec 1.2.0, got \"" +
                                        mount.destination + "\"");
      }
      if (HasDotDotComponent(mount.destination)) {
        Fail(path + ".destination", "must not contain \"..\"");
      }
      bool bind = false, idmap = false;
      if (mount.options) {
        for (const std::string& option : *mount.options) {
          if (option == "bind" || option == "rbind") bind = true;
          if (option == "idmap" || option == "ridmap") idmap = true;
          if (option == "tmpcopyup") {
            Fail(path + ".options", "tmpcopyup is not supported: the agent does not copy a mount point's content up");
          }
        }
      }
      if (mount.type && *mount.type == "bind") bind = true;
      if (bind && (!mount.source || mount.source->empty())) {
        Fail(path + ".source", "required for a bind mount");
      }
      if (!bind && !mount.type && mount.source) {
        Fail(path + ".type", "required for a non-bind mount");
      }
      if (mount.uid_mappings.has_value() != mount.gid_mappings.has_value()) {
        Fail(path, "uidMappings and gidMappings must be given together");
      }
      if (idmap || mount.uid_mappings || mount.gid_mappings) {
        Fail(path + ".options", "idmapped mounts (idmap, ridmap, uidMappings, gidMappings) are not supported");
      }
    }
  }

  void CheckIdMappings(const std::string& base, const std::vector<IdMapping>& mappings) {
    for (size_t i = 0; i < mappings.size(); ++i) {
      const IdMapping& mapping = mappings[i];
      if (mapping.size == 0) Fail(IndexPath(base, i) + ".size", "must be greater than 0");
      if (uint64_t{mapping.container_id} + mapping.size > (uint64_t{1} << 32) ||
          uint64_t{mapping.host_id} + mapping.size > (uint64_t{1} << 32)) {
        Fail(IndexPath(base, i), "range overflows 32-bit ids");
      }
    }
  }

  void CheckHooks() {
    if (!spec_.hooks) return;
    const Hooks& hooks = *spec_.hooks;
    auto check = [&](const char* name, const std::optional<std::vector<Hook>>& list) {
      if (!list) return;
      std::string base = std::string("hooks.") + name;
      for (size_t i = 0; i < list->size(); ++i) {
        const Hook& hook = (*list)[i];
        std::string path = IndexPath(base, i);
        if (!IsAbsolute(hook.path)) Fail(path + ".path", "must be an absolute path, got \"" + hook.path + "\"");
        if (hook.timeout && *hook.timeout <= 0) {
          Fail(path + ".timeout", "must be greater than zero, got " + std::to_string(*hook.timeout));
        }
        if (hook.env) {
          for (size_t e = 0; e < hook.env->size(); ++e) {
            if ((*hook.env)[e].find('=') == std::string::npos) {
              Fail(IndexPath(path + ".env", e), "\"" + (*hook.env)[e] + "\" is not KEY=VALUE");
            }
          }
        }
      }
    };
    check("prestart", hooks.prestart);
    check("createRuntime", hooks.create_runtime);
    check("createContainer", hooks.create_container);
    check("startContainer", hooks.start_container);
    check("poststart", hooks.poststart);
    check("poststop", hooks.poststop);
  }

  void CheckLinux() {
    if (!spec_.linux) return;
    const Linux& linux = *spec_.linux;
    CheckNamespaces(linux);
    if (linux.uid_mappings) CheckIdMappings("linux.uidMappings", *linux.uid_mappings);
    if (linux.gid_mappings) CheckIdMappings("linux.gidMappings", *linux.gid_mappings);
    if (linux.time_offsets) {
      if (!HasNewNamespace("time")) {
        Fail("linux.timeOffsets", "needs a new time namespace in linux.namespaces");
      }
      for (const auto& [clock, offset] : *linux.time_offsets) {
        if (clock != "boottime" && clock != "monotonic") {
          Fail(MapKeyPath("linux.timeOffsets", clock), "unknown clock (want boottime or monotonic)");
        }
        if (offset.nanosecs && *offset.nanosecs >= 1000000000u) {
          Fail(MapKeyPath("linux.timeOffsets", clock) + ".nanosecs", "must be below 1000000000");
        }
      }
    }
    if (linux.devices) CheckDevices(*linux.devices);
    if (linux.cgroups_path && HasDotDotComponent(*linux.cgroups_path)) {
      Fail("linux.cgroupsPath", "must not contain \"..\"");
    }
    if (linux.resources) CheckResources(*linux.resources);
    if (linux.rootfs_propagation) {
      static const std::vector<std::string> kModes = {"private",  "shared",  "slave",  "unbindable",
                                                      "rprivate", "rshared", "rslave", "runbindable"};
      if (!Contains(kModes, *linux.rootfs_propagation)) {
        Fail("linux.rootfsPropagation", "unknown propagation \"" + *linux.rootfs_propagation +
                                            "\" (want shared, slave, private or unbindable)");
      }
    }
    if (linux.seccomp) CheckSeccomp(*linux.seccomp);
    if (linux.sysctl) CheckSysctl(*linux.sysctl);
    auto check_paths = [&](const char* name, const std::optional<StringList>& paths) {
      if (!paths) return;
      for (size_t i = 0; i < paths->size(); ++i) {
        if (!IsAbsolute((*paths)[i])) {
          Fail(IndexPath(std::string("linux.") + name, i), "must be an absolute path, got \"" + (*paths)[i] + "\"");
        }
      }
    };
    check_paths("maskedPaths", linux.masked_paths);
    check_paths("readonlyPaths", linux.readonly_paths);
    if (linux.intel_rdt) {
      Fail("linux.intelRdt", "Intel RDT is not available inside a microVM; remove the section");
    }
    if (linux.personality) {
      const Personality& personality = *linux.personality;
      if (personality.domain != "LINUX" && personality.domain != "LINUX32") {
        Fail("linux.personality.domain", "unknown domain \"" + personality.domain + "\" (want LINUX or LINUX32)");
      }
      if (personality.flags && !personality.flags->empty()) {
        Fail("linux.personality.flags", "no personality flags are supported");
      }
    }
    if (linux.memory_policy) CheckMemoryPolicy(*linux.memory_policy);
    if (linux.net_devices) {
      Fail("linux.netDevices", "moving host network devices into a microVM is not supported");
    }
  }

  void CheckNamespaces(const Linux& linux) {
    std::set<std::string> seen;
    if (linux.namespaces) {
      for (size_t i = 0; i < linux.namespaces->size(); ++i) {
        const Namespace& ns = (*linux.namespaces)[i];
        std::string path = IndexPath("linux.namespaces", i);
        if (!Contains(NamespaceTypes(), ns.type)) {
          Fail(path + ".type", "unknown namespace type \"" + ns.type + "\"");
        } else if (!seen.insert(ns.type).second) {
          Fail(path + ".type", "duplicate namespace type \"" + ns.type + "\"");
        }
        if (ns.path && !IsAbsolute(*ns.path)) {
          Fail(path + ".path", "must be an absolute path, got \"" + *ns.path + "\"");
        }
      }
    }
    bool has_mappings = (linux.uid_mappings && !linux.uid_mappings->empty()) ||
                        (linux.gid_mappings && !linux.gid_mappings->empty());
    if (HasNewNamespace("user")) {
      if (!linux.uid_mappings || linux.uid_mappings->empty()) {
        Fail("linux.uidMappings", "a new user namespace needs uid mappings");
      }
      if (!linux.gid_mappings || linux.gid_mappings->empty()) {
        Fail("linux.gidMappings", "a new user namespace needs gid mappings");
      }
    } else if (HasNamespace("user")) {
      if (has_mappings) Fail("linux.uidMappings", "mappings cannot be set when joining an existing user namespace");
    } else if (has_mappings) {
      Fail("linux.uidMappings", "uid/gid mappings need a user namespace in linux.namespaces");
    }
  }

  void CheckDevices(const std::vector<Device>& devices) {
    for (size_t i = 0; i < devices.size(); ++i) {
      const Device& device = devices[i];
      std::string path = IndexPath("linux.devices", i);
      static const std::vector<std::string> kTypes = {"c", "b", "u", "p"};
      if (!Contains(kTypes, device.type)) {
        Fail(path + ".type", "unknown device type \"" + device.type + "\" (want c, b, u or p)");
      } else if (device.type != "p" && (!device.major || !device.minor)) {
        Fail(path, "major and minor are required for device type \"" + device.type + "\"");
      }
      if (!IsAbsolute(device.path)) Fail(path + ".path", "must be an absolute path, got \"" + device.path + "\"");
      if (device.file_mode && *device.file_mode > 07777) {
        Fail(path + ".fileMode", "permission bits must be at most 07777");
      }
    }
  }

  void CheckResources(const Resources& resources) {
    const std::string base = "linux.resources";
    if (resources.devices) {
      for (size_t i = 0; i < resources.devices->size(); ++i) {
        const DeviceRule& rule = (*resources.devices)[i];
        std::string path = IndexPath(base + ".devices", i);
        if (rule.type && *rule.type != "a" && *rule.type != "c" && *rule.type != "b") {
          Fail(path + ".type", "unknown type \"" + *rule.type + "\" (want a, c or b)");
        }
        if (rule.access && (rule.access->empty() ||
                            rule.access->find_first_not_of("rwm") != std::string::npos)) {
          Fail(path + ".access", "\"" + *rule.access + "\" is not a combination of r, w and m");
        }
      }
    }
    if (resources.memory) CheckMemory(*resources.memory);
    if (resources.cpu) CheckCpu(*resources.cpu);
    if (resources.block_io) CheckBlockIo(*resources.block_io);
    if (resources.hugepage_limits) {
      static const std::regex kPageSize(R"(^[1-9][0-9]*[KMG]B$)");
      for (size_t i = 0; i < resources.hugepage_limits->size(); ++i) {
        const std::string& size = (*resources.hugepage_limits)[i].page_size;
        if (!std::regex_match(size, kPageSize)) {
          Fail(IndexPath(base + ".hugepageLimits", i) + ".pageSize", "\"" + size + "\" is not a size like 2MB");
        }
      }
    }
    if (resources.unified) {
      for (const auto& [key, value] : *resources.unified) {
        if (key.find('/') != std::string::npos || key.find('.') == std::string::npos || key[0] == '.') {
          Fail(MapKeyPath(base + ".unified", key), "not a cgroup v2 file name like \"memory.high\"");
        }
      }
    }
  }

  void CheckMemory(const MemoryResources& memory) {
    const std::string base = "linux.resources.memory";
    auto check_limit = [&](const char* name, const std::optional<int64_t>& value) {
      if (value && *value < -1) Fail(base + "." + name, "must be -1 (unlimited) or a byte count, got " + std::to_string(*value));
    };
    check_limit("limit", memory.limit);
    check_limit("reservation", memory.reservation);
    check_limit("swap", memory.swap);
    if (memory.limit && memory.reservation && *memory.limit > 0 && *memory.reservation > *memory.limit) {
      Fail(base + ".reservation", "reservation " + std::to_string(*memory.reservation) +
                                      " exceeds limit " + std::to_string(*memory.limit));
    }
    if (memory.swap && *memory.swap > 0) {
      if (!memory.limit || *memory.limit <= 0) {
        Fail(base + ".swap", "a swap limit needs a memory limit");
      } else if (*memory.swap < *memory.limit) {
        Fail(base + ".swap", "swap " + std::to_string(*memory.swap) + " (memory+swap) is below limit " +
                                 std::to_string(*memory.limit));
      }
    }
    if (memory.swappiness && *memory.swappiness > 100) {
      Fail(base + ".swappiness", "must be at most 100, got " + std::to_string(*memory.swappiness));
    }
  }

  void CheckCpu(const CpuResources& cpu) {
    const std::string base = "linux.resources.cpu";
    if (cpu.shares && *cpu.shares != 0 && (*cpu.shares < 2 || *cpu.shares > 262144)) {
      Fail(base + ".shares", "must be in [2, 262144], got " + std::to_string(*cpu.shares));
    }
    if (cpu.quota && *cpu.quota != -1 && *cpu.quota < 1000) {
      Fail(base + ".quota", "must be -1 or at least 1000 microseconds, got " + std::to_string(*cpu.quota));
    }
    if (cpu.period && (*cpu.period < 1000 || *cpu.period > 1000000)) {
      Fail(base + ".period", "must be in [1000, 1000000] microseconds, got " + std::to_string(*cpu.period));
    }
    if (cpu.burst && (!cpu.quota || *cpu.quota <= 0 || *cpu.burst > static_cast<uint64_t>(*cpu.quota))) {
      Fail(base + ".burst", "needs a quota and must not exceed it");
    }
    if (cpu.cpus && !cpu.cpus->empty()) CheckCpuList(base + ".cpus", *cpu.cpus, "a CPU list like 0-3,5");
    if (cpu.mems && !cpu.mems->empty()) CheckCpuList(base + ".mems", *cpu.mems, "a node list like 0-1");
    if (cpu.idle && *cpu.idle != 0 && *cpu.idle != 1) {
      Fail(base + ".idle", "must be 0 or 1, got " + std::to_string(*cpu.idle));
    }
  }

  void CheckBlockIo(const BlockIoResources& io) {
    const std::string base = "linux.resources.blockIO";
    auto check_weight = [&](const std::string& path, const std::optional<uint16_t>& weight) {
      if (weight && (*weight < 10 || *weight > 1000)) {
        Fail(path, "must be in [10, 1000], got " + std::to_string(*weight));
      }
    };
    check_weight(base + ".weight", io.weight);
    check_weight(base + ".leafWeight", io.leaf_weight);
    if (io.weight_device) {
      for (size_t i = 0; i < io.weight_device->size(); ++i) {
        check_weight(IndexPath(base + ".weightDevice", i) + ".weight", (*io.weight_device)[i].weight);
        check_weight(IndexPath(base + ".weightDevice", i) + ".leafWeight", (*io.weight_device)[i].leaf_weight);
      }
    }
  }

  void CheckSeccomp(const Seccomp& seccomp) {
    const std::string base = "linux.seccomp";
    auto check_action = [&](const std::string& path, const std::string& action,
                            const std::optional<uint32_t>& errno_ret) {
      if (!Contains(SeccompActions(), action)) {
        Fail(path, "unknown action \"" + action + "\"");
      } else if (action == "SCMP_ACT_NOTIFY") {
        Fail(path, "SCMP_ACT_NOTIFY (seccomp user notification) is not supported in a microVM");
      }
      if (errno_ret && action != "SCMP_ACT_ERRNO" && action != "SCMP_ACT_TRACE") {
        Fail(path, "errnoRet applies only to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not " + action);
      }
    };
    check_action(base + ".defaultAction", seccomp.default_action, seccomp.default_errno_ret);
    if (seccomp.architectures) {
      for (size_t i = 0; i < seccomp.architectures->size(); ++i) {
        if (!Contains(SeccompArchitectures(), (*seccomp.architectures)[i])) {
          Fail(IndexPath(base + ".architectures", i), "unknown architecture \"" + (*seccomp.architectures)[i] + "\"");
        }
      }
    }
    if (seccomp.flags) {
      for (size_t i = 0; i < seccomp.flags->size(); ++i) {
        if (!Contains(SeccompFlags(), (*seccomp.flags)[i])) {
          Fail(IndexPath(base + ".flags", i), "unknown flag \"" + (*seccomp.flags)[i] + "\"");
        } else if ((*seccomp.flags)[i] == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
          Fail(IndexPath(base + ".flags", i),
               "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported: it concerns seccomp user notification, "
               "which has no listener in a microVM");
        }
      }
    }
    if (seccomp.listener_path) {
      Fail(base + ".listenerPath", "seccomp user notification is not supported: the filter runs inside the microVM");
    } else if (seccomp.listener_metadata) {
      Fail(base + ".listenerMetadata", "is for the seccomp listener, and there is no listenerPath (nor user "
                                       "notification in a microVM) to pass it to");
    }
    if (!seccomp.syscalls) return;
    for (size_t i = 0; i < seccomp.syscalls->size(); ++i) {
      const Syscall& syscall = (*seccomp.syscalls)[i];
      std::string path = IndexPath(base + ".syscalls", i);
      if (syscall.names.empty()) Fail(path + ".names", "must name at least one syscall");
      for (size_t n = 0; n < syscall.names.size(); ++n) {
        if (syscall.names[n].empty()) Fail(IndexPath(path + ".names", n), "must not be empty");
      }
      check_action(path + ".action", syscall.action, syscall.errno_ret);
      if (!syscall.args) continue;
      for (size_t a = 0; a < syscall.args->size(); ++a) {
        const SyscallArg& arg = (*syscall.args)[a];
        std::string arg_path = IndexPath(path + ".args", a);
        if (arg.index > 5) Fail(arg_path + ".index", "must be in [0, 5], got " + std::to_string(arg.index));
        if (!Contains(SeccompOperators(), arg.op)) Fail(arg_path + ".op", "unknown operator \"" + arg.op + "\"");
      }
    }
  }

  void CheckSysctl(const StringMap& sysctl) {
    static const std::set<std::string> kIpc = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                               "kernel.sem",    "kernel.shmall", "kernel.shmmax",
                                               "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (const auto& [raw_key, value] : sysctl) {
      std::string key = raw_key;
      std::replace(key.begin(), key.end(), '/', '.');
      std::string path = MapKeyPath("linux.sysctl", raw_key);
      if (kIpc.contains(key) || key.starts_with("fs.mqueue.")) {
        if (!HasNewNamespace("ipc")) Fail(path, "needs a new ipc namespace");
      } else if (key.starts_with("net.")) {
        if (!HasNewNamespace("network")) Fail(path, "needs a new network namespace");
      } else if (key == "kernel.hostname" || key == "kernel.domainname") {
        if (!HasNewNamespace("uts")) Fail(path, "needs a new uts namespace");
      } else {
        Fail(path, "not a namespaced sysctl; it would change the whole (guest) kernel");
      }
    }
  }

  void CheckMemoryPolicy(const MemoryPolicy& policy) {
    const std::string base = "linux.memoryPolicy";
    if (!Contains(MemoryPolicyModes(), policy.mode)) {
      Fail(base + ".mode", "unknown mode \"" + policy.mode + "\"");
    }
    bool nodes_given = policy.nodes && !policy.nodes->empty();
    if ((policy.mode == "MPOL_DEFAULT" || policy.mode == "MPOL_LOCAL") && nodes_given) {
      Fail(base + ".nodes", "must be empty for " + policy.mode);
    }
    if ((policy.mode == "MPOL_BIND" || policy.mode == "MPOL_INTERLEAVE" ||
         policy.mode == "MPOL_WEIGHTED_INTERLEAVE" || policy.mode == "MPOL_PREFERRED_MANY") &&
        !nodes_given) {
      Fail(base + ".nodes", "required for " + policy.mode);
    }
    if (nodes_given) CheckCpuList(base + ".nodes", *policy.nodes, "a node list like 0-1");
    if (policy.flags) {
      for (size_t i = 0; i < policy.flags->size(); ++i) {
        if (!Contains(MemoryPolicyFlags(), (*policy.flags)[i])) {
          Fail(IndexPath(base + ".flags", i), "unknown flag \"" + (*policy.flags)[i] + "\"");
        }
      }
    }
  }

  void CheckVm() {
    if (!spec_.vm) return;
    const Vm& vm = *spec_.vm;
    if (vm.hypervisor) {
      Fail("vm.hypervisor", "sandbox-rt is the hypervisor (sandbox-vmm); another one cannot be chosen");
    }
    if (!IsAbsolute(vm.kernel.path)) Fail("vm.kernel.path", "must be an absolute path");
    if (vm.kernel.initrd && !IsAbsolute(*vm.kernel.initrd)) Fail("vm.kernel.initrd", "must be an absolute path");
    if (vm.image) {
      Fail("vm.image", "a VM root image is not supported; the container rootfs comes from root.path");
    }
    if (vm.hw_config) {
      if (vm.hw_config->device_tree) Fail("vm.hwConfig.deviceTree", "device trees are not used on x86_64");
      // The spec's Xen passthrough fields (kept as unknown properties).
      for (const char* xen : {"dtdevs", "iomems", "irqs"}) {
        if (vm.hw_config->unknown.contains(xen)) {
          Fail(std::string("vm.hwConfig.") + xen, "host device passthrough (a Xen feature) is not supported");
        }
      }
      if (vm.hw_config->vcpus && *vm.hw_config->vcpus == 0) Fail("vm.hwConfig.vcpus", "must be at least 1");
      if (vm.hw_config->memory && *vm.hw_config->memory == 0) Fail("vm.hwConfig.memory", "must be greater than 0");
    }
  }

  void CheckPlatform() {
    if (!spec_.platform) return;
    if (spec_.platform->os != "linux") {
      Fail("platform.os", "\"" + spec_.platform->os + "\" does not match this host (linux)");
    }
    if (spec_.platform->arch != options_.host_arch) {
      Fail("platform.arch", "\"" + spec_.platform->arch + "\" does not match this host (" +
                                options_.host_arch + ")");
    }
  }

  const Spec& spec_;
  const ValidateOptions& options_;
  SemVer version_;
  std::map<std::string, bool> namespaces_;  // type -> joins an existing one (has a path)
  FieldErrors errors_;
};

}  // namespace

FieldErrors ValidateSpec(const Spec& spec, const ValidateOptions& options) {
  return Validator(spec, options).Run();
}

std::vector<std::string> UnenforcedProcessFieldNotes(const Process& process) {
  std::vector<std::string> notes;
  const char* kWhy = " is not enforced: the guest kernel has no such LSM; the microVM boundary isolates the container";
  if (process.apparmor_profile && !process.apparmor_profile->empty()) {
    notes.push_back("process.apparmorProfile \"" + *process.apparmor_profile + "\"" + kWhy);
  }
  if (process.selinux_label && !process.selinux_label->empty()) {
    notes.push_back("process.selinuxLabel \"" + *process.selinux_label + "\"" + kWhy);
  }
  if (process.exec_cpu_affinity && process.exec_cpu_affinity->initial) {
    notes.push_back("process.execCPUAffinity.initial \"" + *process.exec_cpu_affinity->initial +
                    "\" is not enforced: an exec is born in the container's cgroup (there is no move into it to "
                    "run before); execCPUAffinity.final is");
  }
  return notes;
}

std::vector<std::string> UnenforcedFieldNotes(const Spec& spec) {
  std::vector<std::string> notes;
  if (spec.process) notes = UnenforcedProcessFieldNotes(*spec.process);
  if (spec.linux && spec.linux->mount_label && !spec.linux->mount_label->empty()) {
    notes.push_back("linux.mountLabel \"" + *spec.linux->mount_label +
                    "\" is not enforced: the guest kernel has no such LSM; the microVM boundary isolates the container");
  }
  return notes;
}

FieldErrors ValidateProcess(const Process& process) {
  Spec spec;
  spec.process = process;
  ValidateOptions options;
  return Validator(spec, options).RunProcessOnly();
}

FieldErrors ValidateResources(const Resources& resources) {
  Spec spec;
  ValidateOptions options;
  return Validator(spec, options).RunResourcesOnly(resources);
}

std::string HostOciArch() {
  struct utsname name;
  if (::uname(&name) != 0) return "unknown";
  std::string machine = name.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i686" || machine == "i386") return "386";
  return machine;
}

}  // namespace sandbox::oci
