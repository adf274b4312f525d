// A range of a guest's physical memory, as the agent reports it and
// sandbox-vmm's control API takes it (a snapshot's shared ranges).
#pragma once

#include <cstdint>

namespace sandbox::shim {

struct GuestMemoryRange {
  uint64_t address = 0;  // page-aligned
  uint64_t size = 0;     // whole pages
};

}  // namespace sandbox::shim
