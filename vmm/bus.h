// A bus maps address ranges (port I/O or MMIO) to devices. It is filled before
// the vCPUs start and read-only afterwards, so lookups need no lock; each
// device guards its own state.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sandbox::vmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // `offset` is relative to the device's base; data.size() is the access width.
  virtual void Read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void Write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}
  // Fails if the range is empty, wraps or overlaps another device.
  Status Insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t size);
  // False when no device covers the whole access.
  bool Read(uint64_t address, std::span<uint8_t> data) const;
  bool Write(uint64_t address, std::span<const uint8_t> data) const;

 private:
  struct Entry {
    uint64_t base;
    uint64_t size;
    std::shared_ptr<BusDevice> device;
  };
  const Entry* Find(uint64_t address, uint64_t length) const;

  std::string name_;
  std::vector<Entry> entries_;  // sorted by base
};

}  // namespace sandbox::vmm
