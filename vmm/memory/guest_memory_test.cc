#include "vmm/memory/guest_memory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/temp_dir.h"

namespace sandbox::vmm {
namespace {

TEST(GuestMemoryTest, ASnapshotFileMapsBackCopyOnWrite) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  constexpr uint64_t kSize = 1 << 20;
  {
    Result<GuestMemory> memory = GuestMemory::Create(kSize);
    ASSERT_TRUE(memory.ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(0x1000, 0x1122334455667788).ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(kSize - 8, 42).ok());
    UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(file.valid());
    ASSERT_TRUE(memory->WriteAllTo(file.get()).ok());
  }
  Result<GuestMemory> restored = GuestMemory::MapSnapshotFile(path, kSize);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_EQ(*restored->ReadObject<uint64_t>(0x1000), 0x1122334455667788u);
  EXPECT_EQ(*restored->ReadObject<uint64_t>(kSize - 8), 42u);
  EXPECT_EQ(restored->memfd(), -1);
  // A write lands in this VM's private copy, never in the shared file.
  ASSERT_TRUE(restored->WriteObject<uint64_t>(0x1000, 7).ok());
  Result<GuestMemory> other = GuestMemory::MapSnapshotFile(path, kSize);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other->ReadObject<uint64_t>(0x1000), 0x1122334455667788u);
}

TEST(GuestMemoryTest, ASnapshotFileOfAnotherSizeIsRefused) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_EQ(::ftruncate(file.get(), 8192), 0);
  Result<GuestMemory> restored = GuestMemory::MapSnapshotFile(path, 1 << 20);
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.status().message().find("8192 bytes, the snapshot's guest has 1048576"), std::string::npos)
      << restored.status().message();
  EXPECT_FALSE(GuestMemory::MapSnapshotFile(dir.path() + "/none", 1 << 20).ok());
}

// Writes `memory` to a new file at `path`.
void WriteSnapshotMemory(const GuestMemory& memory, const std::string& path) {
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(file.valid());
  Status written = memory.WriteAllTo(file.get());
  ASSERT_TRUE(written.ok()) << written.message();
}

TEST(GuestMemoryTest, ZeroPagesAreHolesAndACopyReadsTheRest) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  constexpr uint64_t kSize = 16 << 20;
  Result<GuestMemory> memory = GuestMemory::Create(kSize);
  ASSERT_TRUE(memory.ok());
  ASSERT_TRUE(memory->WriteObject<uint64_t>(0x3000, 0xabcdef).ok());
  ASSERT_TRUE(memory->WriteObject<uint64_t>(0x800008, 99).ok());
  // Touched, then zeroed again: read, found zero, left a hole.
  ASSERT_TRUE(memory->WriteObject<uint64_t>(0x900000, 1).ok());
  ASSERT_TRUE(memory->WriteObject<uint64_t>(0x900000, 0).ok());
  WriteSnapshotMemory(*memory, path);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(static_cast<uint64_t>(info.st_size), kSize);
  // Two pages of data and the last page (which sets the size).
  EXPECT_LE(static_cast<uint64_t>(info.st_blocks) * 512, 3 * 4096u + 8192) << info.st_blocks;

  Result<GuestMemory> copy = GuestMemory::CopySnapshotFile(path, kSize);
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  EXPECT_GE(copy->memfd(), 0);  // a vhost-user back-end can map it
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x3000), 0xabcdefu);
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x800008), 99u);
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x900000), 0u);
  // The copy is the VM's own: the file does not change.
  ASSERT_TRUE(copy->WriteObject<uint64_t>(0x3000, 5).ok());
  Result<GuestMemory> again = GuestMemory::CopySnapshotFile(path, kSize);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again->ReadObject<uint64_t>(0x3000), 0xabcdefu);
  EXPECT_FALSE(GuestMemory::CopySnapshotFile(path, kSize * 2).ok());
}

