#include "common/oci/features.h"

#include <algorithm>
#include <initializer_list>

#include <nlohmann/json.hpp>

#include "common/oci/names.h"
#include "common/oci/version.h"

namespace sandbox::oci {

std::string FeaturesJson(const FeaturesOptions& options, int indent) {
  using Json = nlohmann::json;
  Json actions = Json::array();
  for (const std::string& action : SeccompActions()) {
    if (action != "SCMP_ACT_NOTIFY") actions.push_back(action);  // rejected by validation
  }
  // What is refused by field is not advertised: idmapped or tmpcopyup mounts, the seccomp
  // notification flag, rdma limits (the guest kernel has no rdma controller). The guest kernel has no NUMA, so MPOL_DEFAULT is the one memory
  // policy it can honour.
  auto without = [](const std::vector<std::string>& names, std::initializer_list<const char*> refused) {
    Json kept = Json::array();
    for (const std::string& name : names) {
      if (std::none_of(refused.begin(), refused.end(), [&](const char* word) { return name == word; })) {
        kept.push_back(name);
      }
    }
    return kept;
  };
  Json features = {
      {"ociVersionMin", std::string(kOciVersionMin)},
      {"ociVersionMax", std::string(kOciVersion)},
      {"hooks", HookNames()},
      {"mountOptions", without(MountOptions(), {"tmpcopyup", "idmap", "ridmap"})},
      {"linux",
       {
           {"namespaces", NamespaceTypes()},
           {"capabilities", CapabilityNames()},
           // The guest kernel runs pure cgroup v2; v1 and systemd drivers do not exist there.
           {"cgroup", {{"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
           {"seccomp",
            {{"enabled", true},
             {"actions", actions},
             {"operators", SeccompOperators()},
             {"archs", SeccompArchitectures()},
             {"knownFlags", SeccompFlags()},
             {"supportedFlags", without(SeccompFlags(), {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"})}}},
           // The VM boundary replaces host LSMs; the guest kernel has none.
           {"apparmor", {{"enabled", false}}},
           {"selinux", {{"enabled", false}}},
           {"intelRdt", {{"enabled", false}, {"schemata", false}, {"enableMonitoring", false}}},
           {"mountExtensions", {{"idmap", {{"enabled", false}}}}},
           {"netDevices", {{"enabled", false}}},
           {"memoryPolicy", {{"modes", {"MPOL_DEFAULT"}}, {"flags", Json::array()}}},
       }},
      {"annotations", {{"io.github.sandbox-rt.version", options.runtime_version}}},
      {"potentiallyUnsafeConfigAnnotations", Json::array()},
  };
  return features.dump(indent);
}

}  // namespace sandbox::oci
