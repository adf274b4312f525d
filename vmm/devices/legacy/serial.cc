#include "vmm/devices/legacy/serial.h"

namespace sandbox::vmm {
namespace {

enum Register : uint64_t {
  kData = 0,  // RBR/THR, DLL with DLAB
  kInterruptEnable = 1,  // IER, DLH with DLAB
  kInterruptId = 2,  // IIR on read, FCR on write
  kLineControl = 3,
  kModemControl = 4,
  kLineStatus = 5,
  kModemStatus = 6,
  kScratch = 7,
};

constexpr uint8_t kIerReceivedData = 0x01;
constexpr uint8_t kIerTransmitterEmpty = 0x02;
constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirTransmitterEmpty = 0x02;
constexpr uint8_t kIirReceivedData = 0x04;
constexpr uint8_t kIirFifoEnabled = 0xc0;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrTransmitterIdle = 0x60;  // THR empty and transmitter empty
constexpr uint8_t kMsrConnected = 0xb0;  // DCD, DSR, CTS

}  // namespace

Serial::Serial(UniqueFd output_fd, std::function<void()> raise_interrupt, ConsoleSink::Options output)
    : output_(std::move(output_fd), output), raise_interrupt_(std::move(raise_interrupt)) {}

void Serial::Read(uint64_t offset, std::span<uint8_t> data) {
  if (data.size() != 1) {
    std::fill(data.begin(), data.end(), 0);
    return;
  }
  bool drained = false;
  {
    std::lock_guard lock(mutex_);
    data[0] = ReadRegister(offset, drained);
  }
  if (drained && input_drained_) input_drained_();
}

void Serial::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.size() != 1) return;
  std::lock_guard lock(mutex_);
  WriteRegister(offset, data[0]);
}

uint8_t Serial::InterruptIdentification() {
  if ((interrupt_enable_ & kIerReceivedData) && !input_.empty()) return kIirReceivedData;
  if ((interrupt_enable_ & kIerTransmitterEmpty) && transmitter_empty_pending_) return kIirTransmitterEmpty;
  return kIirNone;
}

Serial::State Serial::SaveState() {
  std::lock_guard lock(mutex_);
  return {interrupt_enable_, line_control_, modem_control_, scratch_, divisor_low_, divisor_high_,
          transmitter_empty_pending_, fifo_enabled_};
}

void Serial::RestoreState(const State& state) {
  std::lock_guard lock(mutex_);
  interrupt_enable_ = state.interrupt_enable;
  line_control_ = state.line_control;
  modem_control_ = state.modem_control;
  scratch_ = state.scratch;
  divisor_low_ = state.divisor_low;
  divisor_high_ = state.divisor_high;
  transmitter_empty_pending_ = state.transmitter_empty_pending != 0;
  fifo_enabled_ = state.fifo_enabled != 0;
  UpdateInterrupt();
}

void Serial::UpdateInterrupt() {
  if (InterruptIdentification() != kIirNone) raise_interrupt_();
}

uint8_t Serial::ReadRegister(uint64_t offset, bool& drained) {
  switch (offset) {
    case kData: {
      if (divisor_latch()) return divisor_low_;
      if (input_.empty()) return 0;
      const bool was_full = input_.size() >= kInputCapacity;
      const uint8_t byte = input_.front();
      input_.pop_front();
      drained = was_full;
      UpdateInterrupt();
      return byte;
    }
    case kInterruptEnable:
      return divisor_latch() ? divisor_high_ : interrupt_enable_;
    case kInterruptId: {
      const uint8_t id = InterruptIdentification();
      // Reading the IIR acknowledges a transmitter-empty interrupt.
      if (id == kIirTransmitterEmpty) transmitter_empty_pending_ = false;
      return id | (fifo_enabled_ ? kIirFifoEnabled : 0);
    }
    case kLineControl:
      return line_control_;
    case kModemControl:
      return modem_control_;
    case kLineStatus:
      return kLsrTransmitterIdle | (input_.empty() ? 0 : kLsrDataReady);
    case kModemStatus:
      if (loopback()) {
        // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (the kernel's probe checks this).
        const uint8_t mcr = modem_control_;
        return static_cast<uint8_t>(((mcr & 0x02) << 3) | ((mcr & 0x01) << 5) | ((mcr & 0x04) << 4) |
                                    ((mcr & 0x08) << 4));
      }
      return kMsrConnected;
    case kScratch:
      return scratch_;
    default:
      return 0;
  }
}

void Serial::WriteRegister(uint64_t offset, uint8_t value) {
  switch (offset) {
    case kData:
      if (divisor_latch()) {
        divisor_low_ = value;
        return;
      }
      if (loopback()) {
        if (input_.size() < kInputCapacity) input_.push_back(value);
      } else {
        output_.Put(value);
      }
      transmitter_empty_pending_ = true;
      UpdateInterrupt();
      return;
    case kInterruptEnable:
      if (divisor_latch()) {
        divisor_high_ = value;
        return;
      }
      // Enabling the THRE interrupt with an empty THR raises it at once, as on
      // real 16550s; the kernel's transmit path relies on that.
      if ((value & kIerTransmitterEmpty) && !(interrupt_enable_ & kIerTransmitterEmpty)) {
        transmitter_empty_pending_ = true;
      }
      interrupt_enable_ = value & 0x0f;
      UpdateInterrupt();
      return;
    case kInterruptId:  // FCR
      fifo_enabled_ = value & 0x01;
      if (value & 0x02) input_.clear();
      return;
    case kLineControl:
      line_control_ = value;
      return;
    case kModemControl:
      modem_control_ = value & 0x1f;
      return;
    case kScratch:
      scratch_ = value;
      return;
    default:
      return;  // LSR and MSR are read-only
  }
}

size_t Serial::EnqueueInput(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  size_t accepted = 0;
  while (accepted < bytes.size() && input_.size() < kInputCapacity) input_.push_back(bytes[accepted++]);
  if (accepted > 0) UpdateInterrupt();
  return accepted;
}

void Serial::FlushOutput() {
  std::lock_guard lock(mutex_);
  output_.Flush();
}

size_t Serial::InputSpace() {
  std::lock_guard lock(mutex_);
  return kInputCapacity - input_.size();
}

}  // namespace sandbox::vmm
