// Loads the guest kernel (an ELF vmlinux or a bzImage) and the initrd into
// guest memory. Every offset and size read from the image is checked against
// the image and against guest RAM before it is used.
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/base/status.h"
#include "vmm/memory/guest_memory.h"

namespace sandbox::vmm {

struct LoadedKernel {
  uint64_t entry_point = 0;  // 64-bit entry
  uint64_t end = 0;          // first guest address after the loaded image
  std::optional<setup_header> header;  // a bzImage's setup header
  // A vmlinux's .text section, whole pages only: code the guest keeps for
  // its lifetime and never uses as an I/O buffer (Linux frees none of it,
  // unlike .init.text or the gap after _etext), so a restored VM may map it
  // copy-on-write from its template without sharing it with a vhost-user
  // back-end. Absent for a bzImage, or a vmlinux without section headers.
  std::optional<GuestRange> text;
};

// `image` is the whole file; `path` only names it in errors.
Result<LoadedKernel> LoadKernelImage(std::span<const uint8_t> image, GuestMemory& memory,
                                     const std::string& path);
// A vmlinux's text (LoadedKernel::text), where the file's offsets allow, is
// mapped copy-on-write from the file (GuestMemory::MapFileCopyOnWrite).
Result<LoadedKernel> LoadKernelFile(const std::string& path, GuestMemory& memory);

struct LoadedInitrd {
  uint64_t address = 0;
  uint64_t size = 0;
};

// Places the initrd page-aligned at the top of RAM below `max_address`
// (the kernel's initrd_addr_max) and above the kernel.
Result<LoadedInitrd> LoadInitrdFile(const std::string& path, const GuestMemory& memory, const LoadedKernel& kernel);

}  // namespace sandbox::vmm