TEST(GuestMemoryTest, ACopyMapsTheKernelTextCopyOnWriteAndKeepsItFromTheBackend) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  constexpr uint64_t kSize = 16 << 20;
  constexpr GuestRange kText{.address = 0x400000, .size = 0x200000};
  {
    Result<GuestMemory> memory = GuestMemory::Create(kSize);
    ASSERT_TRUE(memory.ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(kText.address - 8, 1).ok());  // just below: copied
    ASSERT_TRUE(memory->WriteObject<uint64_t>(kText.address, 2).ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(kText.address + kText.size - 8, 3).ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(kText.address + kText.size, 4).ok());  // just above: copied
    WriteSnapshotMemory(*memory, path);
  }
  Result<GuestMemory> copy = GuestMemory::CopySnapshotFile(path, kSize, {kText});
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  const uint64_t end = kText.address + kText.size;
  for (const auto& [address, value] : std::vector<std::pair<uint64_t, uint64_t>>{
           {kText.address - 8, 1}, {kText.address, 2}, {end - 8, 3}, {end, 4}}) {
    EXPECT_EQ(*copy->ReadObject<uint64_t>(address), value) << std::hex << address;
  }
  // The memfd holds no page of the text: the back-end never sees it.
  EXPECT_EQ(::lseek(copy->memfd(), static_cast<off_t>(kText.address), SEEK_DATA),
            static_cast<off_t>(kText.address + kText.size));
  ASSERT_EQ(copy->backend_regions().size(), 2u);
  EXPECT_EQ(copy->backend_regions()[0].guest_address, 0u);
  EXPECT_EQ(copy->backend_regions()[0].size, kText.address);
  EXPECT_EQ(copy->backend_regions()[1].guest_address, kText.address + kText.size);
  EXPECT_EQ(copy->backend_regions()[1].memfd_offset, kText.address + kText.size);
  EXPECT_EQ(copy->backend_regions()[1].host, copy->regions()[0].host + kText.address + kText.size);
  EXPECT_EQ(copy->backend_regions()[1].size, kSize - kText.address - kText.size);
  // A write to the text (a patched instruction) stays this VM's own.
  ASSERT_TRUE(copy->WriteObject<uint64_t>(kText.address, 5).ok());
  Result<GuestMemory> again = GuestMemory::CopySnapshotFile(path, kSize, {kText});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again->ReadObject<uint64_t>(kText.address), 2u);
  // Snapshotted again, the text is written out like the rest.
  WriteSnapshotMemory(*copy, dir.path() + "/second");
  Result<GuestMemory> second = GuestMemory::CopySnapshotFile(dir.path() + "/second", kSize);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second->ReadObject<uint64_t>(kText.address), 5u);
  EXPECT_EQ(*second->ReadObject<uint64_t>(kText.address + kText.size - 8), 3u);
  EXPECT_EQ(*second->ReadObject<uint64_t>(kText.address + kText.size), 4u);
}

// What a restore pre-faults: the file's data, whether mapped or copied, and
// the copy-on-write text with it.
TEST(GuestMemoryTest, RestoredMemoryKnowsWhichPagesHeldData) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  constexpr uint64_t kSize = 4 << 20;
  {
    Result<GuestMemory> memory = GuestMemory::Create(kSize);
    ASSERT_TRUE(memory.ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(0x1000, 1).ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(0x5ff8, 2).ok());
    ASSERT_TRUE(memory->WriteObject<uint64_t>(0x6000, 3).ok());
    WriteSnapshotMemory(*memory, path);
  }
  // The last page is always written (it gives the file its size).
  const std::vector<std::pair<uint64_t, uint64_t>> expected = {{0x1000, 0x1000}, {0x5000, 0x2000},
                                                                {kSize - 0x1000, 0x1000}};
  const auto ranges = [](const GuestMemory& memory) {
    std::vector<std::pair<uint64_t, uint64_t>> found;
    for (const GuestRange& range : memory.restored_data()) found.emplace_back(range.address, range.size);
    return found;
  };
  Result<GuestMemory> mapped = GuestMemory::MapSnapshotFile(path, kSize);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(ranges(*mapped), expected);
  Result<GuestMemory> copied = GuestMemory::CopySnapshotFile(path, kSize, {GuestRange{0x5000, 0x1000}});
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(ranges(*copied), expected);
  EXPECT_EQ(*copied->ReadObject<uint64_t>(0x5ff8), 2u);
  EXPECT_EQ(*copied->ReadObject<uint64_t>(0x6000), 3u);
  Result<GuestMemory> fresh = GuestMemory::Create(kSize);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh->restored_data().empty());
}

