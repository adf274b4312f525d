// The closed vocabularies of the runtime spec, shared by validation and by the
// `features` document so that what we accept and what we advertise agree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sandbox::oci {

const std::vector<std::string>& NamespaceTypes();      // pid, network, ...
const std::vector<std::string>& CapabilityNames();     // CAP_CHOWN ... CAP_CHECKPOINT_RESTORE
const std::vector<std::string>& RlimitTypes();         // RLIMIT_AS ...
const std::vector<std::string>& SeccompActions();      // SCMP_ACT_*
const std::vector<std::string>& SeccompArchitectures();  // SCMP_ARCH_*
const std::vector<std::string>& SeccompOperators();    // SCMP_CMP_*
const std::vector<std::string>& SeccompFlags();        // SECCOMP_FILTER_FLAG_*
const std::vector<std::string>& MountOptions();        // the options the runtime interprets
const std::vector<std::string>& HookNames();           // prestart, createRuntime, ...
const std::vector<std::string>& MemoryPolicyModes();   // MPOL_*
const std::vector<std::string>& MemoryPolicyFlags();   // MPOL_F_*
const std::vector<std::string>& SchedulerPolicies();   // SCHED_*
const std::vector<std::string>& SchedulerFlags();      // SCHED_FLAG_*
const std::vector<std::string>& IoPriorityClasses();   // IOPRIO_CLASS_*

bool Contains(const std::vector<std::string>& names, std::string_view name);

}  // namespace sandbox::oci
