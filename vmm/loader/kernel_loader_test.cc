#include "vmm/loader/kernel_loader.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/base/temp_dir.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm {
namespace {

constexpr uint64_t kKernelAddress = 0x1000000;

// An ELF64 x86_64 image with one PT_LOAD segment of `payload` at `address`,
// right after the headers or at `payload_offset` in the file.
std::vector<uint8_t> MakeElf(uint64_t address, const std::vector<uint8_t>& payload, uint64_t entry,
                             uint64_t memory_size = 0, uint64_t payload_offset = 0) {
  const size_t headers = std::max<size_t>(payload_offset, sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr));
  std::vector<uint8_t> image(headers + payload.size(), 0);
  Elf64_Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_machine = EM_X86_64;
  header.e_entry = entry;
  header.e_phoff = sizeof(Elf64_Ehdr);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = 1;
  Elf64_Phdr segment{};
  segment.p_type = PT_LOAD;
  segment.p_offset = headers;
  segment.p_paddr = address;
  segment.p_filesz = payload.size();
  segment.p_memsz = memory_size ? memory_size : payload.size();
  std::memcpy(image.data(), &header, sizeof(header));
  std::memcpy(image.data() + sizeof(header), &segment, sizeof(segment));
  std::copy(payload.begin(), payload.end(), image.begin() + static_cast<std::ptrdiff_t>(headers));
  return image;
}

constexpr uint64_t kKernelVirtual = 0xffffffff80000000;

// MakeElf's image with the segment at kKernelVirtual + its address, and a
// section table: a section `name` at `offset` into the segment, and the
// section names.
std::vector<uint8_t> WithSection(std::vector<uint8_t> image, const std::string& name, uint64_t offset, uint64_t size,
                                 uint64_t flags) {
  Elf64_Ehdr header;
  std::memcpy(&header, image.data(), sizeof(header));
  Elf64_Phdr segment;
  std::memcpy(&segment, image.data() + header.e_phoff, sizeof(segment));
  segment.p_vaddr = kKernelVirtual + segment.p_paddr;
  std::memcpy(image.data() + header.e_phoff, &segment, sizeof(segment));
  const std::string names = std::string(1, '\0') + name + '\0' + ".shstrtab" + '\0';
  const uint64_t names_offset = image.size();
  image.insert(image.end(), names.begin(), names.end());
  Elf64_Shdr sections[3]{};
  sections[1] = {.sh_name = 1, .sh_type = SHT_PROGBITS, .sh_flags = flags, .sh_addr = segment.p_vaddr + offset,
                 .sh_offset = segment.p_offset + offset, .sh_size = size};
  sections[2] = {.sh_name = static_cast<uint32_t>(name.size() + 2), .sh_type = SHT_STRTAB, .sh_offset = names_offset,
                 .sh_size = names.size()};
  header.e_shoff = image.size();
  header.e_shentsize = sizeof(Elf64_Shdr);
  header.e_shnum = 3;
  header.e_shstrndx = 2;
  const auto* bytes = reinterpret_cast<const uint8_t*>(sections);
  image.insert(image.end(), bytes, bytes + sizeof(sections));
  std::memcpy(image.data(), &header, sizeof(header));
  return image;
}

std::vector<uint8_t> MakeBzImage(uint16_t version, uint8_t setup_sectors, size_t payload_size) {
  std::vector<uint8_t> image((setup_sectors + 1) * 512 + payload_size, 0);
  image[0x1f1] = setup_sectors;
  const uint32_t magic = 0x53726448;
  std::memcpy(&image[0x202], &magic, 4);
  std::memcpy(&image[0x206], &version, 2);
  image[0x201] = 0x6a;   // the jump past the header
  image[0x236] = 1;      // xloadflags: XLF_KERNEL_64
  const uint32_t init_size = 0x200000;
  std::memcpy(&image[0x260], &init_size, 4);
  image[(setup_sectors + 1) * 512] = 0xaa;  // first byte of the protected-mode code
  return image;
}

class KernelLoaderTest : public ::testing::Test {
 protected:
  KernelLoaderTest() : memory_(GuestMemory::Create(64 << 20).value()) {}
  GuestMemory memory_;
};

TEST_F(KernelLoaderTest, LoadsElfSegmentsAndZeroFillsTheRest) {
  ASSERT_TRUE(memory_.WriteObject(kKernelAddress + 6, uint8_t{0x77}).ok());
  auto kernel = LoadKernelImage(MakeElf(kKernelAddress, {1, 2, 3, 4}, kKernelAddress, 16), memory_, "k");
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(kernel->entry_point, kKernelAddress);
  EXPECT_EQ(kernel->end, kKernelAddress + 16);
  EXPECT_FALSE(kernel->header.has_value());
  EXPECT_EQ(memory_.ReadObject<uint32_t>(kKernelAddress).value(), 0x04030201u);
  EXPECT_EQ(memory_.ReadObject<uint8_t>(kKernelAddress + 6).value(), 0) << "bss is zeroed";
}

