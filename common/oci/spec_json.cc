#include "common/oci/spec_json.h"

#include "common/oci/json_mapping.h"

namespace sandbox::oci::json_detail {

// Describe(visitor, object) lists the JSON properties of one spec object, in
// the spec's order. S is the struct, const when serialising.
#define SANDBOX_DESCRIBE(Type)                                   \
  template <class V, class S>                                    \
    requires std::same_as<std::remove_const_t<S>, Type>          \
  void Describe(V& v, S& s)

SANDBOX_DESCRIBE(IdMapping) {
  v.Required("containerID", s.container_id);
  v.Required("hostID", s.host_id);
  v.Required("size", s.size);
}

SANDBOX_DESCRIBE(Root) {
  v.Required("path", s.path);
  v.Optional("readonly", s.readonly);
}

SANDBOX_DESCRIBE(Mount) {
  v.Required("destination", s.destination);
  v.Optional("type", s.type);
  v.Optional("source", s.source);
  v.Optional("options", s.options);
  v.Optional("uidMappings", s.uid_mappings);
  v.Optional("gidMappings", s.gid_mappings);
}

SANDBOX_DESCRIBE(ConsoleSize) {
  v.Required("height", s.height);
  v.Required("width", s.width);
}

SANDBOX_DESCRIBE(User) {
  v.Required("uid", s.uid);
  v.Required("gid", s.gid);
  v.Optional("umask", s.umask);
  v.Optional("additionalGids", s.additional_gids);
  v.Optional("username", s.username);
}

SANDBOX_DESCRIBE(Capabilities) {
  v.Optional("bounding", s.bounding);
  v.Optional("effective", s.effective);
  v.Optional("inheritable", s.inheritable);
  v.Optional("permitted", s.permitted);
  v.Optional("ambient", s.ambient);
}

SANDBOX_DESCRIBE(Rlimit) {
  v.Required("type", s.type);
  v.Required("soft", s.soft);
  v.Required("hard", s.hard);
}

SANDBOX_DESCRIBE(IoPriority) {
  v.Required("class", s.io_class);
  v.Optional("priority", s.priority);
}

SANDBOX_DESCRIBE(Scheduler) {
  v.Required("policy", s.policy);
  v.Optional("nice", s.nice);
  v.Optional("priority", s.priority);
  v.Optional("flags", s.flags);
  v.Optional("runtime", s.runtime);
  v.Optional("deadline", s.deadline);
  v.Optional("period", s.period);
}

SANDBOX_DESCRIBE(ExecCpuAffinity) {
  v.Optional("initial", s.initial);
  v.Optional("final", s.final_cpus);
}

SANDBOX_DESCRIBE(Process) {
  v.Optional("terminal", s.terminal);
  v.Optional("consoleSize", s.console_size);
  v.Required("user", s.user);
  v.Optional("args", s.args);
  v.Optional("commandLine", s.command_line);
  v.Optional("env", s.env);
  v.Required("cwd", s.cwd);
  v.Optional("capabilities", s.capabilities);
  v.Optional("rlimits", s.rlimits);
  v.Optional("noNewPrivileges", s.no_new_privileges);
  v.Optional("apparmorProfile", s.apparmor_profile);
  v.Optional("selinuxLabel", s.selinux_label);
  v.Optional("oomScoreAdj", s.oom_score_adj);
  v.Optional("ioPriority", s.io_priority);
  v.Optional("scheduler", s.scheduler);
  v.Optional("execCPUAffinity", s.exec_cpu_affinity);
}

SANDBOX_DESCRIBE(Hook) {
  v.Required("path", s.path);
  v.Optional("args", s.args);
  v.Optional("env", s.env);
  v.Optional("timeout", s.timeout);
}

SANDBOX_DESCRIBE(Hooks) {
  v.Optional("prestart", s.prestart);
  v.Optional("createRuntime", s.create_runtime);
  v.Optional("createContainer", s.create_container);
  v.Optional("startContainer", s.start_container);
  v.Optional("poststart", s.poststart);
  v.Optional("poststop", s.poststop);
}

SANDBOX_DESCRIBE(Namespace) {
  v.Required("type", s.type);
  v.Optional("path", s.path);
}

SANDBOX_DESCRIBE(TimeOffset) {
  v.Optional("secs", s.secs);
  v.Optional("nanosecs", s.nanosecs);
}

SANDBOX_DESCRIBE(Device) {
  v.Required("type", s.type);
  v.Required("path", s.path);
  v.Optional("major", s.major);
  v.Optional("minor", s.minor);
  v.Optional("fileMode", s.file_mode);
  v.Optional("uid", s.uid);
  v.Optional("gid", s.gid);
}

SANDBOX_DESCRIBE(DeviceRule) {
  v.Required("allow", s.allow);
  v.Optional("type", s.type);
  v.Optional("major", s.major);
  v.Optional("minor", s.minor);
  v.Optional("access", s.access);
}

SANDBOX_DESCRIBE(MemoryResources) {
  v.Optional("limit", s.limit);
  v.Optional("reservation", s.reservation);
  v.Optional("swap", s.swap);
  v.Optional("kernel", s.kernel);
  v.Optional("kernelTCP", s.kernel_tcp);
  v.Optional("swappiness", s.swappiness);
  v.Optional("disableOOMKiller", s.disable_oom_killer);
  v.Optional("useHierarchy", s.use_hierarchy);
  v.Optional("checkBeforeUpdate", s.check_before_update);
}

SANDBOX_DESCRIBE(CpuResources) {
  v.Optional("shares", s.shares);
  v.Optional("quota", s.quota);
  v.Optional("burst", s.burst);
  v.Optional("period", s.period);
  v.Optional("realtimeRuntime", s.realtime_runtime);
  v.Optional("realtimePeriod", s.realtime_period);
  v.Optional("cpus", s.cpus);
  v.Optional("mems", s.mems);
  v.Optional("idle", s.idle);
}

SANDBOX_DESCRIBE(PidsResources) { v.Optional("limit", s.limit); }

SANDBOX_DESCRIBE(WeightDevice) {
  v.Required("major", s.major);
  v.Required("minor", s.minor);
  v.Optional("weight", s.weight);
  v.Optional("leafWeight", s.leaf_weight);
}

SANDBOX_DESCRIBE(ThrottleDevice) {
  v.Required("major", s.major);
  v.Required("minor", s.minor);
  v.Required("rate", s.rate);
}

SANDBOX_DESCRIBE(BlockIoResources) {
  v.Optional("weight", s.weight);
  v.Optional("leafWeight", s.leaf_weight);
  v.Optional("weightDevice", s.weight_device);
  v.Optional("throttleReadBpsDevice", s.throttle_read_bps_device);
  v.Optional("throttleWriteBpsDevice", s.throttle_write_bps_device);
  v.Optional("throttleReadIOPSDevice", s.throttle_read_iops_device);
  v.Optional("throttleWriteIOPSDevice", s.throttle_write_iops_device);
}

SANDBOX_DESCRIBE(HugepageLimit) {
  v.Required("pageSize", s.page_size);
  v.Required("limit", s.limit);
}

SANDBOX_DESCRIBE(InterfacePriority) {
  v.Required("name", s.name);
  v.Required("priority", s.priority);
}

SANDBOX_DESCRIBE(NetworkResources) {
  v.Optional("classID", s.class_id);
  v.Optional("priorities", s.priorities);
}

SANDBOX_DESCRIBE(RdmaLimit) {
  v.Optional("hcaHandles", s.hca_handles);
  v.Optional("hcaObjects", s.hca_objects);
}

SANDBOX_DESCRIBE(Resources) {
  v.Optional("devices", s.devices);
  v.Optional("memory", s.memory);
  v.Optional("cpu", s.cpu);
  v.Optional("pids", s.pids);
  v.Optional("blockIO", s.block_io);
  v.Optional("hugepageLimits", s.hugepage_limits);
  v.Optional("network", s.network);
  v.Optional("rdma", s.rdma);
  v.Optional("unified", s.unified);
}

SANDBOX_DESCRIBE(SyscallArg) {
  v.Required("index", s.index);
  v.Required("value", s.value);
  v.Optional("valueTwo", s.value_two);
  v.Required("op", s.op);
}

SANDBOX_DESCRIBE(Syscall) {
  v.Required("names", s.names);
  v.Required("action", s.action);
  v.Optional("errnoRet", s.errno_ret);
  v.Optional("args", s.args);
}

SANDBOX_DESCRIBE(Seccomp) {
  v.Required("defaultAction", s.default_action);
  v.Optional("defaultErrnoRet", s.default_errno_ret);
  v.Optional("architectures", s.architectures);
  v.Optional("flags", s.flags);
  v.Optional("listenerPath", s.listener_path);
  v.Optional("listenerMetadata", s.listener_metadata);
  v.Optional("syscalls", s.syscalls);
}

SANDBOX_DESCRIBE(IntelRdt) {
  v.Optional("closID", s.clos_id);
  v.Optional("l3CacheSchema", s.l3_cache_schema);
  v.Optional("memBwSchema", s.mem_bw_schema);
  v.Optional("schemata", s.schemata);
  v.Optional("enableCMT", s.enable_cmt);
  v.Optional("enableMBM", s.enable_mbm);
  v.Optional("enableMonitoring", s.enable_monitoring);
}

SANDBOX_DESCRIBE(Personality) {
  v.Required("domain", s.domain);
  v.Optional("flags", s.flags);
}

SANDBOX_DESCRIBE(MemoryPolicy) {
  v.Required("mode", s.mode);
  v.Optional("nodes", s.nodes);
  v.Optional("flags", s.flags);
}

SANDBOX_DESCRIBE(NetDevice) { v.Optional("name", s.name); }

SANDBOX_DESCRIBE(Linux) {
  v.Optional("namespaces", s.namespaces);
  v.Optional("uidMappings", s.uid_mappings);
  v.Optional("gidMappings", s.gid_mappings);
  v.Optional("timeOffsets", s.time_offsets);
  v.Optional("devices", s.devices);
  v.Optional("cgroupsPath", s.cgroups_path);
  v.Optional("resources", s.resources);
  v.Optional("rootfsPropagation", s.rootfs_propagation);
  v.Optional("seccomp", s.seccomp);
  v.Optional("sysctl", s.sysctl);
  v.Optional("maskedPaths", s.masked_paths);
  v.Optional("readonlyPaths", s.readonly_paths);
  v.Optional("mountLabel", s.mount_label);
  v.Optional("intelRdt", s.intel_rdt);
  v.Optional("personality", s.personality);
  v.Optional("memoryPolicy", s.memory_policy);
  v.Optional("netDevices", s.net_devices);
}

SANDBOX_DESCRIBE(VmHypervisor) {
  v.Required("path", s.path);
  v.Optional("parameters", s.parameters);
}

SANDBOX_DESCRIBE(VmKernel) {
  v.Required("path", s.path);
  v.Optional("parameters", s.parameters);
  v.Optional("initrd", s.initrd);
}

SANDBOX_DESCRIBE(VmImage) {
  v.Required("path", s.path);
  v.Required("format", s.format);
}

SANDBOX_DESCRIBE(VmHwConfig) {
  v.Optional("deviceTree", s.device_tree);
  v.Optional("vcpus", s.vcpus);
  v.Optional("memory", s.memory);
}

SANDBOX_DESCRIBE(Vm) {
  v.Optional("hypervisor", s.hypervisor);
  v.Required("kernel", s.kernel);
  v.Optional("image", s.image);
  v.Optional("hwConfig", s.hw_config);
}

SANDBOX_DESCRIBE(Platform) {
  v.Required("os", s.os);
  v.Required("arch", s.arch);
}

SANDBOX_DESCRIBE(Spec) {
  v.Required("ociVersion", s.oci_version);
  v.Optional("process", s.process);
  v.Optional("root", s.root);
  v.Optional("hostname", s.hostname);
  v.Optional("domainname", s.domainname);
  v.Optional("mounts", s.mounts);
  v.Optional("hooks", s.hooks);
  v.Optional("annotations", s.annotations);
  v.Optional("linux", s.linux);
  v.Optional("vm", s.vm);
  v.Optional("platform", s.platform);
  for (const char* other : {"windows", "solaris", "zos", "freebsd"}) v.Raw(other, s.other_platforms);
}

#undef SANDBOX_DESCRIBE

}  // namespace sandbox::oci::json_detail

namespace sandbox::oci {

FieldErrors ParseSpec(std::string_view text, Spec& out) {
  out = Spec();
  return json_detail::ParseDocument(text, out);
}

FieldErrors ParseProcess(std::string_view text, Process& out) {
  out = Process();
  return json_detail::ParseDocument(text, out);
}

FieldErrors ParseResources(std::string_view text, Resources& out) {
  out = Resources();
  return json_detail::ParseDocument(text, out);
}

FieldErrors ParseHooks(std::string_view text, Hooks& out) {
  out = Hooks();
  return json_detail::ParseDocument(text, out);
}

std::string SpecToJson(const Spec& spec, int indent) {
  return json_detail::Encode(spec).dump(indent);
}

std::string ProcessToJson(const Process& process) { return json_detail::Encode(process).dump(); }

std::string ResourcesToJson(const Resources& resources) { return json_detail::Encode(resources).dump(); }

std::string HooksToJson(const Hooks& hooks) { return json_detail::Encode(hooks).dump(); }

}  // namespace sandbox::oci
