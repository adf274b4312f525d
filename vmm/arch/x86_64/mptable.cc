#include "vmm/arch/x86_64/mptable.h"

#include <cstring>
#include <numeric>

#include "vmm/arch/x86_64/layout.h"

namespace sandbox::vmm::x86 {
namespace {

#pragma pack(push, 1)
struct MpFloatingPointer {
  char signature[4];
  uint32_t config_table;
  uint8_t length_paragraphs;
  uint8_t spec_revision;
  uint8_t checksum;
  uint8_t features[5];
};
struct MpConfigHeader {
  char signature[4];
  uint16_t length;
  uint8_t spec_revision;
  uint8_t checksum;
  char oem[8];
  char product[12];
  uint32_t oem_table;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t lapic_address;
  uint16_t extended_length;
  uint8_t extended_checksum;
  uint8_t reserved;
};
struct MpProcessor {
  uint8_t type;
  uint8_t apic_id;
  uint8_t apic_version;
  uint8_t flags;
  uint32_t signature;
  uint32_t features;
  uint32_t reserved[2];
};
struct MpBus {
  uint8_t type;
  uint8_t bus_id;
  char bus_type[6];
};
struct MpIoapic {
  uint8_t type;
  uint8_t apic_id;
  uint8_t apic_version;
  uint8_t flags;
  uint32_t address;
};
struct MpInterrupt {  // I/O and local interrupt entries share this layout
  uint8_t type;
  uint8_t interrupt_type;
  uint16_t flags;
  uint8_t source_bus;
  uint8_t source_irq;
  uint8_t destination_apic;
  uint8_t destination_pin;
};
#pragma pack(pop)
static_assert(sizeof(MpFloatingPointer) == 16 && sizeof(MpConfigHeader) == 44 && sizeof(MpProcessor) == 20);
static_assert(sizeof(MpBus) == 8 && sizeof(MpIoapic) == 8 && sizeof(MpInterrupt) == 8);

enum : uint8_t { kEntryProcessor = 0, kEntryBus = 1, kEntryIoapic = 2, kEntryIoInterrupt = 3, kEntryLocalInterrupt = 4 };
enum : uint8_t { kInterruptInt = 0, kInterruptNmi = 1, kInterruptExtInt = 3 };
constexpr uint8_t kSpecRevision = 4;
constexpr uint8_t kApicVersion = 0x14;
constexpr uint8_t kIoapicVersion = 0x11;
constexpr uint8_t kProcessorEnabled = 1;
constexpr uint8_t kProcessorBoot = 2;
constexpr uint32_t kCpuSignature = 0x600;          // family 6
constexpr uint32_t kCpuFeatures = (1u << 9) | 1u;  // APIC, FPU
constexpr uint8_t kAllApics = 0xff;

template <class T>
void Append(std::vector<uint8_t>& out, const T& entry) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

uint8_t Checksum(const uint8_t* data, size_t size) {
  return static_cast<uint8_t>(-std::accumulate(data, data + size, 0u));
}

}  // namespace

Result<std::vector<uint8_t>> BuildMpTable(uint64_t address, uint32_t vcpu_count) {
  // APIC ids are 8 bits and the IOAPIC takes the id after the CPUs'.
  if (vcpu_count == 0 || vcpu_count > 254) return InvalidArgument("the MP table holds 1 to 254 CPUs");
  std::vector<uint8_t> table;
  uint16_t entries = 0;
  table.resize(sizeof(MpFloatingPointer) + sizeof(MpConfigHeader));
  for (uint32_t cpu = 0; cpu < vcpu_count; ++cpu, ++entries) {
    MpProcessor processor{};
    processor.type = kEntryProcessor;
    processor.apic_id = static_cast<uint8_t>(cpu);
    processor.apic_version = kApicVersion;
    processor.flags = kProcessorEnabled | (cpu == 0 ? kProcessorBoot : 0);
    processor.signature = kCpuSignature;
    processor.features = kCpuFeatures;
    Append(table, processor);
  }
  MpBus bus{kEntryBus, 0, {'I', 'S', 'A', ' ', ' ', ' '}};
  Append(table, bus);
  ++entries;
  const auto ioapic_id = static_cast<uint8_t>(IoapicId(vcpu_count));
  Append(table, MpIoapic{kEntryIoapic, ioapic_id, kIoapicVersion, 1, static_cast<uint32_t>(kIoapicAddress)});
  ++entries;
  for (uint32_t pin = 0; pin < kIoapicPins; ++pin, ++entries) {
    const auto irq = static_cast<uint8_t>(pin);
    Append(table, MpInterrupt{kEntryIoInterrupt, kInterruptInt, 0, 0, irq, ioapic_id, irq});
  }
  Append(table, MpInterrupt{kEntryLocalInterrupt, kInterruptExtInt, 0, 0, 0, kAllApics, 0});
  Append(table, MpInterrupt{kEntryLocalInterrupt, kInterruptNmi, 0, 0, 0, kAllApics, 1});
  entries += 2;

  auto* header = reinterpret_cast<MpConfigHeader*>(table.data() + sizeof(MpFloatingPointer));
  std::memcpy(header->signature, "PCMP", 4);
  header->length = static_cast<uint16_t>(table.size() - sizeof(MpFloatingPointer));
  header->spec_revision = kSpecRevision;
  std::memcpy(header->oem, "SANDBOX ", 8);
  std::memcpy(header->product, "SANDBOX-VMM ", 12);
  header->entry_count = entries;
  header->lapic_address = static_cast<uint32_t>(kLapicAddress);
  header->checksum = Checksum(table.data() + sizeof(MpFloatingPointer), header->length);

  auto* pointer = reinterpret_cast<MpFloatingPointer*>(table.data());
  std::memcpy(pointer->signature, "_MP_", 4);
  pointer->config_table = static_cast<uint32_t>(address + sizeof(MpFloatingPointer));
  pointer->length_paragraphs = 1;
  pointer->spec_revision = kSpecRevision;
  pointer->checksum = Checksum(table.data(), sizeof(MpFloatingPointer));
  return table;
}

}  // namespace sandbox::vmm::x86
