// The Intel MultiProcessor table: how a guest without ACPI finds its CPUs,
// IOAPIC and interrupt routing. Written at kEbdaStart.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/status.h"

namespace sandbox::vmm::x86 {

// The bytes of the MP floating pointer followed by the configuration table,
// to be placed at guest address `address`.
Result<std::vector<uint8_t>> BuildMpTable(uint64_t address, uint32_t vcpu_count);

// The IOAPIC's id in the table: the first id after the CPUs'.
inline uint32_t IoapicId(uint32_t vcpu_count) { return vcpu_count; }

}  // namespace sandbox::vmm::x86
