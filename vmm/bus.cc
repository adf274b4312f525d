#include "vmm/bus.h"

#include <algorithm>
#include <fmt/format.h>

namespace sandbox::vmm {

Status Bus::Insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t size) {
  if (size == 0 || base + size < base) return InvalidArgument(fmt::format("{} bus: bad range {:#x}+{:#x}", name_, base, size));
  for (const Entry& entry : entries_) {
    if (base < entry.base + entry.size && entry.base < base + size) {
      return AlreadyExists(fmt::format("{} bus: {:#x}+{:#x} overlaps a device at {:#x}", name_, base, size, entry.base));
    }
  }
  entries_.push_back({base, size, std::move(device)});
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.base < b.base; });
  return Status::Ok();
}

const Bus::Entry* Bus::Find(uint64_t address, uint64_t length) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), address,
                             [](uint64_t value, const Entry& entry) { return value < entry.base; });
  if (it == entries_.begin()) return nullptr;
  const Entry& entry = *std::prev(it);
  const uint64_t offset = address - entry.base;
  if (offset >= entry.size || length > entry.size - offset) return nullptr;
  return &entry;
}

bool Bus::Read(uint64_t address, std::span<uint8_t> data) const {
  const Entry* entry = Find(address, data.size());
  if (entry == nullptr) return false;
  entry->device->Read(address - entry->base, data);
  return true;
}

bool Bus::Write(uint64_t address, std::span<const uint8_t> data) const {
  const Entry* entry = Find(address, data.size());
  if (entry == nullptr) return false;
  entry->device->Write(address - entry->base, data);
  return true;
}

}  // namespace sandbox::vmm
