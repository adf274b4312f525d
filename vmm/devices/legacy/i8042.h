// Enough of the i8042 keyboard controller for a guest to reset the machine
// and for the kernel's i8042 driver to probe it quickly: Linux with
// `reboot=k` writes 0xfe (pulse reset line) to port 0x64, which is how the
// guest ends the VM. Controller commands get the answers a real controller
// gives (self-test passed, no AUX port), so the probe never waits for a timeout.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "vmm/bus.h"

namespace sandbox::vmm {

class I8042 : public BusDevice {
 public:
  static constexpr uint64_t kBase = 0x60;
  static constexpr uint64_t kSize = 5;  // ports 0x60..0x64

  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::mutex mutex_;
  std::function<void()> on_reset_;
  uint8_t command_byte_ = 0;
  std::deque<uint8_t> output_;
  uint8_t pending_command_ = 0;  // a controller command waiting for its data byte
};

}  // namespace sandbox::vmm
