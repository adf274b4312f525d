// The Linux x86 "zero page" (struct boot_params) for the 64-bit boot protocol:
// setup header, command line and initrd pointers and the e820 memory map.
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace sandbox::vmm::x86 {

struct BootParamsInput {
  // RAM as (guest address, size) pairs, ascending.
  std::vector<std::pair<uint64_t, uint64_t>> ram;
  uint64_t command_line_address = 0;
  uint64_t command_line_size = 0;  // without the NUL
  uint64_t initrd_address = 0;
  uint64_t initrd_size = 0;
  // The bzImage's own setup header, copied as the protocol asks; absent for an ELF vmlinux.
  std::optional<setup_header> kernel_header;
};

Result<boot_params> BuildBootParams(const BootParamsInput& input);

}  // namespace sandbox::vmm::x86
