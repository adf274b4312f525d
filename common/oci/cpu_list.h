#pragma once

#include <cstdint>
#include <string_view>

#include "common/base/status.h"

namespace sandbox::oci {

// The kernel's CPU and memory-node list syntax ("0-3,5,7-8"), as
// linux.resources.cpu.cpus/mems and process.execCPUAffinity use it.
struct CpuList {
  uint32_t count = 0;    // how many distinct CPUs (or nodes) the list names
  uint32_t highest = 0;  // the highest one named
};

// Larger numbers name no CPU or node a Linux kernel can have (NR_CPUS tops
// out at 8192), and keeping them small keeps the counts from overflowing.
inline constexpr uint32_t kMaxCpuListNumber = 65535;

// Parses `text`; the error says what is wrong with it (the caller adds the
// field's name). Never throws, whatever the input.
Result<CpuList> ParseCpuList(std::string_view text);

}  // namespace sandbox::oci
