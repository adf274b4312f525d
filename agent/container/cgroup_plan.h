// linux.resources as cgroup v2 interface-file writes, with runc's
// conversions from the v1-shaped spec (cpu.shares -> cpu.weight, blkio
// weight -> io.weight, memory.swap (memory+swap) -> memory.swap.max, ...).
// Fields cgroup v2 has no knob for are refused by name, never dropped.
// Device rules are not files in v2: see device_filter.h.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/oci/spec.h"

namespace sandbox::agent {

struct CgroupWrite {
  std::string file;   // e.g. "memory.max"
  std::string value;  // e.g. "536870912"
};

Result<std::vector<CgroupWrite>> PlanCgroupWrites(const oci::Resources& resources);

// The controllers the writes need, by file prefix ("memory", "cpu", ...),
// sorted and unique; "cgroup" files need none.
std::vector<std::string> ControllersFor(const std::vector<CgroupWrite>& writes);

// linux.resources.memory.checkBeforeUpdate (update only, as in runc): a
// memory.limit below `usage` (memory.current), or a memory.swap
// (memory+swap) below `usage` + `swap_usage` (memory.swap.current), is
// refused naming the field; -1 (unlimited) always passes.
Status CheckMemoryBeforeUpdate(const oci::MemoryResources& memory, uint64_t usage, uint64_t swap_usage);

// runc's conversions, exposed for tests.
uint64_t CpuWeightFromShares(uint64_t shares);
uint16_t IoWeightFromBlkioWeight(uint16_t weight);

}  // namespace sandbox::agent
