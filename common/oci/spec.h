// The OCI runtime-spec configuration (config.json), versions 1.0.0 to 1.3.x,
// as plain structs. Optional fields are std::optional so that absent and empty
// stay distinct and a parse/serialise round trip is lossless.
//
// This header does not depend on the JSON library: parsing and serialising live
// in spec_json.h, checks in validate.h. Every object keeps the properties it
// does not know in `unknown` (property name -> raw JSON text), because the spec
// requires runtimes to ignore, and we choose to preserve, unknown properties.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sandbox::oci {

using UnknownFields = std::map<std::string, std::string>;
using StringList = std::vector<std::string>;
using StringMap = std::map<std::string, std::string>;

struct IdMapping {
  uint32_t container_id = 0;  // containerID
  uint32_t host_id = 0;       // hostID
  uint32_t size = 0;
  UnknownFields unknown;
};

struct Root {
  std::string path;
  std::optional<bool> readonly;
  UnknownFields unknown;
};

struct Mount {
  std::string destination;
  std::optional<std::string> type;
  std::optional<std::string> source;
  std::optional<StringList> options;
  std::optional<std::vector<IdMapping>> uid_mappings;
  std::optional<std::vector<IdMapping>> gid_mappings;
  UnknownFields unknown;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
  UnknownFields unknown;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::optional<std::vector<uint32_t>> additional_gids;
  std::optional<std::string> username;  // Windows only
  UnknownFields unknown;
};

struct Capabilities {
  std::optional<StringList> bounding;
  std::optional<StringList> effective;
  std::optional<StringList> inheritable;
  std::optional<StringList> permitted;
  std::optional<StringList> ambient;
  UnknownFields unknown;
};

struct Rlimit {
  std::string type;
  uint64_t soft = 0;
  uint64_t hard = 0;
  UnknownFields unknown;
};

struct IoPriority {
  std::string io_class;  // "class"
  std::optional<int32_t> priority;
  UnknownFields unknown;
};

struct Scheduler {
  std::string policy;
  std::optional<int32_t> nice;
  std::optional<int32_t> priority;
  std::optional<StringList> flags;
  std::optional<uint64_t> runtime;
  std::optional<uint64_t> deadline;
  std::optional<uint64_t> period;
  UnknownFields unknown;
};

struct ExecCpuAffinity {
  std::optional<std::string> initial;
  std::optional<std::string> final_cpus;  // "final"
  UnknownFields unknown;
};

struct Process {
  std::optional<bool> terminal;
  std::optional<ConsoleSize> console_size;
  User user;
  std::optional<StringList> args;
  std::optional<std::string> command_line;  // Windows only
  std::optional<StringList> env;
  std::string cwd;
  std::optional<Capabilities> capabilities;
  std::optional<std::vector<Rlimit>> rlimits;
  std::optional<bool> no_new_privileges;
  std::optional<std::string> apparmor_profile;
  std::optional<std::string> selinux_label;
  std::optional<int32_t> oom_score_adj;
  std::optional<IoPriority> io_priority;
  std::optional<Scheduler> scheduler;
  std::optional<ExecCpuAffinity> exec_cpu_affinity;
  UnknownFields unknown;
};

struct Hook {
  std::string path;
  std::optional<StringList> args;
  std::optional<StringList> env;
  std::optional<int64_t> timeout;
  UnknownFields unknown;
};

struct Hooks {
  std::optional<std::vector<Hook>> prestart;
  std::optional<std::vector<Hook>> create_runtime;
  std::optional<std::vector<Hook>> create_container;
  std::optional<std::vector<Hook>> start_container;
  std::optional<std::vector<Hook>> poststart;
  std::optional<std::vector<Hook>> poststop;
  UnknownFields unknown;
};

struct Namespace {
  std::string type;
  std::optional<std::string> path;
  UnknownFields unknown;
};

struct TimeOffset {
  std::optional<int64_t> secs;
  std::optional<uint32_t> nanosecs;
  UnknownFields unknown;
};

struct Device {
  std::string type;
  std::string path;
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  UnknownFields unknown;
};

struct DeviceRule {
  bool allow = false;
  std::optional<std::string> type;
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::optional<std::string> access;
  UnknownFields unknown;
};

struct MemoryResources {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
  UnknownFields unknown;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::optional<std::string> cpus;
  std::optional<std::string> mems;
  std::optional<int64_t> idle;
  UnknownFields unknown;
};

struct PidsResources {
  std::optional<int64_t> limit;
  UnknownFields unknown;
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
  UnknownFields unknown;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;
  UnknownFields unknown;
};

