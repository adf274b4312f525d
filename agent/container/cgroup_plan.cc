#include "agent/container/cgroup_plan.h"

#include <algorithm>
#include <set>

namespace sandbox::agent {
namespace {

constexpr char kField[] = "linux.resources.";

Status NoV2Knob(const std::string& field, const std::string& why) {
  return InvalidArgument(kField + field + ": " + why + " (cgroup v2 has no such knob)");
}

// -1 (and, for some fields, 0) means "no limit" in the spec.
std::string LimitValue(int64_t value) { return value < 0 ? "max" : std::to_string(value); }

std::string Device(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }

Status PlanMemory(const oci::MemoryResources& memory, std::vector<CgroupWrite>& writes) {
  if (memory.kernel) return NoV2Knob("memory.kernel", "kernel memory is not limited separately");
  if (memory.kernel_tcp) return NoV2Knob("memory.kernelTCP", "TCP buffer memory is not limited separately");
  if (memory.swappiness) return NoV2Knob("memory.swappiness", "swappiness is not per cgroup");
  if (memory.disable_oom_killer.value_or(false)) return NoV2Knob("memory.disableOOMKiller", "the OOM killer cannot be disabled");
  if (memory.use_hierarchy && !*memory.use_hierarchy) return NoV2Knob("memory.useHierarchy", "v2 is always hierarchical");
  if (memory.limit && *memory.limit != 0) writes.push_back({"memory.max", LimitValue(*memory.limit)});
  if (memory.reservation && *memory.reservation != 0) writes.push_back({"memory.low", LimitValue(*memory.reservation)});
  if (memory.swap && *memory.swap != 0) {
    // The spec's swap is memory+swap; v2's swap.max is swap alone.
    if (*memory.swap < 0) {
      writes.push_back({"memory.swap.max", "max"});
    } else if (!memory.limit || *memory.limit <= 0) {
      return InvalidArgument(std::string(kField) + "memory.swap: needs memory.limit (swap is memory+swap)");
    } else if (*memory.swap < *memory.limit) {
      return InvalidArgument(std::string(kField) + "memory.swap: " + std::to_string(*memory.swap) +
                             " is less than memory.limit " + std::to_string(*memory.limit) + " (swap is memory+swap)");
    } else {
      writes.push_back({"memory.swap.max", std::to_string(*memory.swap - *memory.limit)});
    }
  }
  return Status::Ok();
}

Status PlanCpu(const oci::CpuResources& cpu, std::vector<CgroupWrite>& writes) {
  if (cpu.realtime_runtime || cpu.realtime_period) {
    return NoV2Knob("cpu.realtimeRuntime/realtimePeriod", "real-time group scheduling is not available");
  }
  if (cpu.shares && *cpu.shares != 0) {
    if (*cpu.shares < 2 || *cpu.shares > 262144) {
      return InvalidArgument(std::string(kField) + "cpu.shares: must be from 2 to 262144");
    }
    writes.push_back({"cpu.weight", std::to_string(CpuWeightFromShares(*cpu.shares))});
  }
  if ((cpu.quota && *cpu.quota != 0) || (cpu.period && *cpu.period != 0)) {
    const std::string quota = cpu.quota && *cpu.quota > 0 ? std::to_string(*cpu.quota) : "max";
    const uint64_t period = cpu.period && *cpu.period != 0 ? *cpu.period : 100000;
    writes.push_back({"cpu.max", quota + " " + std::to_string(period)});
  }
  if (cpu.burst) writes.push_back({"cpu.max.burst", std::to_string(*cpu.burst)});
  if (cpu.idle) writes.push_back({"cpu.idle", std::to_string(*cpu.idle)});
  if (cpu.cpus && !cpu.cpus->empty()) writes.push_back({"cpuset.cpus", *cpu.cpus});
  if (cpu.mems && !cpu.mems->empty()) writes.push_back({"cpuset.mems", *cpu.mems});
  return Status::Ok();
}

Status PlanBlockIo(const oci::BlockIoResources& io, std::vector<CgroupWrite>& writes) {
  if (io.leaf_weight) return NoV2Knob("blockIO.leafWeight", "leaf weights do not exist");
  auto checked_weight = [](uint16_t weight, const std::string& field) -> Result<uint16_t> {
    if (weight < 10 || weight > 1000) return InvalidArgument(std::string(kField) + field + ": must be from 10 to 1000");
    return IoWeightFromBlkioWeight(weight);
  };
  if (io.weight) {
    SANDBOX_ASSIGN_OR_RETURN(uint16_t weight, checked_weight(*io.weight, "blockIO.weight"));
    writes.push_back({"io.weight", "default " + std::to_string(weight)});
  }
  for (size_t i = 0; io.weight_device && i < io.weight_device->size(); ++i) {
    const oci::WeightDevice& device = (*io.weight_device)[i];
    const std::string field = "blockIO.weightDevice[" + std::to_string(i) + "]";
    if (device.leaf_weight) return NoV2Knob(field + ".leafWeight", "leaf weights do not exist");
    if (!device.weight) continue;
    SANDBOX_ASSIGN_OR_RETURN(uint16_t weight, checked_weight(*device.weight, field + ".weight"));
    writes.push_back({"io.weight", Device(device.major, device.minor) + " " + std::to_string(weight)});
  }
  const std::pair<const std::optional<std::vector<oci::ThrottleDevice>>*, const char*> throttles[] = {
      {&io.throttle_read_bps_device, "rbps"},
      {&io.throttle_write_bps_device, "wbps"},
      {&io.throttle_read_iops_device, "riops"},
      {&io.throttle_write_iops_device, "wiops"}};
  for (const auto& [list, key] : throttles) {
    for (const oci::ThrottleDevice& device : list->value_or(std::vector<oci::ThrottleDevice>{})) {
      // 0 means "no limit", as with runc.
      const std::string rate = device.rate == 0 ? "max" : std::to_string(device.rate);
      writes.push_back({"io.max", Device(device.major, device.minor) + " " + key + "=" + rate});
    }
  }
  return Status::Ok();
}

}  // namespace

uint64_t CpuWeightFromShares(uint64_t shares) { return 1 + ((shares - 2) * 9999) / 262142; }

uint16_t IoWeightFromBlkioWeight(uint16_t weight) {
  return static_cast<uint16_t>(1 + (static_cast<uint32_t>(weight) - 10) * 9999 / 990);
}

Result<std::vector<CgroupWrite>> PlanCgroupWrites(const oci::Resources& resources) {
  std::vector<CgroupWrite> writes;
  if (resources.network) return NoV2Knob("network", "net_cls/net_prio are cgroup v1 only");
  if (resources.memory) SANDBOX_RETURN_IF_ERROR(PlanMemory(*resources.memory, writes));
  if (resources.cpu) SANDBOX_RETURN_IF_ERROR(PlanCpu(*resources.cpu, writes));
  if (resources.pids && resources.pids->limit) {
    writes.push_back({"pids.max", *resources.pids->limit > 0 ? std::to_string(*resources.pids->limit) : "max"});
  }
  if (resources.block_io) SANDBOX_RETURN_IF_ERROR(PlanBlockIo(*resources.block_io, writes));
  for (const oci::HugepageLimit& limit : resources.hugepage_limits.value_or(std::vector<oci::HugepageLimit>{})) {
    if (limit.page_size.empty() || limit.page_size.find('/') != std::string::npos) {
      return InvalidArgument(std::string(kField) + "hugepageLimits: bad pageSize \"" + limit.page_size + "\"");
    }
    writes.push_back({"hugetlb." + limit.page_size + ".max", std::to_string(limit.limit)});
  }
  for (const auto& [device, limit] : resources.rdma.value_or(std::map<std::string, oci::RdmaLimit>{})) {
    std::string value = device;
    if (limit.hca_handles) value += " hca_handle=" + std::to_string(*limit.hca_handles);
    if (limit.hca_objects) value += " hca_object=" + std::to_string(*limit.hca_objects);
    writes.push_back({"rdma.max", value});
  }
  for (const auto& [key, value] : resources.unified.value_or(oci::StringMap{})) {
    // A file of this cgroup, never a path out of it nor the membership files.
    if (key.empty() || key.find('/') != std::string::npos || key.starts_with(".") || key.find('.') == std::string::npos ||
        key == "cgroup.procs" || key == "cgroup.threads" || key == "cgroup.subtree_control") {
      return InvalidArgument(std::string(kField) + "unified: \"" + key + "\" is not a settable cgroup v2 file");
    }
    writes.push_back({key, value});
  }
  return writes;
}

std::vector<std::string> ControllersFor(const std::vector<CgroupWrite>& writes) {
  std::set<std::string> controllers;
  for (const CgroupWrite& write : writes) {
    const std::string prefix = write.file.substr(0, write.file.find('.'));
    if (prefix != "cgroup") controllers.insert(prefix);
  }
  return {controllers.begin(), controllers.end()};
}

Status CheckMemoryBeforeUpdate(const oci::MemoryResources& memory, uint64_t usage, uint64_t swap_usage) {
  if (memory.limit && *memory.limit > 0 && static_cast<uint64_t>(*memory.limit) < usage) {
    return FailedPrecondition("linux.resources.memory.limit: " + std::to_string(*memory.limit) +
                              " is below the container's memory usage " + std::to_string(usage) +
                              " (memory.current), and checkBeforeUpdate is set");
  }
  if (memory.swap && *memory.swap > 0 && static_cast<uint64_t>(*memory.swap) < usage + swap_usage) {
    return FailedPrecondition("linux.resources.memory.swap: " + std::to_string(*memory.swap) +
                              " is below the container's memory+swap usage " + std::to_string(usage + swap_usage) +
                              " (memory.current + memory.swap.current), and checkBeforeUpdate is set");
  }
  return Status::Ok();
}

}  // namespace sandbox::agent
