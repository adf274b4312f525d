#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "vmm/bus.h"
#include "vmm/devices/legacy/console_sink.h"
#include "vmm/devices/legacy/i8042.h"
#include "vmm/devices/legacy/serial.h"

namespace sandbox::vmm {
namespace {

uint8_t ReadPort(BusDevice& device, uint64_t offset) {
  uint8_t value = 0xcc;
  device.Read(offset, {&value, 1});
  return value;
}
void WritePort(BusDevice& device, uint64_t offset, uint8_t value) { device.Write(offset, {&value, 1}); }

class SerialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe(pipe_), 0);
    serial_ = std::make_unique<Serial>(UniqueFd(dup(pipe_[1])), [this] { ++interrupts_; });
  }
  void TearDown() override {
    close(pipe_[0]);
    close(pipe_[1]);
  }
  int pipe_[2];
  int interrupts_ = 0;
  std::unique_ptr<Serial> serial_;
};

class ConsoleSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pipe2(pipe_, O_NONBLOCK), 0); }
  void TearDown() override {
    close(pipe_[0]);
    if (pipe_[1] >= 0) close(pipe_[1]);
  }
  // The sink takes the write end.
  UniqueFd WriteEnd() { return UniqueFd(std::exchange(pipe_[1], -1)); }
  std::string Drain() {
    std::string out;
    char buffer[4096];
    for (ssize_t got; (got = read(pipe_[0], buffer, sizeof(buffer))) > 0;) out.append(buffer, got);
    return out;
  }
  static void PutAll(ConsoleSink& sink, const std::string& text) {
    for (char c : text) sink.Put(static_cast<uint8_t>(c));
  }
  int pipe_[2];
};

TEST_F(ConsoleSinkTest, WritesALineAtItsNewline) {
  ConsoleSink sink(WriteEnd(), {.block_bytes = 64});
  PutAll(sink, "partial");
  EXPECT_EQ(Drain(), "");  // held: no write(2) per byte
  PutAll(sink, " line\nnext");
  EXPECT_EQ(Drain(), "partial line\n");
  sink.Flush();
  EXPECT_EQ(Drain(), "next");
}

TEST_F(ConsoleSinkTest, WritesAFullBlockWithoutANewline) {
  ConsoleSink sink(WriteEnd(), {.block_bytes = 4});
  PutAll(sink, "abcdef");
  EXPECT_EQ(Drain(), "abcd");
}

TEST_F(ConsoleSinkTest, FlushesWhatItHoldsWhenDestroyed) {
  {
    ConsoleSink sink(WriteEnd(), {.block_bytes = 64});
    PutAll(sink, "last words");
  }
  EXPECT_EQ(Drain(), "last words");
}

TEST_F(ConsoleSinkTest, StopsAtItsLimitAndSaysSoOnce) {
  ConsoleSink sink(WriteEnd(), {.block_bytes = 64, .limit_bytes = 10});
  PutAll(sink, std::string(10000, 'x'));
  sink.Flush();
  EXPECT_EQ(Drain(), std::string(10, 'x') + "\n[sandbox-vmm: console output stopped at its limit of 10 bytes]\n");
  EXPECT_TRUE(sink.capped());
  EXPECT_EQ(sink.accepted_bytes(), 10u);
}

TEST_F(ConsoleSinkTest, AnInvalidFdDiscards) {
  ConsoleSink sink(UniqueFd(), {.block_bytes = 1, .limit_bytes = 1});
  PutAll(sink, "dropped");
  EXPECT_EQ(sink.accepted_bytes(), 0u);
}

TEST_F(SerialTest, TransmitsBytesAndReportsAnIdleTransmitter) {
  WritePort(*serial_, 0, 'h');
  WritePort(*serial_, 0, 'i');
  char out[2];
  ASSERT_EQ(read(pipe_[0], out, 2), 2);
  EXPECT_EQ(std::string(out, 2), "hi");
  EXPECT_EQ(ReadPort(*serial_, 5) & 0x60, 0x60);
}

TEST_F(SerialTest, RaisesTransmitterEmptyWhenEnabled) {
  WritePort(*serial_, 1, 0x02);  // IER: THRE
  EXPECT_EQ(interrupts_, 1);
  EXPECT_EQ(ReadPort(*serial_, 2) & 0x0f, 0x02);
  EXPECT_EQ(ReadPort(*serial_, 2) & 0x0f, 0x01) << "reading IIR acknowledged it";
}

TEST_F(SerialTest, AStateRestoredIntoAnotherUartCarriesRegistersAndTheOwedInterrupt) {
  WritePort(*serial_, 3, 0x83);  // LCR: DLAB, 8 bits
  WritePort(*serial_, 0, 0x01);  // divisor 1: 115200 baud
  WritePort(*serial_, 3, 0x03);
  WritePort(*serial_, 7, 0x5a);  // scratch
  WritePort(*serial_, 2, 0x01);  // FCR: FIFO on
  WritePort(*serial_, 1, 0x02);  // IER: THRE, which owes an interrupt
  const Serial::State saved = serial_->SaveState();
  int restored_interrupts = 0;
  Serial restored(UniqueFd(), [&] { ++restored_interrupts; });
  restored.RestoreState(saved);
  EXPECT_EQ(restored_interrupts, 1) << "the owed THRE interrupt is raised again";
  EXPECT_EQ(ReadPort(restored, 1), 0x02);
  EXPECT_EQ(ReadPort(restored, 7), 0x5a);
  EXPECT_EQ(ReadPort(restored, 2), 0x02 | 0xc0) << "THRE owed, FIFO on";
  WritePort(restored, 3, 0x83);
  EXPECT_EQ(ReadPort(restored, 0), 0x01) << "the divisor";
}

