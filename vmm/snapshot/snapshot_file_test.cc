#include "vmm/snapshot/snapshot_file.h"

#include <gtest/gtest.h>
#include <linux/kvm.h>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"

namespace sandbox::vmm {
namespace {

SnapshotWriter SampleWriter() {
  SnapshotWriter writer;
  kvm_regs regs{};
  regs.rip = 0xffffffff81000000;
  regs.rsp = 0x1234;
  writer.AddStruct("vcpu0/regs", regs);
  writer.AddU64("memory_bytes", 128ull << 20);
  const uint8_t device[] = {1, 2, 3};
  writer.Add("device/serial", device);
  return writer;
}

std::string SampleBytes() {
  Result<std::string> bytes = SampleWriter().Serialize();
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return *bytes;
}

void ExpectRefused(std::string bytes, const std::string& cause) {
  Result<SnapshotReader> reader = SnapshotReader::Parse(std::move(bytes), "/snap/state");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reader.status().message().find("/snap/state"), std::string::npos) << reader.status().message();
  EXPECT_NE(reader.status().message().find(cause), std::string::npos) << reader.status().message();
}

TEST(SnapshotFileTest, SectionsComeBackAsWritten) {
  TempDir dir = TempDir::CreateOrDie("snapshot-test");
  const std::string path = dir.path() + "/state";
  ASSERT_TRUE(SampleWriter().Write(path).ok());
  Result<SnapshotReader> reader = SnapshotReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  kvm_regs regs{};
  ASSERT_TRUE(reader->GetStruct("vcpu0/regs", regs).ok());
  EXPECT_EQ(regs.rip, 0xffffffff81000000u);
  EXPECT_EQ(regs.rsp, 0x1234u);
  EXPECT_EQ(*reader->GetU64("memory_bytes"), 128ull << 20);
  Result<std::span<const uint8_t>> device = reader->Get("device/serial");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(std::vector<uint8_t>(device->begin(), device->end()), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_TRUE(reader->Has("device/serial"));
  EXPECT_FALSE(reader->Has("device/i8042"));
}

// Files written by earlier builds keep loading only while the header's
// checksum stays SHA-256 of the payload: pinned with the empty payload's.
TEST(SnapshotFileTest, TheChecksumIsTheSha256OfThePayload) {
  Result<std::string> bytes = SnapshotWriter().Serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  constexpr size_t kChecksumOffset = 8 + 4 + 4 + 8;  // magic, version, sections, payload size
  ASSERT_EQ(bytes->size(), kChecksumOffset + 32);
  // SHA-256 of no bytes: e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855.
  constexpr uint8_t kEmptySha256[] = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                                      0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                                      0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
  EXPECT_EQ(bytes->substr(kChecksumOffset), std::string(reinterpret_cast<const char*>(kEmptySha256), 32));
}

TEST(SnapshotFileTest, AMissingSectionIsNamed) {
  Result<SnapshotReader> reader = SnapshotReader::Parse(SampleBytes(), "/snap/state");
  ASSERT_TRUE(reader.ok());
  Result<std::span<const uint8_t>> missing = reader->Get("vcpu1/regs");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no section vcpu1/regs"), std::string::npos);
}

TEST(SnapshotFileTest, AStructOfAnotherSizeIsRefusedByName) {
  Result<SnapshotReader> reader = SnapshotReader::Parse(SampleBytes(), "/snap/state");
  ASSERT_TRUE(reader.ok());
  kvm_sregs sregs{};
  Status got = reader->GetStruct("vcpu0/regs", sregs);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.message().find("section vcpu0/regs holds " + std::to_string(sizeof(kvm_regs)) + " bytes"),
            std::string::npos)
      << got.message();
}

TEST(SnapshotFileTest, EveryCorruptionIsRefused) {
  const std::string good = SampleBytes();
  ExpectRefused("", "bad magic");
  ExpectRefused("SBXSNAQ" + good.substr(7), "bad magic");
  ExpectRefused(good.substr(0, 20), "truncated header");
  std::string version = good;
  version[8] = 2;
  ExpectRefused(version, "format version 2");
  ExpectRefused(good.substr(0, good.size() - 1), "payload bytes");
  ExpectRefused(good + "x", "payload bytes");
  std::string flipped = good;
  flipped[flipped.size() - 2] ^= 0x40;
  ExpectRefused(flipped, "checksum mismatch");
  std::string too_many = good;
  too_many[12] = static_cast<char>(0xff);
  too_many[13] = static_cast<char>(0xff);
  ExpectRefused(too_many, "sections, more than the bound");
}

TEST(SnapshotFileTest, AHeaderThatMiscountsSectionsIsRefused) {
  // The checksum covers the payload only: a header that claims one section
  // more (or fewer) than the payload holds must still fail.
  std::string more = SampleBytes();
  more[12] += 1;
  ExpectRefused(more, "section 3 is malformed");
  std::string fewer = SampleBytes();
  fewer[12] -= 1;
  ExpectRefused(fewer, "bytes after the last section");
}

TEST(SnapshotFileTest, DuplicateAndBadNamesAreRefusedAtWrite) {
  SnapshotWriter twice;
  twice.AddU64("a", 1);
  twice.AddU64("a", 2);
  EXPECT_FALSE(twice.Serialize().ok());
  SnapshotWriter unnamed;
  unnamed.AddU64("", 1);
  EXPECT_FALSE(unnamed.Serialize().ok());
}

TEST(SnapshotFileTest, OpenRefusesWhatIsNotAStateFile) {
  TempDir dir = TempDir::CreateOrDie("snapshot-test");
  Result<SnapshotReader> missing = SnapshotReader::Open(dir.path() + "/none");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir.path() + "/none"), std::string::npos);
  Result<SnapshotReader> directory = SnapshotReader::Open(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.status().message().find("not a regular file"), std::string::npos);
  const std::string big = dir.path() + "/big";
  ASSERT_TRUE(WriteFileAtomic(big, std::string(kMaxSnapshotPayload + 1024, 'x')).ok());
  Result<SnapshotReader> oversized = SnapshotReader::Open(big);
  ASSERT_FALSE(oversized.ok());
  EXPECT_NE(oversized.status().message().find("more than a state file can hold"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::vmm
