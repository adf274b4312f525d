#include "vmm/devices/legacy/i8042.h"

namespace sandbox::vmm {
namespace {

constexpr uint64_t kDataPort = 0;     // 0x60
constexpr uint64_t kCommandPort = 4;  // 0x64
constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusSystemFlag = 0x04;
constexpr uint8_t kStatusNotInhibited = 0x10;  // "keylock" off
constexpr uint8_t kCommandReadByte = 0x20;
constexpr uint8_t kCommandWriteByte = 0x60;
constexpr uint8_t kCommandAuxTest = 0xa9;
constexpr uint8_t kCommandSelfTest = 0xaa;
constexpr uint8_t kCommandKeyboardTest = 0xab;
constexpr uint8_t kCommandWriteAux = 0xd4;
constexpr uint8_t kCommandPulseReset = 0xfe;
constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kInterfaceOk = 0x00;
constexpr uint8_t kInterfaceAbsent = 0xff;  // no mouse behind the AUX port
constexpr uint8_t kKeyboardAck = 0xfa;
constexpr uint8_t kKeyboardReset = 0xff;
constexpr uint8_t kKeyboardSelfTestPassed = 0xaa;
constexpr uint8_t kKeyboardGetId = 0xf2;
constexpr uint8_t kKeyboardSetLeds = 0xed;
constexpr uint8_t kKeyboardSetTypematic = 0xf3;
constexpr uint8_t kKeyboardScanCodeSet = 0xf0;
constexpr uint8_t kKeyboardIdFirst = 0xab;  // an MF2 keyboard
constexpr uint8_t kKeyboardIdSecond = 0x83;
constexpr uint8_t kCommandByteKeyboardInterrupt = 0x01;
constexpr size_t kMaxOutput = 16;

}  // namespace

void I8042::Read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  if (data.size() != 1) return;
  std::lock_guard lock(mutex_);
  if (offset == kCommandPort) {
    data[0] = kStatusSystemFlag | kStatusNotInhibited | (output_.empty() ? 0 : kStatusOutputFull);
  } else if (offset == kDataPort && !output_.empty()) {
    data[0] = output_.front();
    output_.pop_front();
    // One byte per interrupt, as on the real controller.
    if (!output_.empty() && (command_byte_ & kCommandByteKeyboardInterrupt) && raise_interrupt_) raise_interrupt_();
  }
}

void I8042::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.size() != 1) return;
  const uint8_t value = data[0];
  bool reset = false;
  {
    std::lock_guard lock(mutex_);
    auto reply = [this](uint8_t byte) {
      if (output_.size() < kMaxOutput) output_.push_back(byte);
    };
    if (offset == kCommandPort) {
      pending_command_ = 0;
      switch (value) {
        case kCommandReadByte:
          reply(command_byte_);
          break;
        case kCommandWriteByte:
        case kCommandWriteAux:
          pending_command_ = value;
          break;
        case kCommandSelfTest:
          reply(kSelfTestPassed);
          break;
        case kCommandKeyboardTest:
          reply(kInterfaceOk);
          break;
        case kCommandAuxTest:
          reply(kInterfaceAbsent);
          break;
        case kCommandPulseReset:
          reset = true;
          break;
        default:
          break;  // enable/disable ports and the like need no answer
      }
    } else if (offset == kDataPort) {
      if (pending_command_ == kCommandWriteByte) {
        command_byte_ = value;
      } else if (pending_command_ == 0) {
        // A byte for the keyboard: every command and argument is acknowledged.
        if (pending_keyboard_command_ != 0) {
          QueueOutput({kKeyboardAck});
          pending_keyboard_command_ = 0;
        } else if (value == kKeyboardReset) {
          QueueOutput({kKeyboardAck, kKeyboardSelfTestPassed});
        } else if (value == kKeyboardGetId) {
          QueueOutput({kKeyboardAck, kKeyboardIdFirst, kKeyboardIdSecond});
        } else {
          if (value == kKeyboardSetLeds || value == kKeyboardSetTypematic || value == kKeyboardScanCodeSet) {
            pending_keyboard_command_ = value;
          }
          QueueOutput({kKeyboardAck});
        }
      }
      pending_command_ = 0;  // bytes for the (absent) mouse are dropped
    }
  }
  if (reset) on_reset_();
}

void I8042::QueueOutput(std::initializer_list<uint8_t> bytes) {
  for (uint8_t byte : bytes) {
    if (output_.size() < kMaxOutput) output_.push_back(byte);
  }
  if ((command_byte_ & kCommandByteKeyboardInterrupt) && raise_interrupt_) raise_interrupt_();
}

void I8042::SendCtrlAltDel() {
  std::lock_guard lock(mutex_);
  // Ctrl down, Alt down, Del (extended) down, then the three releases.
  QueueOutput({0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14});
}

I8042::State I8042::SaveState() {
  std::lock_guard lock(mutex_);
  return {command_byte_, pending_command_, pending_keyboard_command_};
}

void I8042::RestoreState(const State& state) {
  std::lock_guard lock(mutex_);
  command_byte_ = state.command_byte;
  pending_command_ = state.pending_command;
  pending_keyboard_command_ = state.pending_keyboard_command;
}

}  // namespace sandbox::vmm
