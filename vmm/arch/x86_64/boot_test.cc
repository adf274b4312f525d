#include <asm/e820.h>
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/mptable.h"
#include "vmm/arch/x86_64/vcpu_setup.h"

namespace sandbox::vmm::x86 {
namespace {

TEST(BootParamsTest, DescribesLowMemoryAndCommandLine) {
  BootParamsInput input;
  input.ram = {{0, 256ull << 20}};
  input.command_line_address = kCommandLineAddress;
  input.command_line_size = 42;
  input.initrd_address = 0xff00000;
  input.initrd_size = 0x100000;
  auto params = BuildBootParams(input);
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_EQ(params->hdr.boot_flag, 0xaa55);
  EXPECT_EQ(params->hdr.header, 0x53726448u);
  EXPECT_EQ(params->hdr.type_of_loader, 0xff);
  EXPECT_EQ(params->hdr.cmd_line_ptr, kCommandLineAddress);
  EXPECT_EQ(params->hdr.cmdline_size, 42u);
  EXPECT_EQ(params->hdr.ramdisk_image, 0xff00000u);
  EXPECT_EQ(params->hdr.ramdisk_size, 0x100000u);
  ASSERT_EQ(params->e820_entries, 3);
  EXPECT_EQ(params->e820_table[0].addr, 0u);
  EXPECT_EQ(params->e820_table[0].size, kEbdaStart);
  EXPECT_EQ(params->e820_table[1].type, static_cast<uint32_t>(E820_RESERVED));
  EXPECT_EQ(params->e820_table[2].addr, kHighMemoryStart);
  EXPECT_EQ(params->e820_table[2].size, (256ull << 20) - kHighMemoryStart);
}

TEST(BootParamsTest, AddsMemoryAboveTheGap) {
  BootParamsInput input;
  input.ram = {{0, 0xc0000000}, {0x100000000, 1ull << 30}};
  auto params = BuildBootParams(input);
  ASSERT_TRUE(params.ok());
  ASSERT_EQ(params->e820_entries, 4);
  EXPECT_EQ(params->e820_table[3].addr, 0x100000000u);
  EXPECT_EQ(params->e820_table[3].size, 1ull << 30);
  EXPECT_EQ(params->e820_table[3].type, static_cast<uint32_t>(E820_RAM));
}

TEST(BootParamsTest, RejectsMemoryThatEndsBelowOneMebibyte) {
  BootParamsInput input;
  input.ram = {{0, 0x80000}};
  EXPECT_FALSE(BuildBootParams(input).ok());
}

uint8_t Sum(const std::vector<uint8_t>& bytes, size_t offset, size_t length) {
  return static_cast<uint8_t>(std::accumulate(bytes.begin() + offset, bytes.begin() + offset + length, 0u));
}

TEST(MpTableTest, ChecksumsAndEntriesAreConsistent) {
  auto table = BuildMpTable(kEbdaStart, 4);
  ASSERT_TRUE(table.ok());
  const std::vector<uint8_t>& bytes = *table;
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "_MP_");
  EXPECT_EQ(Sum(bytes, 0, 16), 0) << "floating pointer checksum";
  uint32_t config_address;
  std::memcpy(&config_address, bytes.data() + 4, 4);
  EXPECT_EQ(config_address, kEbdaStart + 16);
  EXPECT_EQ(std::string(bytes.begin() + 16, bytes.begin() + 20), "PCMP");
  uint16_t length, entries;
  std::memcpy(&length, bytes.data() + 16 + 4, 2);
  std::memcpy(&entries, bytes.data() + 16 + 34, 2);
  EXPECT_EQ(length + 16u, bytes.size());
  EXPECT_EQ(Sum(bytes, 16, length), 0) << "configuration table checksum";
  // 4 CPUs, a bus, the IOAPIC, 24 I/O interrupts, 2 local interrupts.
  EXPECT_EQ(entries, 4 + 1 + 1 + kIoapicPins + 2);
  // First processor entry: APIC id 0, enabled and the boot processor.
  EXPECT_EQ(bytes[16 + 44], 0);
  EXPECT_EQ(bytes[16 + 44 + 1], 0);
  EXPECT_EQ(bytes[16 + 44 + 3], 3);
  EXPECT_EQ(bytes[16 + 44 + 20 + 1], 1) << "second CPU's APIC id";
  EXPECT_EQ(bytes[16 + 44 + 20 + 3], 1) << "second CPU is not the boot processor";
}

TEST(MpTableTest, RejectsImpossibleCpuCounts) {
  EXPECT_FALSE(BuildMpTable(kEbdaStart, 0).ok());
  EXPECT_FALSE(BuildMpTable(kEbdaStart, 255).ok());
}

kvm_cpuid_entry2 Leaf(uint32_t function, uint32_t index = 0) {
  kvm_cpuid_entry2 entry{};
  entry.function = function;
  entry.index = index;
  entry.ebx = 0xffff'ffff;
  return entry;
}

TEST(CpuidTest, SetsApicIdHypervisorBitAndTopology) {
  const auto filtered = FilterCpuid({Leaf(1), Leaf(0xb, 0), Leaf(0xb, 1), Leaf(0xb, 2)}, 3, 4);
  EXPECT_EQ(filtered[0].ebx >> 24, 3u) << "APIC id";
  EXPECT_EQ((filtered[0].ebx >> 16) & 0xff, 4u) << "logical processors";
  EXPECT_TRUE(filtered[0].ecx & (1u << 31)) << "hypervisor bit";
  EXPECT_TRUE(filtered[0].edx & (1u << 28)) << "HTT with more than one CPU";
  EXPECT_EQ(filtered[1].ebx, 1u) << "one thread per core";
  EXPECT_EQ(filtered[2].ebx, 4u) << "four cores";
  EXPECT_EQ(filtered[2].eax, 2u) << "two bits of core id";
  EXPECT_EQ(filtered[1].edx, 3u) << "x2APIC id";
  EXPECT_EQ(filtered[3].ebx, 0u) << "no level past cores";
}

TEST(CpuidTest, OffersTheInKernelApicsModes) {
  const auto without = FilterCpuid({Leaf(1)}, 0, 1);
  EXPECT_TRUE(without[0].ecx & (1u << 21)) << "x2APIC";
  EXPECT_FALSE(without[0].ecx & (1u << 24)) << "TSC deadline only where KVM says it emulates it";
  const auto with = FilterCpuid({Leaf(1)}, 0, 1, {.tsc_deadline_timer = true});
  EXPECT_TRUE(with[0].ecx & (1u << 24)) << "TSC deadline";
}

TEST(GdtTest, EncodesAndDecodesLinuxBootSegments) {
  EXPECT_EQ(GdtEntry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
  EXPECT_EQ(GdtEntry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
  const kvm_segment code = SegmentFromGdtEntry(GdtEntry(0xa09b, 0, 0xfffff), 1);
  EXPECT_EQ(code.selector, 8);
  EXPECT_EQ(code.l, 1);
  EXPECT_EQ(code.g, 1);
  EXPECT_EQ(code.limit, 0xffffffffu);
  EXPECT_EQ(code.type, 0xb);
  EXPECT_EQ(code.present, 1);
  const kvm_segment data = SegmentFromGdtEntry(GdtEntry(0xc093, 0, 0xfffff), 2);
  EXPECT_EQ(data.db, 1);
  EXPECT_EQ(data.l, 0);
  EXPECT_EQ(data.type, 3);
}

TEST(BootTablesTest, IdentityMapsTheFirstGibibyte) {
  auto memory = GuestMemory::Create(64 << 20);
  ASSERT_TRUE(memory.ok());
  ASSERT_TRUE(WriteBootTables(*memory).ok());
  EXPECT_EQ(memory->ReadObject<uint64_t>(kPml4Address).value(), kPdptAddress | 3);
  EXPECT_EQ(memory->ReadObject<uint64_t>(kPdptAddress).value(), kPdAddress | 3);
  EXPECT_EQ(memory->ReadObject<uint64_t>(kPdAddress + 8 * 511).value(), (511ull << 21) | 0x83);
  EXPECT_EQ(memory->ReadObject<uint64_t>(kGdtAddress + 8).value(), 0x00af9b000000ffffull);
}

}  // namespace
}  // namespace sandbox::vmm::x86
