#include "common/oci/validate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/oci/default_spec.h"
#include "common/oci/spec_json.h"

namespace sandbox::oci {
namespace {

using Json = nlohmann::json;

FieldErrors ParseAndValidate(const Json& config, const ValidateOptions& options = {}) {
  Spec spec;
  FieldErrors errors = ParseSpec(config.dump(), spec);
  if (!errors.empty()) return errors;
  return ValidateSpec(spec, options);
}

std::string Describe(const FieldErrors& errors) {
  std::string all;
  for (const FieldError& error : errors) all += "  " + error.ToString() + "\n";
  return all;
}

// A valid base that every invalid case below breaks in exactly one place.
Json BaseConfig() {
  return Json::parse(R"({
    "ociVersion": "1.3.0",
    "root": {"path": "rootfs"},
    "hostname": "box",
    "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                "env": ["PATH=/bin"], "capabilities": {"bounding": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "hooks": {"prestart": [{"path": "/bin/hook"}]},
    "linux": {
      "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"},
                     {"type": "network"}],
      "devices": [{"type": "c", "path": "/dev/null", "major": 1, "minor": 3}],
      "resources": {"memory": {"limit": 1000000, "reservation": 500000},
                    "cpu": {"quota": 50000, "period": 100000},
                    "devices": [{"allow": false, "access": "rwm"}]},
      "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
      "sysctl": {"net.ipv4.ip_forward": "1"},
      "maskedPaths": ["/proc/kcore"],
      "readonlyPaths": ["/proc/sys"]
    }
  })");
}

TEST(Validate, BaseConfigIsValid) {
  FieldErrors errors = ParseAndValidate(BaseConfig());
  EXPECT_TRUE(errors.empty()) << Describe(errors);
}

TEST(Validate, FullExampleIsValid) {
  Json full = Json::parse(ReadFile(std::string(SANDBOX_OCI_TESTDATA) + "/full_config.json").value());
  FieldErrors errors = ParseAndValidate(full);
  EXPECT_TRUE(errors.empty()) << Describe(errors);
}

TEST(Validate, DefaultSpecsAreValid) {
  for (bool rootless : {false, true}) {
    Spec spec = DefaultSpec({.rootless = rootless, .host_uid = 1000, .host_gid = 1000});
    FieldErrors errors = ValidateSpec(spec, {});
    EXPECT_TRUE(errors.empty()) << "rootless=" << rootless << "\n" << Describe(errors);
  }
}

struct Edit {
  std::string pointer;  // JSON pointer into BaseConfig()
  Json value;           // nullptr: remove the property
};

