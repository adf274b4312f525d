#include "vmm/loader/kernel_loader.h"

#include <elf.h>

#include <array>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>
#include <fmt/format.h>

#include "vmm/arch/x86_64/layout.h"
#include "vmm/loader/image_source.h"

namespace sandbox::vmm {
namespace {

constexpr uint64_t kSetupHeaderOffset = 0x1f1;
constexpr uint32_t kHeaderMagic = 0x53726448;  // "HdrS"
constexpr uint16_t kMinimumBootProtocol = 0x020c;  // xloadflags and the 64-bit entry
constexpr uint64_t k64BitEntryOffset = 0x200;
constexpr uint64_t kDefaultInitrdMax = 0x7fffffff;
constexpr uint64_t kPageSize = 4096;

// Reads `file_size` bytes of `image` at `offset` straight into guest RAM at
// `address` and zeroes the rest of its `memory_size` bytes.
Status ReadIntoGuest(const ImageSource& image, uint64_t offset, uint64_t file_size, const GuestMemory& memory,
                     uint64_t address, uint64_t memory_size, const std::string& what) {
  auto target = memory.Translate(address, memory_size);
  if (!target.ok()) {
    return InvalidArgument(fmt::format("{} at {:#x}+{:#x} does not fit in guest RAM (raise memory_mib)", what,
                                       address, memory_size));
  }
  SANDBOX_RETURN_IF_ERROR(image.ReadAt(offset, target->first(file_size)));
  std::memset(target->data() + file_size, 0, memory_size - file_size);
  return Status::Ok();
}

template <typename T>
Result<T> ReadObject(const ImageSource& image, uint64_t offset) {
  T value;
  SANDBOX_RETURN_IF_ERROR(image.ReadAt(offset, {reinterpret_cast<uint8_t*>(&value), sizeof(value)}));
  return value;
}

// The section named `name` (at most 15 bytes) from the ELF's section table,
// or nothing: a table that does not add up (each offset and size is checked
// against the file) is no table, never an error, since the kernel boots without.
std::optional<Elf64_Shdr> FindSection(const ImageSource& image, const Elf64_Ehdr& header, std::string_view name) {
  if (header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0 || header.e_shstrndx >= header.e_shnum ||
      !image.Holds(header.e_shoff, uint64_t{header.e_shnum} * sizeof(Elf64_Shdr))) {
    return std::nullopt;
  }
  auto section_at = [&](uint64_t index) {
    return ReadObject<Elf64_Shdr>(image, header.e_shoff + index * sizeof(Elf64_Shdr));
  };
  const Result<Elf64_Shdr> names = section_at(header.e_shstrndx);
  if (!names.ok() || !image.Holds(names->sh_offset, names->sh_size)) return std::nullopt;
  std::array<char, 16> read{};
  const size_t length = name.size() + 1;  // with its NUL
  if (length > read.size()) return std::nullopt;
  for (uint16_t i = 0; i < header.e_shnum; ++i) {
    const Result<Elf64_Shdr> section = section_at(i);
    if (!section.ok() || section->sh_name >= names->sh_size || names->sh_size - section->sh_name < length) continue;
    const std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(read.data()), length);
    if (image.ReadAt(names->sh_offset + section->sh_name, bytes).ok() && read[name.size()] == '\0' &&
        std::string_view(read.data(), name.size()) == name) {
      return *section;
    }
  }
  return std::nullopt;
}

// The guest-physical whole pages of the vmlinux's ".text" (executable, not
// writable, inside what one loaded segment reads from the file), or nothing.
std::optional<GuestRange> FindTextPages(const ImageSource& image, const Elf64_Ehdr& header,
                                        const std::vector<Elf64_Phdr>& segments) {
  const std::optional<Elf64_Shdr> text = FindSection(image, header, ".text");
  if (!text || text->sh_type != SHT_PROGBITS || (text->sh_flags & SHF_WRITE) || !(text->sh_flags & SHF_EXECINSTR)) {
    return std::nullopt;
  }
  for (const Elf64_Phdr& segment : segments) {
    if (text->sh_addr < segment.p_vaddr || text->sh_addr - segment.p_vaddr > segment.p_filesz ||
        text->sh_size > segment.p_filesz - (text->sh_addr - segment.p_vaddr)) {
      continue;
    }
    const uint64_t physical = segment.p_paddr + (text->sh_addr - segment.p_vaddr);
    const uint64_t start = (physical + kPageSize - 1) / kPageSize * kPageSize;
    const uint64_t end = (physical + text->sh_size) / kPageSize * kPageSize;
    if (end <= start) return std::nullopt;
    return GuestRange{start, end - start};
  }
  return std::nullopt;
}

// Where `text` (FindTextPages) lies in `segment` of a file whose offsets
// and guest addresses agree within a page: its file offset, to map it.
std::optional<uint64_t> MappableTextOffset(const ImageSource& image, const Elf64_Phdr& segment,
                                           const std::optional<GuestRange>& text, const GuestMemory& memory) {
  if (!text || image.fd() < 0 || memory.memfd() < 0 || text->address < segment.p_paddr ||
      text->address - segment.p_paddr > segment.p_filesz ||
      text->size > segment.p_filesz - (text->address - segment.p_paddr)) {
    return std::nullopt;
  }
  const uint64_t offset = segment.p_offset + (text->address - segment.p_paddr);
  if (offset % kPageSize != 0) return std::nullopt;
  return offset;
}

// One PT_LOAD segment into guest RAM. A vmlinux file's text is mapped
// copy-on-write from the file rather than read: no copy of the 8 MiB most
// of a kernel is, and every VM booted from the file shares its page cache.
Status LoadSegment(const ImageSource& image, const Elf64_Phdr& segment, const std::optional<GuestRange>& text,
                   GuestMemory& memory, const std::string& what) {
  const std::optional<uint64_t> text_offset = MappableTextOffset(image, segment, text, memory);
  if (!text_offset) {
    return ReadIntoGuest(image, segment.p_offset, segment.p_filesz, memory, segment.p_paddr, segment.p_memsz, what);
  }
  SANDBOX_RETURN_IF_ERROR(memory.MapFileCopyOnWrite(image.fd(), *text_offset, *text).Wrap(what));
  const uint64_t head = text->address - segment.p_paddr;
  const uint64_t tail = head + text->size;
  SANDBOX_RETURN_IF_ERROR(ReadIntoGuest(image, segment.p_offset, head, memory, segment.p_paddr, head, what));
  return ReadIntoGuest(image, segment.p_offset + tail, segment.p_filesz - tail, memory, segment.p_paddr + tail,
                       segment.p_memsz - tail, what);
}

Result<LoadedKernel> LoadElf(const ImageSource& image, GuestMemory& memory, const std::string& path) {
  auto bad = [&](const std::string& why) { return InvalidArgument(fmt::format("kernel {}: {}", path, why)); };
  if (!image.Holds(0, sizeof(Elf64_Ehdr))) return bad("truncated ELF header");
  SANDBOX_ASSIGN_OR_RETURN(const auto header, ReadObject<Elf64_Ehdr>(image, 0));
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB ||
      header.e_machine != EM_X86_64) {
    return bad("not a 64-bit little-endian x86_64 ELF");
  }
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 ||
      !image.Holds(header.e_phoff, uint64_t{header.e_phnum} * sizeof(Elf64_Phdr))) {
    return bad("bad program header table");
  }
  LoadedKernel kernel;
  bool entry_loaded = false;
  std::vector<Elf64_Phdr> loaded;
  for (uint16_t i = 0; i < header.e_phnum; ++i) {
    SANDBOX_ASSIGN_OR_RETURN(const auto segment,
                             ReadObject<Elf64_Phdr>(image, header.e_phoff + i * sizeof(Elf64_Phdr)));
    if (segment.p_type != PT_LOAD) continue;
    loaded.push_back(segment);
    if (!image.Holds(segment.p_offset, segment.p_filesz) || segment.p_filesz > segment.p_memsz) {
      return bad(fmt::format("segment {} lies outside the file", i));
    }
    if (segment.p_paddr < x86::kHighMemoryStart) {
      return bad(fmt::format("segment {} at {:#x} would overwrite the boot structures below 1 MiB", i,
                             segment.p_paddr));
    }
    kernel.end = std::max(kernel.end, segment.p_paddr + segment.p_memsz);
    if (header.e_entry >= segment.p_paddr && header.e_entry - segment.p_paddr < segment.p_memsz) {
      entry_loaded = true;
    }
  }
  if (!entry_loaded) return bad(fmt::format("entry point {:#x} is in no loadable segment", header.e_entry));
  kernel.entry_point = header.e_entry;
  kernel.text = FindTextPages(image, header, loaded);
  for (size_t i = 0; i < loaded.size(); ++i) {
    SANDBOX_RETURN_IF_ERROR(
        LoadSegment(image, loaded[i], kernel.text, memory, fmt::format("kernel {} segment {}", path, i)));
  }
  return kernel;
}