TEST_F(KernelLoaderTest, RejectsHostileElfImages) {
  auto error = [&](const std::vector<uint8_t>& image) {
    auto kernel = LoadKernelImage(image, memory_, "k");
    return kernel.ok() ? std::string("loaded") : kernel.status().message();
  };
  EXPECT_NE(error(MakeElf(0x1000, {1}, 0x1000)).find("below 1 MiB"), std::string::npos);
  EXPECT_NE(error(MakeElf(kKernelAddress, {1}, 0x5000000)).find("entry point"), std::string::npos);
  EXPECT_NE(error(MakeElf(60ull << 20, {1}, 60ull << 20, 8 << 20)).find("does not fit"), std::string::npos);
  auto truncated = MakeElf(kKernelAddress, {1, 2, 3, 4}, kKernelAddress);
  truncated.resize(truncated.size() - 2);
  EXPECT_NE(error(truncated).find("outside the file"), std::string::npos);
  auto bad_phoff = MakeElf(kKernelAddress, {1}, kKernelAddress);
  const uint64_t huge = ~0ull - 8;
  std::memcpy(bad_phoff.data() + offsetof(Elf64_Ehdr, e_phoff), &huge, sizeof(huge));
  EXPECT_NE(error(bad_phoff).find("program header"), std::string::npos);
  auto i386 = MakeElf(kKernelAddress, {1}, kKernelAddress);
  i386[EI_CLASS] = ELFCLASS32;
  EXPECT_NE(error(i386).find("64-bit"), std::string::npos);
}

TEST_F(KernelLoaderTest, FindsTheWholePagesOfAVmlinuxText) {
  const std::vector<uint8_t> payload(0x5000, 0xcc);
  auto text = [&](uint64_t offset, uint64_t size, uint64_t flags = SHF_ALLOC | SHF_EXECINSTR,
                  const std::string& name = ".text") {
    auto image = WithSection(MakeElf(kKernelAddress, payload, kKernelAddress), name, offset, size, flags);
    auto kernel = LoadKernelImage(image, memory_, "k");
    EXPECT_TRUE(kernel.ok()) << kernel.status().message();
    return kernel.ok() ? kernel->text : std::nullopt;
  };
  auto found = text(0, 0x4000);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->address, kKernelAddress);
  EXPECT_EQ(found->size, 0x4000u);
  // Pages only partly text are left out.
  found = text(0x800, 0x3000);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->address, kKernelAddress + 0x1000);
  EXPECT_EQ(found->size, 0x2000u);
  EXPECT_FALSE(text(0x800, 0x1000)) << "no whole page";
  EXPECT_FALSE(text(0, 0x4000, SHF_ALLOC | SHF_EXECINSTR | SHF_WRITE)) << "writable";
  EXPECT_FALSE(text(0, 0x4000, SHF_ALLOC)) << "not code";
  EXPECT_FALSE(text(0, 0x4000, SHF_ALLOC | SHF_EXECINSTR, ".textx")) << "another section";
  EXPECT_FALSE(text(0, 0x6000)) << "beyond the loaded bytes";
  EXPECT_FALSE(text(0x10000, 0x1000)) << "outside the segment";
  // Without a section table, or with one outside the file, it boots all the same.
  auto plain = LoadKernelImage(MakeElf(kKernelAddress, payload, kKernelAddress), memory_, "k");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->text);
  auto broken =
      WithSection(MakeElf(kKernelAddress, payload, kKernelAddress), ".text", 0, 0x4000, SHF_ALLOC | SHF_EXECINSTR);
  const uint64_t huge = ~0ull >> 4;
  std::memcpy(broken.data() + offsetof(Elf64_Ehdr, e_shoff), &huge, sizeof(huge));
  auto loaded = LoadKernelImage(broken, memory_, "k");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_FALSE(loaded->text);
}

TEST_F(KernelLoaderTest, LoadsABzImageAtOneMebibyte) {
  auto kernel = LoadKernelImage(MakeBzImage(0x020f, 4, 4096), memory_, "bz");
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(kernel->entry_point, 0x100200u);
  ASSERT_TRUE(kernel->header.has_value());
  EXPECT_EQ(kernel->header->setup_sects, 4);
  EXPECT_EQ(memory_.ReadObject<uint8_t>(0x100000).value(), 0xaa);
  EXPECT_EQ(kernel->end, 0x100000u + 0x200000u) << "init_size reserves room to decompress";
}

TEST_F(KernelLoaderTest, RejectsOldOrForeignImages) {
  auto old = LoadKernelImage(MakeBzImage(0x0206, 4, 512), memory_, "old");
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("2.12"), std::string::npos);
  std::vector<uint8_t> junk(4096, 0x5a);
  auto foreign = LoadKernelImage(junk, memory_, "junk");
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("neither an ELF vmlinux nor a bzImage"), std::string::npos);
}

// Writes `bytes` to `path`, then extends the file to `size` (a sparse tail).
void WriteSparseFile(const std::string& path, const std::vector<uint8_t>& bytes, off_t size) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::ftruncate(fd.get(), std::max<off_t>(size, static_cast<off_t>(bytes.size()))), 0);
}

