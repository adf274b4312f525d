#include "agent/container/process_attributes.h"

#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <map>
#include <vector>

namespace sandbox::agent {
namespace {

// The values behind the names common/oci/names.h lists; config.json was
// checked against those lists (oci::ValidateSpec) before these run.

// <linux/ioprio.h>
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;
const std::map<std::string, int> kIoClasses = {
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};

// <linux/sched.h>, <linux/sched/types.h>
const std::map<std::string, uint32_t> kPolicies = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},      {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};
const std::map<std::string, uint64_t> kSchedulerFlags = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},       {"SCHED_FLAG_DL_OVERRUN", 0x04},
    {"SCHED_FLAG_KEEP_POLICY", 0x08},   {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t policy = 0;
  uint64_t flags = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t runtime = 0;
  uint64_t deadline = 0;
  uint64_t period = 0;
};

// <linux/mempolicy.h>
const std::map<std::string, int> kMemoryPolicyModes = {
    {"MPOL_DEFAULT", 0},    {"MPOL_PREFERRED", 1},      {"MPOL_BIND", 2}, {"MPOL_INTERLEAVE", 3},
    {"MPOL_LOCAL", 4},      {"MPOL_PREFERRED_MANY", 5}, {"MPOL_WEIGHTED_INTERLEAVE", 6}};
const std::map<std::string, int> kMemoryPolicyFlags = {
    {"MPOL_F_NUMA_BALANCING", 1 << 13}, {"MPOL_F_RELATIVE_NODES", 1 << 14}, {"MPOL_F_STATIC_NODES", 1 << 15}};

const std::map<std::string, unsigned long> kPersonalityDomains = {{"LINUX", PER_LINUX}, {"LINUX32", PER_LINUX32}};

Result<unsigned> ParseNumber(std::string_view text, const std::string& field) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return InvalidArgument(field + ": \"" + std::string(text) + "\" is not a number");
  }
  return value;
}

}  // namespace

Result<std::bitset<kMaxListedIds>> ParseIdList(const std::string& list, const std::string& field) {
  std::bitset<kMaxListedIds> ids;
  if (list.empty()) return InvalidArgument(field + ": empty list");
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view part(list.data() + start, comma - start);
    const size_t dash = part.find('-');
    SANDBOX_ASSIGN_OR_RETURN(unsigned first, ParseNumber(part.substr(0, dash), field));
    unsigned last = first;
    if (dash != std::string_view::npos) {
      SANDBOX_ASSIGN_OR_RETURN(last, ParseNumber(part.substr(dash + 1), field));
    }
    if (last < first || last >= kMaxListedIds) {
      return InvalidArgument(field + ": \"" + std::string(part) + "\" is not a range below " +
                             std::to_string(kMaxListedIds));
    }
    for (unsigned id = first; id <= last; ++id) ids.set(id);
    start = comma + 1;
  }
  return ids;
}

Status ApplySchedulingAttributes(const oci::Process& process) {
  if (process.io_priority) {
    const int value = (kIoClasses.at(process.io_priority->io_class) << kIoprioClassShift) |
                      process.io_priority->priority.value_or(0);
    if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, value) != 0) return ErrnoStatus("ioprio_set", "process.ioPriority");
  }
  if (process.scheduler) {
    const oci::Scheduler& scheduler = *process.scheduler;
    SchedAttr attributes{.policy = kPolicies.at(scheduler.policy),
                         .nice = scheduler.nice.value_or(0),
                         .priority = static_cast<uint32_t>(scheduler.priority.value_or(0)),
                         .runtime = scheduler.runtime.value_or(0),
                         .deadline = scheduler.deadline.value_or(0),
                         .period = scheduler.period.value_or(0)};
    for (const std::string& flag : scheduler.flags.value_or(oci::StringList{})) attributes.flags |= kSchedulerFlags.at(flag);
    if (::syscall(SYS_sched_setattr, 0, &attributes, 0) != 0) return ErrnoStatus("sched_setattr", "process.scheduler");
  }
  return Status::Ok();
}

Status ApplyExecCpuAffinity(const oci::Process& process) {
  // `initial` guards the runtime's own move into the container's cgroup; an
  // exec init is born in that cgroup (CLONE_INTO_CGROUP), so only `final` applies.
  if (!process.exec_cpu_affinity || !process.exec_cpu_affinity->final_cpus) return Status::Ok();
  SANDBOX_ASSIGN_OR_RETURN(auto cpus, ParseIdList(*process.exec_cpu_affinity->final_cpus, "process.execCPUAffinity.final"));
  cpu_set_t set;
  CPU_ZERO(&set);
  for (size_t cpu = 0; cpu < cpus.size() && cpu < CPU_SETSIZE; ++cpu) {
    if (cpus.test(cpu)) CPU_SET(cpu, &set);
  }
  if (::sched_setaffinity(0, sizeof(set), &set) != 0) return ErrnoStatus("sched_setaffinity", "process.execCPUAffinity.final");
  return Status::Ok();
}

Status ApplyLinuxAttributes(const oci::Linux& linux) {
  if (linux.personality && ::personality(kPersonalityDomains.at(linux.personality->domain)) < 0) {
    return ErrnoStatus("personality", "linux.personality");
  }
  if (linux.memory_policy) {
    const oci::MemoryPolicy& policy = *linux.memory_policy;
    int mode = kMemoryPolicyModes.at(policy.mode);
    for (const std::string& flag : policy.flags.value_or(oci::StringList{})) mode |= kMemoryPolicyFlags.at(flag);
    std::vector<unsigned long> mask(kMaxListedIds / (8 * sizeof(unsigned long)), 0);
    if (policy.nodes && !policy.nodes->empty()) {
      SANDBOX_ASSIGN_OR_RETURN(auto nodes, ParseIdList(*policy.nodes, "linux.memoryPolicy.nodes"));
      for (size_t node = 0; node < nodes.size(); ++node) {
        if (nodes.test(node)) mask[node / (8 * sizeof(unsigned long))] |= 1ul << (node % (8 * sizeof(unsigned long)));
      }
    }
    const bool nodes_given = policy.nodes && !policy.nodes->empty();
    if (::syscall(SYS_set_mempolicy, mode, nodes_given ? mask.data() : nullptr, nodes_given ? kMaxListedIds : 0) != 0) {
      // Without NUMA every page comes from the one node: MPOL_DEFAULT is what
      // the process has anyway, anything else cannot be honoured.
      if (errno == ENOSYS && policy.mode == "MPOL_DEFAULT") return Status::Ok();
      if (errno == ENOSYS) return Unimplemented("linux.memoryPolicy: this kernel has no NUMA support (set_mempolicy)");
      return ErrnoStatus("set_mempolicy", "linux.memoryPolicy");
    }
  }
  return Status::Ok();
}

}  // namespace sandbox::agent