Result<LoadedKernel> LoadBzImage(const ImageSource& image, GuestMemory& memory, const std::string& path) {
  auto bad = [&](const std::string& why) { return InvalidArgument(fmt::format("kernel {}: {}", path, why)); };
  if (!image.Holds(kSetupHeaderOffset, sizeof(setup_header))) {
    return bad("neither an ELF vmlinux nor a bzImage (too short for a setup header)");
  }
  SANDBOX_ASSIGN_OR_RETURN(const auto header, ReadObject<setup_header>(image, kSetupHeaderOffset));
  if (header.header != kHeaderMagic) return bad("neither an ELF vmlinux nor a bzImage (no HdrS magic)");
  if (header.version < kMinimumBootProtocol || !(header.xloadflags & XLF_KERNEL_64)) {
    return bad(fmt::format("boot protocol {:#x} without a 64-bit entry point; need 2.12 or later",
                           static_cast<unsigned>(header.version)));
  }
  // The setup header is as long as its jump instruction says: 0x202 + byte
  // 0x201 (the jump's offset, the byte after the 2-byte jmp at 0x200).
  const uint64_t header_end = 0x202 + ((header.jump >> 8) & 0xff);
  if (header_end > kSetupHeaderOffset + sizeof(setup_header)) return bad("setup header longer than known");
  setup_header copied{};
  std::memcpy(&copied, &header, header_end - kSetupHeaderOffset);
  const uint64_t setup_sectors = header.setup_sects == 0 ? 4 : header.setup_sects;
  const uint64_t kernel_offset = (setup_sectors + 1) * 512;
  if (kernel_offset >= image.size()) return bad("no protected-mode kernel after the setup sectors");
  const uint64_t protected_mode_size = image.size() - kernel_offset;
  // The decompressor needs init_size bytes from its (aligned) load address.
  const uint64_t footprint = std::max<uint64_t>(protected_mode_size, header.init_size);
  if (!memory.Contains(x86::kBzImageLoadAddress, footprint)) {
    return bad(fmt::format("needs {} MiB to decompress; raise memory_mib", footprint >> 20));
  }
  SANDBOX_RETURN_IF_ERROR(ReadIntoGuest(image, kernel_offset, protected_mode_size, memory, x86::kBzImageLoadAddress,
                                        protected_mode_size, fmt::format("kernel {}", path)));
  LoadedKernel kernel;
  kernel.entry_point = x86::kBzImageLoadAddress + k64BitEntryOffset;
  kernel.end = x86::kBzImageLoadAddress + footprint;
  kernel.header = copied;
  return kernel;
}