TEST(GuestMemoryTest, ACopyOnWriteRangeMustBeWholePagesOfRam) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  constexpr uint64_t kSize = 1 << 20;
  WriteSnapshotMemory(GuestMemory::Create(kSize).value(), path);
  for (const GuestRange range : {GuestRange{0x1000, 0}, GuestRange{0x1001, 0x1000}, GuestRange{0x1000, 0x800},
                                 GuestRange{kSize - 0x1000, 0x2000}, GuestRange{~0ull & ~0xfffull, 0x1000}}) {
    Result<GuestMemory> copy = GuestMemory::CopySnapshotFile(path, kSize, {range});
    EXPECT_FALSE(copy.ok()) << std::hex << range.address << "+" << range.size;
  }
}

TEST(GuestMemoryTest, SeveralCopyOnWriteRangesAreEachLeftOutOfTheBackendsView) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  constexpr uint64_t kSize = 1 << 20;
  // Given out of order, as a guest may list them; the second touches the third.
  const std::vector<GuestRange> kRanges = {{0x8000, 0x2000}, {0x3000, 0x1000}, {0x4000, 0x1000}};
  {
    GuestMemory image = GuestMemory::Create(kSize).value();
    for (uint64_t page = 0; page < 0xc000; page += 0x1000) ASSERT_TRUE(image.WriteObject<uint64_t>(page, page + 1).ok());
    WriteSnapshotMemory(image, path);
  }
  Result<GuestMemory> copy = GuestMemory::CopySnapshotFile(path, kSize, kRanges);
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  for (uint64_t page = 0; page < 0xc000; page += 0x1000) {
    EXPECT_EQ(*copy->ReadObject<uint64_t>(page), page + 1) << std::hex << page;
  }
  // The memfd holds only what lies outside the ranges.
  std::vector<std::pair<uint64_t, uint64_t>> backend;
  for (const MemoryRegion& region : copy->backend_regions()) {
    backend.emplace_back(region.guest_address, region.size);
    EXPECT_EQ(region.host, copy->regions()[0].host + region.memfd_offset);
    EXPECT_EQ(region.memfd_offset, region.guest_address);
  }
  const std::vector<std::pair<uint64_t, uint64_t>> expected = {{0, 0x3000}, {0x5000, 0x3000}, {0xa000, kSize - 0xa000}};
  EXPECT_EQ(backend, expected);
  for (const GuestRange& range : kRanges) {
    EXPECT_FALSE(copy->TranslateForBackend(range.address, 8).ok()) << std::hex << range.address;
  }
  EXPECT_EQ(::lseek(copy->memfd(), 0x3000, SEEK_DATA), 0x5000);
  EXPECT_EQ(::lseek(copy->memfd(), 0x8000, SEEK_DATA), 0xa000);
  // A snapshot of the copy holds the ranges' pages as well.
  const std::string again_path = dir.path() + "/again";
  WriteSnapshotMemory(*copy, again_path);
  GuestMemory again = GuestMemory::MapSnapshotFile(again_path, kSize).value();
  for (uint64_t page = 0; page < 0xc000; page += 0x1000) {
    EXPECT_EQ(*again.ReadObject<uint64_t>(page), page + 1) << std::hex << page;
  }
  // Discarding across two ranges: each page as its kind wants.
  ASSERT_TRUE(copy->WriteObject<uint64_t>(0x4000, 99).ok());
  EXPECT_EQ(copy->Discard(0x2000, 0x4000).value(), 0x4000u);
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x2000), 0u);
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x3000), 0x3001u);
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x4000), 0x4001u) << "a private copy is dropped for the file's page";
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x5000), 0u);
  EXPECT_EQ(*copy->ReadObject<uint64_t>(0x6000), 0x6001u);
}

TEST(GuestMemoryTest, CopyOnWriteRangesMayNotOverlap) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  constexpr uint64_t kSize = 1 << 20;
  WriteSnapshotMemory(GuestMemory::Create(kSize).value(), path);
  Result<GuestMemory> copy = GuestMemory::CopySnapshotFile(path, kSize, {{0x2000, 0x2000}, {0x3000, 0x2000}});
  ASSERT_FALSE(copy.ok());
  EXPECT_NE(copy.status().message().find("overlaps"), std::string::npos) << copy.status().message();
}

