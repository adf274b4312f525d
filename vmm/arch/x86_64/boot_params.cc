#include "vmm/arch/x86_64/boot_params.h"

#include <asm/e820.h>

#include "vmm/arch/x86_64/layout.h"

namespace sandbox::vmm::x86 {
namespace {

constexpr uint16_t kBootFlagMagic = 0xaa55;
constexpr uint32_t kHeaderMagic = 0x53726448;  // "HdrS"
constexpr uint8_t kUndefinedLoader = 0xff;
constexpr uint32_t kKernelAlignment = 0x1000000;

Status AddE820(boot_params& params, uint64_t address, uint64_t size, uint32_t type) {
  if (params.e820_entries >= E820_MAX_ENTRIES_ZEROPAGE) return Internal("too many e820 entries");
  params.e820_table[params.e820_entries++] = {address, size, type};
  return Status::Ok();
}

}  // namespace

Result<boot_params> BuildBootParams(const BootParamsInput& input) {
  if (input.ram.empty() || input.ram.front().first != 0 || input.ram.front().second <= kHighMemoryStart) {
    return InvalidArgument("guest RAM must start at 0 and extend past 1 MiB");
  }
  boot_params params{};
  if (input.kernel_header) params.hdr = *input.kernel_header;
  params.hdr.boot_flag = kBootFlagMagic;
  params.hdr.header = kHeaderMagic;
  params.hdr.type_of_loader = kUndefinedLoader;
  params.hdr.loadflags |= LOADED_HIGH;
  if (!input.kernel_header) params.hdr.kernel_alignment = kKernelAlignment;
  params.hdr.cmd_line_ptr = static_cast<uint32_t>(input.command_line_address);
  params.ext_cmd_line_ptr = static_cast<uint32_t>(input.command_line_address >> 32);
  params.hdr.cmdline_size = static_cast<uint32_t>(input.command_line_size);
  if (input.initrd_size > 0) {
    params.hdr.ramdisk_image = static_cast<uint32_t>(input.initrd_address);
    params.ext_ramdisk_image = static_cast<uint32_t>(input.initrd_address >> 32);
    params.hdr.ramdisk_size = static_cast<uint32_t>(input.initrd_size);
    params.ext_ramdisk_size = static_cast<uint32_t>(input.initrd_size >> 32);
  }
  // Base memory up to the MP table, then everything from 1 MiB.
  SANDBOX_RETURN_IF_ERROR(AddE820(params, 0, kEbdaStart, E820_RAM));
  SANDBOX_RETURN_IF_ERROR(AddE820(params, kEbdaStart, kHighMemoryStart - kEbdaStart, E820_RESERVED));
  const auto& [low_start, low_size] = input.ram.front();
  SANDBOX_RETURN_IF_ERROR(AddE820(params, kHighMemoryStart, low_start + low_size - kHighMemoryStart, E820_RAM));
  for (size_t i = 1; i < input.ram.size(); ++i) {
    SANDBOX_RETURN_IF_ERROR(AddE820(params, input.ram[i].first, input.ram[i].second, E820_RAM));
  }
  return params;
}

}  // namespace sandbox::vmm::x86
