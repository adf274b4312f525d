// Enough of the i8042 keyboard controller for a guest to reset the machine
// and for the kernel's i8042 driver to probe it quickly: Linux with
// `reboot=k` writes 0xfe (pulse reset line) to port 0x64, which is how the
// guest ends the VM. Controller commands get the answers a real controller
// gives (self-test passed, no AUX port), so the probe never waits for a timeout.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <mutex>

#include "vmm/bus.h"

namespace sandbox::vmm {

class I8042 : public BusDevice {
 public:
  static constexpr uint64_t kBase = 0x60;
  static constexpr uint64_t kSize = 5;  // ports 0x60..0x64

  static constexpr uint32_t kKeyboardIrq = 1;

  // `raise_interrupt` pulses IRQ 1 when keyboard data waits and the guest
  // enabled keyboard interrupts.
  I8042(std::function<void()> on_reset, std::function<void()> raise_interrupt = {})
      : on_reset_(std::move(on_reset)), raise_interrupt_(std::move(raise_interrupt)) {}

  // Types Ctrl+Alt+Del (scan code set 2, make and break): a Linux guest's
  // keyboard driver passes it to init as a shutdown request. This is the
  // "ask the guest" half of a graceful shutdown.
  void SendCtrlAltDel();

  // What a snapshot keeps: the command byte and half-done commands (bytes
  // still owed to the guest are few and transient, and not kept).
  struct State {
    uint8_t command_byte, pending_command, pending_keyboard_command;
  };
  State SaveState();
  void RestoreState(const State& state);

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::mutex mutex_;
  void QueueOutput(std::initializer_list<uint8_t> bytes);  // with mutex_ held
  std::function<void()> on_reset_;
  std::function<void()> raise_interrupt_;
  uint8_t pending_keyboard_command_ = 0;  // a keyboard command waiting for its argument
  uint8_t command_byte_ = 0;
  std::deque<uint8_t> output_;
  uint8_t pending_command_ = 0;  // a controller command waiting for its data byte
};

}  // namespace sandbox::vmm