Result<LoadedKernel> LoadKernel(const ImageSource& image, GuestMemory& memory, const std::string& path) {
  std::array<uint8_t, SELFMAG> magic{};
  if (image.Holds(0, magic.size())) {
    SANDBOX_RETURN_IF_ERROR(image.ReadAt(0, magic));
  }
  if (std::memcmp(magic.data(), ELFMAG, SELFMAG) == 0) return LoadElf(image, memory, path);
  return LoadBzImage(image, memory, path);
}

}  // namespace

Result<LoadedKernel> LoadKernelImage(std::span<const uint8_t> image, GuestMemory& memory,
                                     const std::string& path) {
  return LoadKernel(BytesImage(image), memory, path);
}

// Only the loaded parts of the file are read, straight into guest RAM (a
// vmlinux's symbols, a third of Debian's, never leave the disk), and a
// vmlinux's text is mapped from it, not read.
Result<LoadedKernel> LoadKernelFile(const std::string& path, GuestMemory& memory) {
  SANDBOX_ASSIGN_OR_RETURN(FileImage image, FileImage::Open(path, "kernel " + path));
  return LoadKernel(image, memory, path);
}

Result<LoadedInitrd> LoadInitrdFile(const std::string& path, const GuestMemory& memory, const LoadedKernel& kernel) {
  SANDBOX_ASSIGN_OR_RETURN(FileImage image, FileImage::Open(path, "initrd " + path));
  if (image.size() == 0) return InvalidArgument(fmt::format("initrd {} is empty", path));
  uint64_t max_address = kDefaultInitrdMax;
  if (kernel.header && kernel.header->initrd_addr_max != 0) max_address = kernel.header->initrd_addr_max;
  const MemoryRegion& low = memory.regions().front();
  const uint64_t top = std::min(low.guest_address + low.size, max_address + 1);
  const uint64_t kernel_end = (kernel.end + kPageSize - 1) & ~(kPageSize - 1);
  if (image.size() > top || top - image.size() < kernel_end) {
    return InvalidArgument(fmt::format("initrd {} ({} bytes) does not fit in guest RAM above the kernel; raise "
                                       "memory_mib",
                                       path, image.size()));
  }
  LoadedInitrd initrd;
  initrd.address = (top - image.size()) & ~(kPageSize - 1);
  initrd.size = image.size();
  SANDBOX_RETURN_IF_ERROR(
      ReadIntoGuest(image, 0, image.size(), memory, initrd.address, image.size(), "initrd " + path));
  return initrd;
}

}  // namespace sandbox::vmm
