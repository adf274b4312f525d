#include "common/oci/spec_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/file_util.h"

namespace sandbox::oci {
namespace {

using Json = nlohmann::json;

std::string FullConfigText() {
  return ReadFile(std::string(SANDBOX_OCI_TESTDATA) + "/full_config.json").value();
}

Spec ParseOrDie(const std::string& text) {
  Spec spec;
  FieldErrors errors = ParseSpec(text, spec);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors[0].ToString());
  return spec;
}

TEST(SpecJson, FullConfigParsesEveryField) {
  Spec spec = ParseOrDie(FullConfigText());
  EXPECT_EQ(spec.oci_version, "1.3.0");
  ASSERT_TRUE(spec.process);
  EXPECT_EQ(spec.process->console_size->width, 80u);
  EXPECT_EQ(spec.process->user.umask, 18u);
  EXPECT_EQ(spec.process->user.additional_gids->at(1), 6u);
  EXPECT_EQ(spec.process->capabilities->ambient->at(0), "CAP_NET_BIND_SERVICE");
  EXPECT_EQ(spec.process->rlimits->at(1).soft, 512u);
  EXPECT_EQ(spec.process->io_priority->io_class, "IOPRIO_CLASS_BE");
  EXPECT_EQ(spec.process->scheduler->nice, 5);
  EXPECT_EQ(spec.process->exec_cpu_affinity->final_cpus, "0-1");
  EXPECT_EQ(spec.root->readonly, true);
  EXPECT_EQ(spec.mounts->at(1).options->at(3), "size=65536k");
  EXPECT_EQ(spec.hooks->create_runtime->at(0).timeout, 5);
  EXPECT_EQ(spec.hooks->poststop->at(0).args->at(1), "-f");
  const Linux& linux = *spec.linux;
  EXPECT_EQ(linux.namespaces->size(), 8u);
  EXPECT_EQ(linux.uid_mappings->at(0).host_id, 1000u);
  EXPECT_EQ(linux.time_offsets->at("boottime").secs, -5);
  EXPECT_EQ(linux.devices->at(0).file_mode, 438u);
  EXPECT_FALSE(linux.devices->at(2).major.has_value());
  EXPECT_EQ(linux.resources->memory->limit, 536870912);
  EXPECT_EQ(linux.resources->cpu->cpus, "2-3");
  EXPECT_EQ(linux.resources->pids->limit, 32771);
  EXPECT_EQ(linux.resources->block_io->throttle_write_iops_device->at(0).minor, 16);
  EXPECT_EQ(linux.resources->hugepage_limits->at(0).limit, 9223372036854771712ull);
  EXPECT_EQ(linux.resources->network->priorities->at(1).priority, 1000u);
  EXPECT_EQ(linux.resources->rdma->at("mlx4_0").hca_objects, 1000u);
  EXPECT_FALSE(linux.resources->rdma->at("mlx4_0").hca_handles.has_value());
  EXPECT_EQ(linux.resources->unified->at("memory.high"), "1073741824");
  EXPECT_EQ(linux.seccomp->syscalls->at(2).args->at(1).value_two, 8u);
  EXPECT_EQ(linux.sysctl->at("net.core.somaxconn"), "256");
  EXPECT_EQ(linux.personality->domain, "LINUX");
  EXPECT_EQ(linux.memory_policy->nodes, "0-3");
  EXPECT_EQ(spec.vm->kernel.initrd, "/path/to/initrd.img");
  EXPECT_EQ(spec.vm->hw_config->vcpus, 2u);
  EXPECT_EQ(spec.platform->arch, "amd64");
  EXPECT_EQ(spec.unknown.count("com.example.unknownTopLevel"), 1u);
}

TEST(SpecJson, FullConfigRoundTripsLosslessly) {
  std::string text = FullConfigText();
  Spec spec = ParseOrDie(text);
  Json original = Json::parse(text);
  Json serialised = Json::parse(SpecToJson(spec));
  EXPECT_EQ(original, serialised) << Json::diff(original, serialised).dump(2);
  // And a second trip is a fixed point.
  EXPECT_EQ(SpecToJson(ParseOrDie(SpecToJson(spec))), SpecToJson(spec));
}

TEST(SpecJson, ProcessAndResourcesAloneRoundTripAsTheirConfigJsonObjects) {
  const Spec spec = ParseOrDie(FullConfigText());
  const Json original = Json::parse(FullConfigText());
  EXPECT_EQ(Json::parse(ProcessToJson(*spec.process)), original["process"]);
  EXPECT_EQ(Json::parse(ResourcesToJson(*spec.linux->resources)), original["linux"]["resources"]);
  Process process;
  ASSERT_TRUE(ParseProcess(ProcessToJson(*spec.process), process).empty());
  EXPECT_EQ(ProcessToJson(process), ProcessToJson(*spec.process));
  Resources resources;
  ASSERT_TRUE(ParseResources(ResourcesToJson(*spec.linux->resources), resources).empty());
  EXPECT_EQ(ResourcesToJson(resources), ResourcesToJson(*spec.linux->resources));
}

TEST(SpecJson, SectionsThatValidationRejectsStillRoundTrip) {
  Json config = {
      {"ociVersion", "1.3.0"},
      {"linux",
       {{"intelRdt", {{"closID", "guaranteed_group"}, {"schemata", {"L3:0=ff"}}, {"enableMonitoring", true}}},
        {"netDevices", {{"eth1", {{"name", "ctr_eth1"}}}, {"eth2", Json::object()}}}}},
      {"windows", {{"layerFolders", {"C:\\layers"}}}},
  };
  Spec spec = ParseOrDie(config.dump());
  EXPECT_EQ(spec.linux->intel_rdt->schemata->at(0), "L3:0=ff");
  EXPECT_EQ(spec.linux->net_devices->at("eth1").name, "ctr_eth1");
  EXPECT_EQ(spec.other_platforms.count("windows"), 1u);
  EXPECT_EQ(Json::parse(SpecToJson(spec)), config);
}

TEST(SpecJson, UnknownPropertiesArePreservedAtEveryLevel) {
  Json config = {
      {"ociVersion", "1.0.2"},
      {"x-top", 1},
      {"process", {{"cwd", "/"}, {"user", {{"uid", 0}, {"gid", 0}, {"x-user", "u"}}}, {"x-proc", {1, 2}}}},
      {"linux", {{"resources", {{"memory", {{"x-mem", nullptr}}}}}}},
  };
  Spec spec = ParseOrDie(config.dump());
  EXPECT_EQ(spec.process->user.unknown.at("x-user"), "\"u\"");
  EXPECT_EQ(Json::parse(SpecToJson(spec)), config);
}

TEST(SpecJson, MalformedJsonIsOneClearError) {
  Spec spec;
  FieldErrors errors = ParseSpec("{\"ociVersion\": ", spec);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "");
  EXPECT_NE(errors[0].message.find("malformed JSON"), std::string::npos);
}