TEST_F(KernelLoaderTest, AFileKernelIsReadOnlyWhereItsSegmentsAre) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-kernel-loader-");
  // A vmlinux whose symbols would be 64 GiB: reading the whole file, as the
  // loader once did, could not load it.
  const std::string path = dir.path() + "/vmlinux";
  WriteSparseFile(path, MakeElf(kKernelAddress, {9, 8, 7, 6}, kKernelAddress, 64), off_t{64} << 30);
  ASSERT_TRUE(memory_.WriteObject(kKernelAddress + 40, uint8_t{0x77}).ok());
  auto kernel = LoadKernelFile(path, memory_);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(kernel->end, kKernelAddress + 64);
  EXPECT_EQ(memory_.ReadObject<uint32_t>(kKernelAddress).value(), 0x06070809u);
  EXPECT_EQ(memory_.ReadObject<uint8_t>(kKernelAddress + 40).value(), 0) << "bss is zeroed";
}

TEST_F(KernelLoaderTest, AFileVmlinuxTextIsMappedFromTheFileNotShared) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-kernel-loader-");
  std::vector<uint8_t> payload(0x5000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i / 0x1000 + 1);
  // Text in pages 1-2 of the segment, page-aligned in the file; bss after.
  const std::string path = dir.path() + "/vmlinux";
  WriteSparseFile(path,
                  WithSection(MakeElf(kKernelAddress, payload, kKernelAddress, 0x6000, 0x2000), ".text", 0x1000, 0x2000,
                              SHF_ALLOC | SHF_EXECINSTR),
                  0);
  ASSERT_TRUE(memory_.WriteObject(kKernelAddress + 0x5800, uint8_t{0x77}).ok());
  auto kernel = LoadKernelFile(path, memory_);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  ASSERT_TRUE(kernel->text);
  EXPECT_EQ(kernel->text->address, kKernelAddress + 0x1000);
  for (uint64_t page = 0; page < 5; ++page) {
    EXPECT_EQ(memory_.ReadObject<uint8_t>(kKernelAddress + page * 0x1000 + 7).value(), page + 1) << "page " << page;
  }
  EXPECT_EQ(memory_.ReadObject<uint8_t>(kKernelAddress + 0x5800).value(), 0) << "bss is zeroed";
  // The text is not in the memfd a vhost-user back-end maps...
  EXPECT_FALSE(memory_.TranslateForBackend(kKernelAddress + 0x1000, 1).ok());
  EXPECT_TRUE(memory_.TranslateForBackend(kKernelAddress, 1).ok());
  EXPECT_TRUE(memory_.TranslateForBackend(kKernelAddress + 0x3000, 1).ok());
  // ...and the guest's writes to it stay the guest's.
  ASSERT_TRUE(memory_.WriteObject(kKernelAddress + 0x1000, uint8_t{0xee}).ok());
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  uint8_t on_disk = 0;
  ASSERT_EQ(::pread(file.get(), &on_disk, 1, 0x3000), 1);
  EXPECT_EQ(on_disk, 2);
}

TEST_F(KernelLoaderTest, AFileBzImageAndItsInitrdLandInGuestRam) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-kernel-loader-");
  WriteSparseFile(dir.path() + "/bzImage", MakeBzImage(0x020f, 4, 4096), 0);
  WriteSparseFile(dir.path() + "/initrd", {'c', 'p', 'i', 'o'}, 0);
  auto kernel = LoadKernelFile(dir.path() + "/bzImage", memory_);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(memory_.ReadObject<uint8_t>(0x100000).value(), 0xaa);
  auto initrd = LoadInitrdFile(dir.path() + "/initrd", memory_, *kernel);
  ASSERT_TRUE(initrd.ok()) << initrd.status().message();
  EXPECT_EQ(initrd->size, 4u);
  EXPECT_EQ(initrd->address, (64u << 20) - 4096) << "page-aligned at the top of RAM";
  EXPECT_EQ(memory_.ReadObject<uint32_t>(initrd->address).value(), 0x6f697063u);
}

TEST_F(KernelLoaderTest, MissingEmptyOrOddFilesAreNamed) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-kernel-loader-");
  auto missing = LoadKernelFile(dir.path() + "/nothing", memory_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("kernel " + dir.path() + "/nothing"), std::string::npos);
  auto directory = LoadKernelFile(dir.path(), memory_);
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.status().message().find("not a regular file"), std::string::npos);
  ASSERT_EQ(::mkfifo((dir.path() + "/fifo").c_str(), 0600), 0);
  auto fifo = LoadKernelFile(dir.path() + "/fifo", memory_);  // must not block
  ASSERT_FALSE(fifo.ok());
  EXPECT_NE(fifo.status().message().find("not a regular file"), std::string::npos);
  WriteSparseFile(dir.path() + "/empty", {}, 0);
  LoadedKernel kernel{.entry_point = kKernelAddress, .end = kKernelAddress + 4096};
  auto empty = LoadInitrdFile(dir.path() + "/empty", memory_, kernel);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("is empty"), std::string::npos);
  WriteSparseFile(dir.path() + "/huge", {1}, off_t{1} << 30);
  auto huge = LoadInitrdFile(dir.path() + "/huge", memory_, kernel);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("does not fit"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::vmm
