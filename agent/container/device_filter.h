// linux.resources.devices as cgroup v2 wants them: a BPF_PROG_TYPE_CGROUP_DEVICE
// program attached to the container's cgroup. Rules are checked from the
// last to the first and the first match decides (a later rule overrides an
// earlier one, as runc does); no match denies.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

// The rules the container gets: the spec's, then allow rules for the
// devices every container has (/dev/null, zero, full, random, urandom, tty,
// ptmx, pts/*) and for linux.devices, as runc adds them.
std::vector<oci::DeviceRule> EffectiveDeviceRules(const oci::Spec& spec);

// Compiles the rules; fails naming a bad rule (type, access).
Result<std::vector<bpf_insn>> CompileDeviceFilter(const std::vector<oci::DeviceRule>& rules);

// What the program decides for one access, computed without the kernel
// (the same rule order), for tests and diagnostics.
bool DeviceRulesAllow(const std::vector<oci::DeviceRule>& rules, char type, int64_t major, int64_t minor, char access);

// Loads the program and attaches it to the cgroup open at `cgroup_fd`; a
// program the verifier refuses fails with the end of its explanation.
Status AttachDeviceFilter(int cgroup_fd, const std::vector<bpf_insn>& program);

}  // namespace sandbox::agent
