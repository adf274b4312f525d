// Where a file's page cache lies in the guest's physical memory: for the
// agent's own executable, which a VM template's clones can then share with
// their template copy-on-write (sandbox-vmm's shared ranges) instead of
// each holding a copy.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/status.h"

namespace sandbox::agent {

struct PhysicalRange {
  uint64_t address = 0;  // guest-physical, page-aligned
  uint64_t size = 0;     // whole pages
};

// The page frames that hold every page of the file open at `fd` (read
// through a shared mapping, so each is in the page cache), merged into
// runs of adjacent frames in ascending order. Reads /proc/self/pagemap,
// whose frame numbers need CAP_SYS_ADMIN: without it they read as 0 and
// this fails.
Result<std::vector<PhysicalRange>> FileFrames(int fd);

// The `count` largest of `ranges` (all of them when fewer), in ascending
// address order.
std::vector<PhysicalRange> LargestRanges(std::vector<PhysicalRange> ranges, size_t count);

}  // namespace sandbox::agent
