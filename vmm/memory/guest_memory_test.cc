#include "vmm/memory/guest_memory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
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

}  // namespace
}  // namespace sandbox::vmm