// Found by common/oci/fuzz: nlohmann throws out_of_range, not parse_error,
// for a number past double's range, and it once escaped and aborted the CLI.
TEST(SpecJson, ANumberPastDoublesRangeIsMalformedJson) {
  Spec spec;
  FieldErrors errors = ParseSpec(R"({"ociVersion": "1.2.0", "process": {"user": {"uid": 1e400}}})", spec);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("malformed JSON"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find("number overflow"), std::string::npos) << errors[0].message;
}

TEST(SpecJson, TopLevelMustBeAnObject) {
  Spec spec;
  FieldErrors errors = ParseSpec("[1,2]", spec);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "expected object, got array");
}

struct TypeErrorCase {
  const char* name;
  const char* json;
  const char* path;
  const char* message;
};

void PrintTo(const TypeErrorCase& c, std::ostream* os) { *os << c.name; }

class SpecJsonTypeErrors : public ::testing::TestWithParam<TypeErrorCase> {};

TEST_P(SpecJsonTypeErrors, NamesThePathAndTheProblem) {
  const TypeErrorCase& c = GetParam();
  Spec spec;
  FieldErrors errors = ParseSpec(c.json, spec);
  ASSERT_FALSE(errors.empty());
  bool found = false;
  for (const FieldError& error : errors) {
    if (error.path == c.path && error.message.find(c.message) != std::string::npos) found = true;
  }
  std::string all;
  for (const FieldError& error : errors) all += error.ToString() + "\n";
  EXPECT_TRUE(found) << "want " << c.path << ": " << c.message << "\ngot:\n" << all;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SpecJsonTypeErrors,
    ::testing::Values(
        TypeErrorCase{"MissingVersion", R"({})", "ociVersion", "required property is missing"},
        TypeErrorCase{"VersionNumber", R"({"ociVersion": 1})", "ociVersion", "expected string, got integer"},
        TypeErrorCase{"ArgsString", R"({"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"args":"sh"}})",
                      "process.args", "expected array, got string"},
        TypeErrorCase{"ArgsElement", R"({"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["sh",3]}})",
                      "process.args[1]", "expected string, got integer"},
        TypeErrorCase{"UidNegative", R"({"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":-1,"gid":0}}})",
                      "process.user.uid", "out of range"},
        TypeErrorCase{"UidFraction", R"({"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":1.5,"gid":0}}})",
                      "process.user.uid", "expected integer, got number"},
        TypeErrorCase{"MissingCwd", R"({"ociVersion":"1.0.0","process":{"user":{"uid":0,"gid":0}}})",
                      "process.cwd", "required property is missing"},
        TypeErrorCase{"TerminalString", R"({"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"terminal":"yes"}})",
                      "process.terminal", "expected boolean, got string"},
        TypeErrorCase{"RootString", R"({"ociVersion":"1.0.0","root":"rootfs"})", "root", "expected object, got string"},
        TypeErrorCase{"NamespaceType", R"({"ociVersion":"1.0.0","linux":{"namespaces":[{"type":"pid"},{"path":"/x"}]}})",
                      "linux.namespaces[1].type", "required property is missing"},
        TypeErrorCase{"SysctlValue", R"({"ociVersion":"1.0.0","linux":{"sysctl":{"net.core.somaxconn":256}}})",
                      "linux.sysctl[\"net.core.somaxconn\"]", "expected string, got integer"},
        TypeErrorCase{"WeightTooBig", R"({"ociVersion":"1.0.0","linux":{"resources":{"blockIO":{"weight":70000}}}})",
                      "linux.resources.blockIO.weight", "out of range"},
        TypeErrorCase{"AnnotationsArray", R"({"ociVersion":"1.0.0","annotations":["a"]})", "annotations",
                      "expected object, got array"},
        TypeErrorCase{"HookPath", R"({"ociVersion":"1.0.0","hooks":{"poststop":[{"args":["x"]}]}})",
                      "hooks.poststop[0].path", "required property is missing"},
        TypeErrorCase{"SeccompDefault", R"({"ociVersion":"1.0.0","linux":{"seccomp":{"syscalls":[]}}})",
                      "linux.seccomp.defaultAction", "required property is missing"}),
    [](const ::testing::TestParamInfo<TypeErrorCase>& info) { return std::string(info.param.name); });

TEST(SpecJson, CollectsEveryTypeErrorNotJustTheFirst) {
  Spec spec;
  FieldErrors errors = ParseSpec(
      R"({"ociVersion": 1, "hostname": 2, "process": {"cwd": 3, "user": {"uid": "a", "gid": 0}}})", spec);
  EXPECT_EQ(errors.size(), 4u);
}

}  // namespace
}  // namespace sandbox::oci