struct InvalidCase {
  std::string name;
  std::vector<Edit> edits;
  std::string path;      // the exact JSON path the error must name
  std::string fragment;  // part of the message
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class ValidateInvalid : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ValidateInvalid, ReportsExactPath) {
  const InvalidCase& c = GetParam();
  Json config = BaseConfig();
  for (const Edit& edit : c.edits) {
    Json::json_pointer pointer(edit.pointer);
    if (edit.value.is_null()) {
      config[pointer.parent_pointer()].erase(pointer.back());
    } else {
      config[pointer] = edit.value;
    }
  }
  FieldErrors errors = ParseAndValidate(config);
  bool found = false;
  for (const FieldError& error : errors) {
    if (error.path == c.path && error.message.find(c.fragment) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << "want " << c.path << ": ..." << c.fragment << "...\ngot:\n" << Describe(errors);
}

Json J(const char* text) { return Json::parse(text); }

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateInvalid,
    ::testing::Values(
        InvalidCase{"VersionNotSemver", {{"/ociVersion", "1.0"}}, "ociVersion", "not a SemVer"},
        InvalidCase{"VersionTooNew", {{"/ociVersion", "1.4.0"}}, "ociVersion", "unsupported version"},
        InvalidCase{"VersionMajor2", {{"/ociVersion", "2.0.0"}}, "ociVersion", "unsupported version"},
        InvalidCase{"VersionPre1", {{"/ociVersion", "0.6.0"}}, "ociVersion", "unsupported version"},
        InvalidCase{"VersionRc", {{"/ociVersion", "1.0.0-rc5"}}, "ociVersion", "unsupported version"},
        InvalidCase{"RootMissing", {{"/root", nullptr}}, "root", "required"},
        InvalidCase{"RootPathEmpty", {{"/root/path", ""}}, "root.path", "must not be empty"},
        InvalidCase{"ProcessMissing", {{"/process", nullptr}}, "process", "required"},
        InvalidCase{"ArgsEmpty", {{"/process/args", J("[]")}}, "process.args", "at least"},
        InvalidCase{"ArgsMissing", {{"/process/args", nullptr}}, "process.args", "at least"},
        InvalidCase{"ArgZeroEmpty", {{"/process/args", J(R"([""])")}}, "process.args[0]", "must not be empty"},
        InvalidCase{"CwdRelative", {{"/process/cwd", "tmp"}}, "process.cwd", "absolute"},
        InvalidCase{"EnvNoEquals", {{"/process/env/0", "PATH"}}, "process.env[0]", "KEY=VALUE"},
        InvalidCase{"EnvEmptyKey", {{"/process/env/0", "=x"}}, "process.env[0]", "KEY=VALUE"},
        InvalidCase{"CapUnknown", {{"/process/capabilities/bounding/0", "CAP_FLY"}},
                    "process.capabilities.bounding[0]", "unknown capability \"CAP_FLY\""},
        InvalidCase{"CapAmbientUnknown", {{"/process/capabilities/ambient", J(R"(["CAP_KILL","kill"])")}},
                    "process.capabilities.ambient[1]", "unknown capability"},
        InvalidCase{"RlimitType", {{"/process/rlimits/0/type", "RLIMIT_FOO"}}, "process.rlimits[0].type",
                    "unknown rlimit type"},
        InvalidCase{"RlimitSoftAboveHard", {{"/process/rlimits/0/soft", 30}}, "process.rlimits[0].soft",
                    "exceeds hard limit"},
        InvalidCase{"RlimitDuplicate",
                    {{"/process/rlimits/1", J(R"({"type":"RLIMIT_NOFILE","soft":1,"hard":1})")}},
                    "process.rlimits[1].type", "duplicate"},
        InvalidCase{"Umask", {{"/process/user/umask", 4096}}, "process.user.umask", "at most 0777"},
        InvalidCase{"OomScore", {{"/process/oomScoreAdj", 1001}}, "process.oomScoreAdj", "[-1000, 1000]"},
        InvalidCase{"IoPriorityClass", {{"/process/ioPriority", J(R"({"class":"IOPRIO_CLASS_X"})")}},
                    "process.ioPriority.class", "unknown class"},
        InvalidCase{"IoPriorityLevel", {{"/process/ioPriority", J(R"({"class":"IOPRIO_CLASS_BE","priority":8})")}},
                    "process.ioPriority.priority", "[0, 7]"},
        InvalidCase{"SchedulerPolicy", {{"/process/scheduler", J(R"({"policy":"SCHED_FAST"})")}},
                    "process.scheduler.policy", "unknown policy"},
        InvalidCase{"SchedulerNice", {{"/process/scheduler", J(R"({"policy":"SCHED_OTHER","nice":40})")}},
                    "process.scheduler.nice", "[-20, 19]"},
        InvalidCase{"SchedulerDeadline",
                    {{"/process/scheduler", J(R"({"policy":"SCHED_DEADLINE","runtime":10,"deadline":5,"period":20})")}},
                    "process.scheduler", "runtime <= deadline"},
        InvalidCase{"CpuAffinity", {{"/process/execCPUAffinity", J(R"({"initial":"3-1"})")}},
                    "process.execCPUAffinity.initial", "CPU list"},
        InvalidCase{"CommandLineWindows", {{"/process/commandLine", "cmd.exe"}}, "process.commandLine", "Windows"},
        InvalidCase{"HostnameWithoutUts", {{"/linux/namespaces/2", J(R"({"type":"cgroup"})")}}, "hostname",
                    "uts namespace"},
        InvalidCase{"MountRelativeOldSpec", {{"/ociVersion", "1.1.0"}, {"/mounts/0/destination", "proc"}},
                    "mounts[0].destination", "absolute path before runtime-spec 1.2.0"},
        InvalidCase{"MountDotDot", {{"/mounts/0/destination", "/proc/../etc"}}, "mounts[0].destination", ".."},
        InvalidCase{"MountBindNoSource",
                    {{"/mounts/0", J(R"({"destination":"/data","options":["rbind"]})")}}, "mounts[0].source",
                    "bind mount"},
        InvalidCase{"MountIdmap",
                    {{"/mounts/0", J(R"({"destination":"/d","source":"/s","options":["bind","idmap"]})")}},
                    "mounts[0].options", "idmapped mounts"},
        InvalidCase{"HookRelative", {{"/hooks/prestart/0/path", "hook"}}, "hooks.prestart[0].path", "absolute"},
        InvalidCase{"HookTimeoutZero", {{"/hooks/poststop", J(R"([{"path":"/x","timeout":0}])")}},
                    "hooks.poststop[0].timeout", "greater than zero"},
        InvalidCase{"HookEnv", {{"/hooks/prestart/0/env", J(R"(["NOEQUALS"])")}}, "hooks.prestart[0].env[0]",
                    "KEY=VALUE"},
        InvalidCase{"NamespaceUnknown", {{"/linux/namespaces/0/type", "foo"}}, "linux.namespaces[0].type",
                    "unknown namespace type \"foo\""},
        InvalidCase{"NamespaceDuplicate", {{"/linux/namespaces/1/type", "pid"}}, "linux.namespaces[1].type",
                    "duplicate namespace type"},
        InvalidCase{"NamespacePathRelative", {{"/linux/namespaces/4/path", "proc/1/ns/net"}},
                    "linux.namespaces[4].path", "absolute"},
        InvalidCase{"UserNsWithoutMappings", {{"/linux/namespaces/5", J(R"({"type":"user"})")}},
                    "linux.uidMappings", "needs uid mappings"},
        InvalidCase{"MappingsWithoutUserNs",
                    {{"/linux/uidMappings", J(R"([{"containerID":0,"hostID":1000,"size":1}])")}},
                    "linux.uidMappings", "need a user namespace"},
        InvalidCase{"MappingZeroSize",
                    {{"/linux/namespaces/5", J(R"({"type":"user"})")},
                     {"/linux/uidMappings", J(R"([{"containerID":0,"hostID":1000,"size":0}])")},
                     {"/linux/gidMappings", J(R"([{"containerID":0,"hostID":1000,"size":1}])")}},
                    "linux.uidMappings[0].size", "greater than 0"},
        InvalidCase{"TimeOffsetsWithoutTimeNs", {{"/linux/timeOffsets", J(R"({"monotonic":{"secs":1}})")}},
                    "linux.timeOffsets", "time namespace"},
        InvalidCase{"TimeOffsetsClock",
                    {{"/linux/namespaces/5", J(R"({"type":"time"})")},
                     {"/linux/timeOffsets", J(R"({"realtime":{"secs":1}})")}},
                    "linux.timeOffsets[\"realtime\"]", "unknown clock"},
        InvalidCase{"DeviceType", {{"/linux/devices/0/type", "x"}}, "linux.devices[0].type", "unknown device type"},
        InvalidCase{"DeviceNoMajor", {{"/linux/devices/0/major", nullptr}}, "linux.devices[0]", "major and minor"},
        InvalidCase{"DevicePath", {{"/linux/devices/0/path", "dev/null"}}, "linux.devices[0].path", "absolute"},
        InvalidCase{"DeviceMode", {{"/linux/devices/0/fileMode", 65535}}, "linux.devices[0].fileMode", "07777"},
        InvalidCase{"CgroupsPathDotDot", {{"/linux/cgroupsPath", "/a/../../b"}}, "linux.cgroupsPath", ".."},
        InvalidCase{"DeviceRuleAccess", {{"/linux/resources/devices/0/access", "rwx"}},
                    "linux.resources.devices[0].access", "r, w and m"},
        InvalidCase{"DeviceRuleType", {{"/linux/resources/devices/0/type", "p"}}, "linux.resources.devices[0].type",
                    "unknown type"},
        InvalidCase{"MemoryReservationAboveLimit", {{"/linux/resources/memory/reservation", 2000000}},
                    "linux.resources.memory.reservation", "exceeds limit"},
        InvalidCase{"MemorySwapBelowLimit", {{"/linux/resources/memory/swap", 500}},
                    "linux.resources.memory.swap", "below limit"},
        InvalidCase{"MemoryLimitNegative", {{"/linux/resources/memory/limit", -5}}, "linux.resources.memory.limit",
                    "-1 (unlimited)"},
        InvalidCase{"Swappiness", {{"/linux/resources/memory/swappiness", 101}},
                    "linux.resources.memory.swappiness", "at most 100"},
        InvalidCase{"CpuQuotaTiny", {{"/linux/resources/cpu/quota", 10}}, "linux.resources.cpu.quota",
                    "at least 1000"},
        InvalidCase{"CpuPeriod", {{"/linux/resources/cpu/period", 5000000}}, "linux.resources.cpu.period",
                    "[1000, 1000000]"},
        InvalidCase{"CpuShares", {{"/linux/resources/cpu/shares", 1}}, "linux.resources.cpu.shares", "[2, 262144]"},
        InvalidCase{"CpuSet", {{"/linux/resources/cpu/cpus", "0-a"}}, "linux.resources.cpu.cpus", "CPU list"},
        InvalidCase{"CpuSetHuge", {{"/linux/resources/cpu/cpus", "0-99999999999999999999"}},
                    "linux.resources.cpu.cpus", "is above 65535"},
        InvalidCase{"CpuMemsBackwards", {{"/linux/resources/cpu/mems", "1-0"}}, "linux.resources.cpu.mems",
                    "runs backwards"},
        InvalidCase{"CpuIdle", {{"/linux/resources/cpu/idle", 2}}, "linux.resources.cpu.idle", "0 or 1"},
        InvalidCase{"BlkioWeight", {{"/linux/resources/blockIO", J(R"({"weight":5})")}},
                    "linux.resources.blockIO.weight", "[10, 1000]"},
        InvalidCase{"HugepageSize", {{"/linux/resources/hugepageLimits", J(R"([{"pageSize":"2M","limit":1}])")}},
                    "linux.resources.hugepageLimits[0].pageSize", "size like 2MB"},
        InvalidCase{"UnifiedKey", {{"/linux/resources/unified", J(R"({"../memory.max":"1"})")}},
                    "linux.resources.unified[\"../memory.max\"]", "cgroup v2 file"},
        InvalidCase{"RootfsPropagation", {{"/linux/rootfsPropagation", "sideways"}}, "linux.rootfsPropagation",
                    "unknown propagation"},
        InvalidCase{"SeccompDefaultAction", {{"/linux/seccomp/defaultAction", "SCMP_ACT_MAYBE"}},
                    "linux.seccomp.defaultAction", "unknown action"},
        InvalidCase{"SeccompSyscallAction", {{"/linux/seccomp/syscalls/0/action", "ALLOW"}},
                    "linux.seccomp.syscalls[0].action", "unknown action"},
        InvalidCase{"SeccompErrnoOnAllow",
                    {{"/linux/seccomp/syscalls/0/action", "SCMP_ACT_ALLOW"}},
                    "linux.seccomp.syscalls[0].action", "errnoRet applies only"},
        InvalidCase{"SeccompArch", {{"/linux/seccomp/architectures", J(R"(["SCMP_ARCH_Z80"])")}},
                    "linux.seccomp.architectures[0]", "unknown architecture"},
        InvalidCase{"SeccompOperator", {{"/linux/seccomp/syscalls/0/args/0/op", "SCMP_CMP_ABOUT"}},
                    "linux.seccomp.syscalls[0].args[0].op", "unknown operator"},
        InvalidCase{"SeccompArgIndex", {{"/linux/seccomp/syscalls/0/args/0/index", 6}},
                    "linux.seccomp.syscalls[0].args[0].index", "[0, 5]"},
        InvalidCase{"SeccompFlag", {{"/linux/seccomp/flags", J(R"(["SECCOMP_FILTER_FLAG_FAST"])")}},
                    "linux.seccomp.flags[0]", "unknown flag"},
        InvalidCase{"SeccompWaitKillableRecv",
                    {{"/linux/seccomp/flags", J(R"(["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])")}},
                    "linux.seccomp.flags[1]", "no listener"},
        InvalidCase{"SeccompListenerMetadata", {{"/linux/seccomp/listenerMetadata", "pod=x"}},
                    "linux.seccomp.listenerMetadata", "no listenerPath"},
        InvalidCase{"MountTmpcopyup", {{"/mounts/0/options", J(R"(["nosuid","tmpcopyup"])")}}, "mounts[0].options",
                    "tmpcopyup is not supported"},
        InvalidCase{"SeccompNoNames", {{"/linux/seccomp/syscalls/0/names", J("[]")}},
                    "linux.seccomp.syscalls[0].names", "at least one"},
        InvalidCase{"SeccompListener", {{"/linux/seccomp/listenerPath", "/run/listener.sock"}},
                    "linux.seccomp.listenerPath", "not supported"},
        InvalidCase{"SysctlNotNamespaced", {{"/linux/sysctl", J(R"({"vm.swappiness":"10"})")}},
                    "linux.sysctl[\"vm.swappiness\"]", "not a namespaced sysctl"},
        InvalidCase{"SysctlNetWithoutNetNs",
                    {{"/linux/namespaces/4", J(R"({"type":"cgroup"})")}},
                    "linux.sysctl[\"net.ipv4.ip_forward\"]", "network namespace"},
        InvalidCase{"SysctlIpcWithoutIpcNs",
                    {{"/linux/namespaces/3", J(R"({"type":"cgroup"})")},
                     {"/linux/sysctl", J(R"({"kernel.shmmax":"1"})")}},
                    "linux.sysctl[\"kernel.shmmax\"]", "ipc namespace"},
        InvalidCase{"MaskedRelative", {{"/linux/maskedPaths/0", "proc/kcore"}}, "linux.maskedPaths[0]", "absolute"},
        InvalidCase{"ReadonlyRelative", {{"/linux/readonlyPaths/0", "proc"}}, "linux.readonlyPaths[0]",
                    "absolute"},
        InvalidCase{"IntelRdt", {{"/linux/intelRdt", J(R"({"closID":"x"})")}}, "linux.intelRdt", "microVM"},
        InvalidCase{"NetDevices", {{"/linux/netDevices", J(R"({"eth0":{}})")}}, "linux.netDevices", "not supported"},
        InvalidCase{"PersonalityDomain", {{"/linux/personality", J(R"({"domain":"BSD"})")}},
                    "linux.personality.domain", "unknown domain"},
        InvalidCase{"MemoryPolicyMode", {{"/linux/memoryPolicy", J(R"({"mode":"MPOL_RANDOM"})")}},
                    "linux.memoryPolicy.mode", "unknown mode"},
        InvalidCase{"MemoryPolicyNodes", {{"/linux/memoryPolicy", J(R"({"mode":"MPOL_BIND"})")}},
                    "linux.memoryPolicy.nodes", "required for MPOL_BIND"},
        InvalidCase{"MemoryPolicyFlag",
                    {{"/linux/memoryPolicy", J(R"({"mode":"MPOL_LOCAL","flags":["MPOL_F_FAST"]})")}},
                    "linux.memoryPolicy.flags[0]", "unknown flag"},
        InvalidCase{"VmHypervisor", {{"/vm", J(R"({"hypervisor":{"path":"/usr/bin/qemu"},"kernel":{"path":"/k"}})")}},
                    "vm.hypervisor", "sandbox-vmm"},
        InvalidCase{"VmKernelRelative", {{"/vm", J(R"({"kernel":{"path":"vmlinux"}})")}}, "vm.kernel.path",
                    "absolute"},
        InvalidCase{"VmHwConfigIomems",
                    {{"/vm", J(R"({"kernel":{"path":"/k"},"hwConfig":{"iomems":[{"firstMFN":1,"nrMFNs":1}]}})")}},
                    "vm.hwConfig.iomems", "passthrough"},
        InvalidCase{"PlatformOs", {{"/platform", J(R"({"os":"windows","arch":"amd64"})")}}, "platform.os",
                    "does not match"},
        InvalidCase{"PlatformArch", {{"/platform", J(R"({"os":"linux","arch":"s390x"})")}}, "platform.arch",
                    "does not match"},
        InvalidCase{"OtherPlatform", {{"/solaris", J(R"({"milestone":"x"})")}}, "solaris", "another platform"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

TEST(Validate, LsmFieldsAreAcceptedWithANote) {
  Json config = BaseConfig();
  config["process"]["apparmorProfile"] = "docker-default";
  config["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
  config["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
  EXPECT_TRUE(ParseAndValidate(config).empty());
  Spec spec;
  ASSERT_TRUE(ParseSpec(config.dump(), spec).empty());
  std::vector<std::string> notes = UnenforcedFieldNotes(spec);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_NE(notes[0].find("process.apparmorProfile \"docker-default\" is not enforced"), std::string::npos);
  EXPECT_NE(notes[2].find("linux.mountLabel"), std::string::npos);
  // An exec's process gets the same notes, and one for execCPUAffinity.initial.
  spec.process->exec_cpu_affinity = ExecCpuAffinity{.initial = "0", .final_cpus = "1"};
  notes = UnenforcedProcessFieldNotes(*spec.process);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_NE(notes[1].find("process.selinuxLabel"), std::string::npos);
  EXPECT_NE(notes[2].find("process.execCPUAffinity.initial \"0\" is not enforced"), std::string::npos) << notes[2];
  EXPECT_TRUE(UnenforcedFieldNotes(oci::DefaultSpec({})).empty());
}

TEST(Validate, RelativeMountDestinationAllowedFrom12) {
  Json config = BaseConfig();
  config["mounts"][0]["destination"] = "proc";
  EXPECT_TRUE(ParseAndValidate(config).empty());
}

TEST(Validate, CollectsAllErrors) {
  Json config = BaseConfig();
  config["process"]["cwd"] = "rel";
  config["linux"]["namespaces"][0]["type"] = "foo";
  config["hooks"]["prestart"][0]["path"] = "x";
  EXPECT_EQ(ParseAndValidate(config).size(), 3u) << Describe(ParseAndValidate(config));
}

TEST(Validate, RootPathMustExistInBundle) {
  TempDir temp = TempDir::CreateOrDie("/tmp/sandbox-validate-");
  const std::string& bundle = temp.path();
  FieldErrors errors = ParseAndValidate(BaseConfig(), {.bundle_dir = bundle});
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].path, "root.path");
  EXPECT_NE(errors[0].message.find("does not exist"), std::string::npos);

  ASSERT_TRUE(WriteFileAtomic(bundle + "/rootfs", "not a dir").ok());
  errors = ParseAndValidate(BaseConfig(), {.bundle_dir = bundle});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("not a directory"), std::string::npos);

  ASSERT_EQ(::unlink((bundle + "/rootfs").c_str()), 0);
  ASSERT_TRUE(MakeDirs(bundle + "/rootfs").ok());
  EXPECT_TRUE(ParseAndValidate(BaseConfig(), {.bundle_dir = bundle}).empty());
}

}  // namespace
}  // namespace sandbox::oci