TEST_F(SerialTest, DeliversInputWithDataReadyAndInterrupt) {
  WritePort(*serial_, 1, 0x01);  // IER: received data
  const uint8_t input[] = {'o', 'k'};
  EXPECT_EQ(serial_->EnqueueInput(input), 2u);
  EXPECT_GT(interrupts_, 0);
  EXPECT_EQ(ReadPort(*serial_, 5) & 0x01, 0x01);
  EXPECT_EQ(ReadPort(*serial_, 2) & 0x0f, 0x04);
  EXPECT_EQ(ReadPort(*serial_, 0), 'o');
  EXPECT_EQ(ReadPort(*serial_, 0), 'k');
  EXPECT_EQ(ReadPort(*serial_, 5) & 0x01, 0);
}

TEST_F(SerialTest, BoundsInputAndReportsWhenDrained) {
  bool drained = false;
  serial_->SetInputDrainedCallback([&] { drained = true; });
  std::vector<uint8_t> flood(1000, 'x');
  EXPECT_EQ(serial_->EnqueueInput(flood), Serial::kInputCapacity);
  EXPECT_EQ(serial_->InputSpace(), 0u);
  ReadPort(*serial_, 0);
  EXPECT_TRUE(drained);
}

TEST_F(SerialTest, LoopbackWiresModemControlToStatusAndData) {
  WritePort(*serial_, 4, 0x10 | 0x0f);  // loopback with DTR, RTS, OUT1, OUT2
  EXPECT_EQ(ReadPort(*serial_, 6) & 0xf0, 0xf0);
  WritePort(*serial_, 0, 'L');
  EXPECT_EQ(ReadPort(*serial_, 0), 'L');
  WritePort(*serial_, 3, 0x80);  // DLAB
  WritePort(*serial_, 0, 0x01);
  EXPECT_EQ(ReadPort(*serial_, 0), 0x01) << "divisor latch";
}

TEST(I8042Test, ResetCommandEndsTheMachine) {
  int resets = 0;
  I8042 controller([&] { ++resets; });
  EXPECT_EQ(ReadPort(controller, 4) & 0x02, 0) << "input buffer empty, so the kernel may write";
  WritePort(controller, 4, 0xfe);
  EXPECT_EQ(resets, 1);
}

TEST(I8042Test, AnswersTheKernelsProbe) {
  I8042 controller([] {});
  WritePort(controller, 4, 0xaa);
  EXPECT_EQ(ReadPort(controller, 4) & 0x01, 0x01);
  EXPECT_EQ(ReadPort(controller, 0), 0x55);
  WritePort(controller, 4, 0x60);
  WritePort(controller, 0, 0x47);
  WritePort(controller, 4, 0x20);
  EXPECT_EQ(ReadPort(controller, 0), 0x47);
  EXPECT_EQ(ReadPort(controller, 4) & 0x01, 0);
  uint8_t wide[2] = {0, 0};
  controller.Read(4, wide);  // a bad width reads as zero
  EXPECT_EQ(wide[0], 0);
}

class RecordingDevice : public BusDevice {
 public:
  void Read(uint64_t offset, std::span<uint8_t> data) override {
    last_offset = offset;
    std::fill(data.begin(), data.end(), 0x42);
  }
  void Write(uint64_t offset, std::span<const uint8_t>) override { last_offset = offset; }
  uint64_t last_offset = ~0ull;
};

TEST(BusTest, RoutesByRangeAndRejectsOverlaps) {
  Bus bus("test");
  auto device = std::make_shared<RecordingDevice>();
  ASSERT_TRUE(bus.Insert(device, 0x1000, 0x100).ok());
  EXPECT_FALSE(bus.Insert(device, 0x10ff, 0x10).ok());
  EXPECT_FALSE(bus.Insert(device, 0xff0, 0x20).ok());
  EXPECT_FALSE(bus.Insert(device, ~0ull - 4, 0x10).ok()) << "wraps around";
  EXPECT_FALSE(bus.Insert(device, 0x5000, 0).ok());
  uint8_t data[4];
  EXPECT_TRUE(bus.Read(0x10fc, data));
  EXPECT_EQ(device->last_offset, 0xfcu);
  EXPECT_FALSE(bus.Read(0x10fe, data)) << "an access crossing the end";
  EXPECT_FALSE(bus.Read(0xfff, data));
  EXPECT_FALSE(bus.Write(0x2000, data));
}

TEST(I8042Test, AStateRestoredIntoAnotherControllerKeepsItsCommandByte) {
  I8042 controller([] {});
  WritePort(controller, 4, 0x60);  // write the command byte
  WritePort(controller, 0, 0x47);
  I8042 restored([] {});
  restored.RestoreState(controller.SaveState());
  WritePort(restored, 4, 0x20);  // read it back
  EXPECT_EQ(ReadPort(restored, 0), 0x47);
}

}  // namespace
}  // namespace sandbox::vmm