struct BlockIoResources {
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
  std::optional<std::vector<WeightDevice>> weight_device;
  std::optional<std::vector<ThrottleDevice>> throttle_read_bps_device;
  std::optional<std::vector<ThrottleDevice>> throttle_write_bps_device;
  std::optional<std::vector<ThrottleDevice>> throttle_read_iops_device;
  std::optional<std::vector<ThrottleDevice>> throttle_write_iops_device;
  UnknownFields unknown;
};

struct HugepageLimit {
  std::string page_size;
  uint64_t limit = 0;
  UnknownFields unknown;
};

struct InterfacePriority {
  std::string name;
  uint32_t priority = 0;
  UnknownFields unknown;
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::optional<std::vector<InterfacePriority>> priorities;
  UnknownFields unknown;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles;
  std::optional<uint32_t> hca_objects;
  UnknownFields unknown;
};

struct Resources {
  std::optional<std::vector<DeviceRule>> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::optional<std::vector<HugepageLimit>> hugepage_limits;
  std::optional<NetworkResources> network;
  std::optional<std::map<std::string, RdmaLimit>> rdma;
  std::optional<StringMap> unified;
  UnknownFields unknown;
};

struct SyscallArg {
  uint32_t index = 0;
  uint64_t value = 0;
  std::optional<uint64_t> value_two;
  std::string op;
  UnknownFields unknown;
};

struct Syscall {
  StringList names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::optional<std::vector<SyscallArg>> args;
  UnknownFields unknown;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::optional<StringList> architectures;
  std::optional<StringList> flags;
  std::optional<std::string> listener_path;
  std::optional<std::string> listener_metadata;
  std::optional<std::vector<Syscall>> syscalls;
  UnknownFields unknown;
};

struct IntelRdt {
  std::optional<std::string> clos_id;
  std::optional<std::string> l3_cache_schema;
  std::optional<std::string> mem_bw_schema;
  std::optional<StringList> schemata;
  std::optional<bool> enable_cmt;
  std::optional<bool> enable_mbm;
  std::optional<bool> enable_monitoring;
  UnknownFields unknown;
};

struct Personality {
  std::string domain;
  std::optional<StringList> flags;
  UnknownFields unknown;
};

struct MemoryPolicy {
  std::string mode;
  std::optional<std::string> nodes;
  std::optional<StringList> flags;
  UnknownFields unknown;
};

struct NetDevice {
  std::optional<std::string> name;
  UnknownFields unknown;
};

struct Linux {
  std::optional<std::vector<Namespace>> namespaces;
  std::optional<std::vector<IdMapping>> uid_mappings;
  std::optional<std::vector<IdMapping>> gid_mappings;
  std::optional<std::map<std::string, TimeOffset>> time_offsets;
  std::optional<std::vector<Device>> devices;
  std::optional<std::string> cgroups_path;
  std::optional<Resources> resources;
  std::optional<std::string> rootfs_propagation;
  std::optional<Seccomp> seccomp;
  std::optional<StringMap> sysctl;
  std::optional<StringList> masked_paths;
  std::optional<StringList> readonly_paths;
  std::optional<std::string> mount_label;
  std::optional<IntelRdt> intel_rdt;
  std::optional<Personality> personality;
  std::optional<MemoryPolicy> memory_policy;
  std::optional<std::map<std::string, NetDevice>> net_devices;
  UnknownFields unknown;
};

struct VmHypervisor {
  std::string path;
  std::optional<StringList> parameters;
  UnknownFields unknown;
};

struct VmKernel {
  std::string path;
  std::optional<StringList> parameters;
  std::optional<std::string> initrd;
  UnknownFields unknown;
};

struct VmImage {
  std::string path;
  std::string format;
  UnknownFields unknown;
};

struct VmHwConfig {
  std::optional<std::string> device_tree;
  std::optional<uint32_t> vcpus;
  std::optional<uint64_t> memory;
  UnknownFields unknown;
};

struct Vm {
  std::optional<VmHypervisor> hypervisor;
  VmKernel kernel;
  std::optional<VmImage> image;
  std::optional<VmHwConfig> hw_config;
  UnknownFields unknown;
};

// Some pre-1.0 configs carry the target platform; it is checked against the host.
struct Platform {
  std::string os;
  std::string arch;
  UnknownFields unknown;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::optional<Root> root;
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  std::optional<std::vector<Mount>> mounts;
  std::optional<Hooks> hooks;
  std::optional<StringMap> annotations;
  std::optional<Linux> linux;
  std::optional<Vm> vm;
  std::optional<Platform> platform;
  // Sections for other platforms, kept as raw JSON so validation can reject them.
  std::map<std::string, std::string> other_platforms;
  UnknownFields unknown;
};

}  // namespace sandbox::oci