TEST(GuestMemoryTest, AFileMapsCopyOnWriteAtAPageAlignedOffset) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/image";
  constexpr uint64_t kSize = 1 << 20;
  WriteSnapshotMemory(GuestMemory::Create(kSize).value(), path);
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  GuestMemory memory = GuestMemory::Create(kSize).value();
  EXPECT_FALSE(memory.MapFileCopyOnWrite(file.get(), 0x800, {0x2000, 0x1000}).ok()) << "unaligned file offset";
  EXPECT_FALSE(memory.MapFileCopyOnWrite(file.get(), 0, {0x2000, 0x800}).ok()) << "not whole pages";
  ASSERT_TRUE(memory.MapFileCopyOnWrite(file.get(), 0x1000, {0x2000, 0x1000}).ok());
  EXPECT_FALSE(memory.MapFileCopyOnWrite(file.get(), 0x1000, {0x1000, 0x2000}).ok()) << "over the first range";
  EXPECT_TRUE(memory.MapFileCopyOnWrite(file.get(), 0x1000, {0x4000, 0x1000}).ok()) << "a second range";
  GuestMemory mapped = GuestMemory::MapSnapshotFile(path, kSize).value();
  EXPECT_FALSE(mapped.MapFileCopyOnWrite(file.get(), 0, {0x2000, 0x1000}).ok()) << "no memfd";
}

TEST(GuestMemoryTest, DiscardedPagesReadAsZerosOrAsTheirFileAgain) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/image";
  constexpr uint64_t kSize = 1 << 20;
  {
    GuestMemory image = GuestMemory::Create(kSize).value();
    ASSERT_TRUE(image.WriteObject<uint64_t>(0x2000, 7).ok());
    WriteSnapshotMemory(image, path);
  }
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  GuestMemory memory = GuestMemory::Create(kSize).value();
  ASSERT_TRUE(memory.MapFileCopyOnWrite(file.get(), 0x2000, {0x2000, 0x1000}).ok());
  for (uint64_t page : {0x1000, 0x2000, 0x3000}) ASSERT_TRUE(memory.WriteObject<uint64_t>(page, 9).ok());
  // Whole pages only: the first half page and the last are kept.
  EXPECT_EQ(memory.Discard(0x0800, 0x3000).value(), 0x2000u);
  EXPECT_EQ(memory.ReadObject<uint64_t>(0x1000).value(), 0u);
  EXPECT_EQ(memory.ReadObject<uint64_t>(0x2000).value(), 7u) << "the copy-on-write page reads its file again";
  EXPECT_EQ(memory.ReadObject<uint64_t>(0x3000).value(), 9u);
  EXPECT_FALSE(memory.Discard(kSize - 0x1000, 0x2000).ok()) << "beyond RAM";
  GuestMemory restored = GuestMemory::MapSnapshotFile(path, kSize).value();
  ASSERT_TRUE(restored.WriteObject<uint64_t>(0x2000, 9).ok());
  EXPECT_EQ(restored.Discard(0x2000, 0x1000).value(), 0x1000u);
  EXPECT_EQ(restored.ReadObject<uint64_t>(0x2000).value(), 7u);
}

TEST(GuestMemoryTest, RestoredMemoryIsSnapshottedAgain) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  constexpr uint64_t kSize = 1 << 20;
  Result<GuestMemory> memory = GuestMemory::Create(kSize);
  ASSERT_TRUE(memory.ok());
  ASSERT_TRUE(memory->WriteObject<uint64_t>(0x2000, 17).ok());
  WriteSnapshotMemory(*memory, dir.path() + "/first");
  Result<GuestMemory> restored = GuestMemory::MapSnapshotFile(dir.path() + "/first", kSize);
  ASSERT_TRUE(restored.ok());
  ASSERT_TRUE(restored->WriteObject<uint64_t>(0x5000, 18).ok());
  WriteSnapshotMemory(*restored, dir.path() + "/second");
  Result<GuestMemory> second = GuestMemory::MapSnapshotFile(dir.path() + "/second", kSize);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second->ReadObject<uint64_t>(0x2000), 17u);
  EXPECT_EQ(*second->ReadObject<uint64_t>(0x5000), 18u);
}

TEST(GuestMemoryTest, AMemoryFileWithContentIsNotWrittenOver) {
  TempDir dir = TempDir::CreateOrDie("guest-memory-test");
  const std::string path = dir.path() + "/memory";
  Result<GuestMemory> memory = GuestMemory::Create(1 << 20);
  ASSERT_TRUE(memory.ok());
  UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_EQ(::write(file.get(), "stale", 5), 5);
  Status written = memory->WriteAllTo(file.get());
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.message().find("memory file is not empty"), std::string::npos) << written.message();
}

}  // namespace
}  // namespace sandbox::vmm
