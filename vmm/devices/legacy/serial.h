// An 8250/16550A UART at the COM1 ports: the guest console. Output goes to a
// ConsoleSink (stdout or a log file, bounded); input comes from another fd
// (stdin) through the event loop, at most kInputCapacity bytes ahead of the
// guest.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "vmm/bus.h"
#include "vmm/devices/legacy/console_sink.h"

namespace sandbox::vmm {

class Serial : public BusDevice {
 public:
  static constexpr uint64_t kCom1Base = 0x3f8;
  static constexpr uint64_t kRegisterCount = 8;
  static constexpr size_t kInputCapacity = 64;

  // An invalid `output_fd` discards output; `output` says how it is written.
  // `raise_interrupt` pulses the UART's IRQ.
  Serial(UniqueFd output_fd, std::function<void()> raise_interrupt, ConsoleSink::Options output = {.block_bytes = 1});

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues console input; returns how many bytes fitted.
  size_t EnqueueInput(std::span<const uint8_t> bytes);
  // Writes out console output still held (a line without its newline yet).
  void FlushOutput();
  size_t InputSpace();
  // Called (without the lock held) when the guest drains input after it was full.
  void SetInputDrainedCallback(std::function<void()> callback) { input_drained_ = std::move(callback); }

  // What a snapshot keeps: the registers and the interrupt owed (queued
  // console input is the host's, not the guest's, and is not kept).
  struct State {
    uint8_t interrupt_enable, line_control, modem_control, scratch, divisor_low, divisor_high;
    uint8_t transmitter_empty_pending, fifo_enabled;
  };
  State SaveState();
  // Raises the interrupt again when one is owed (a spare one is harmless).
  void RestoreState(const State& state);

 private:
  uint8_t ReadRegister(uint64_t offset, bool& drained);
  void WriteRegister(uint64_t offset, uint8_t value);
  uint8_t InterruptIdentification();
  void UpdateInterrupt();
  bool divisor_latch() const { return line_control_ & 0x80; }
  bool loopback() const { return modem_control_ & 0x10; }

  std::mutex mutex_;
  ConsoleSink output_;
  std::function<void()> raise_interrupt_;
  std::function<void()> input_drained_;
  std::deque<uint8_t> input_;
  uint8_t interrupt_enable_ = 0;
  uint8_t line_control_ = 0x03;  // 8N1
  uint8_t modem_control_ = 0x08;  // OUT2
  uint8_t scratch_ = 0;
  uint8_t divisor_low_ = 0x0c;  // 9600 baud
  uint8_t divisor_high_ = 0;
  bool transmitter_empty_pending_ = false;
  bool fifo_enabled_ = false;
};

}  // namespace sandbox::vmm
