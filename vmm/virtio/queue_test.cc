#include "vmm/virtio/queue.h"

#include <gtest/gtest.h>

#include "vmm/virtio/testing/queue_driver.h"

namespace sandbox::vmm {
namespace {

using testing::kIndirect;
using testing::kNext;
using testing::kWrite;
using testing::QueueDriver;
using testing::TestDescriptor;

constexpr uint64_t kMemorySize = 1 << 20;

class QueueTest : public ::testing::Test {
 protected:
  QueueTest() : memory_(GuestMemory::CreateForTest(0, kMemorySize).value()), driver_(memory_, queue_) {}

  // Publishes `head` and pops it; the chain must be rejected with `reason`.
  void ExpectRejected(uint16_t head, const std::string& reason) {
    driver_.Publish(head);
    auto popped = queue_.Pop(memory_);
    ASSERT_TRUE(popped.ok()) << popped.status().message();
    ASSERT_TRUE(popped->has_value());
    EXPECT_FALSE((*popped)->chain.has_value());
    EXPECT_NE((*popped)->error.message().find(reason), std::string::npos) << (*popped)->error.message();
  }

  GuestMemory memory_;
  Virtqueue queue_;
  QueueDriver driver_;
};

TEST_F(QueueTest, EmptyRingPopsNothing) {
  ASSERT_TRUE(queue_.Validate(memory_).ok());
  auto popped = queue_.Pop(memory_);
  ASSERT_TRUE(popped.ok());
  EXPECT_FALSE(popped->has_value());
}

TEST_F(QueueTest, ReadsAChainWithReadableThenWritableBuffers) {
  driver_.SetChain(3, {{0x10000, 16, 0}, {0x20000, 512, kWrite}, {0x30000, 1, kWrite}});
  driver_.Publish(3);
  auto popped = queue_.Pop(memory_);
  ASSERT_TRUE(popped.ok() && popped->has_value());
  const PoppedChain& entry = **popped;
  ASSERT_TRUE(entry.chain.has_value()) << entry.error.message();
  EXPECT_EQ(entry.head, 3);
  ASSERT_EQ(entry.chain->buffers.size(), 3u);
  EXPECT_EQ(entry.chain->readable_bytes, 16u);
  EXPECT_EQ(entry.chain->writable_bytes, 513u);
  EXPECT_TRUE(entry.chain->buffers[2].device_writable);
}

TEST_F(QueueTest, PushUsedPublishesElementAndIndex) {
  ASSERT_TRUE(queue_.PushUsed(memory_, 5, 77).ok());
  EXPECT_EQ(driver_.UsedIndex(), 1);
  EXPECT_EQ(driver_.Used(0), (std::pair<uint32_t, uint32_t>{5, 77}));
  EXPECT_FALSE(queue_.PushUsed(memory_, 16, 0).ok()) << "a head beyond the queue size";
}

TEST_F(QueueTest, RejectsHeadBeyondQueueSize) { ExpectRejected(16, "beyond the queue size"); }

TEST_F(QueueTest, RejectsNextBeyondQueueSize) {
  driver_.SetDescriptor(0, {0x10000, 8, kNext, 200});
  ExpectRejected(0, "beyond the queue size");
}

TEST_F(QueueTest, RejectsALoop) {
  driver_.SetDescriptor(0, {0x10000, 8, kNext, 1});
  driver_.SetDescriptor(1, {0x10000, 8, kNext, 0});
  ExpectRejected(0, "longer than the queue");
}

TEST_F(QueueTest, RejectsBufferOutsideMemory) {
  driver_.SetDescriptor(0, {kMemorySize - 4, 8, 0, 0});
  ExpectRejected(0, "outside guest RAM");
}

TEST_F(QueueTest, RejectsAddressThatWrapsAround) {
  driver_.SetDescriptor(0, {0xffff'ffff'ffff'fff0ull, 0x20, 0, 0});
  ExpectRejected(0, "outside guest RAM");
}

TEST_F(QueueTest, RejectsReadableAfterWritable) {
  driver_.SetChain(0, {{0x10000, 8, kWrite}, {0x20000, 8, 0}});
  ExpectRejected(0, "readable buffer follows a writable one");
}

TEST_F(QueueTest, RejectsIndirectWithoutTheFeature) {
  driver_.SetDescriptor(0, {0x8000, 32, kIndirect, 0});
  ExpectRejected(0, "without the negotiated feature");
}

class IndirectQueueTest : public QueueTest {
 protected:
  IndirectQueueTest() { queue_.set_indirect_allowed(true); }
  void WriteTable(uint64_t address, const std::vector<TestDescriptor>& table) {
    for (size_t i = 0; i < table.size(); ++i) ASSERT_TRUE(memory_.WriteObject(address + 16 * i, table[i]).ok());
  }
};

TEST_F(IndirectQueueTest, ReadsAnIndirectTable) {
  WriteTable(0x8000, {{0x10000, 16, kNext, 1}, {0x20000, 64, kWrite, 0}});
  driver_.SetDescriptor(0, {0x8000, 32, kIndirect, 0});
  driver_.Publish(0);
  auto popped = queue_.Pop(memory_);
  ASSERT_TRUE(popped.ok() && popped->has_value());
  ASSERT_TRUE((*popped)->chain.has_value()) << (*popped)->error.message();
  EXPECT_EQ((*popped)->chain->readable_bytes, 16u);
  EXPECT_EQ((*popped)->chain->writable_bytes, 64u);
}

TEST_F(IndirectQueueTest, RejectsIndirectWithNext) {
  driver_.SetDescriptor(0, {0x8000, 32, kIndirect | kNext, 1});
  ExpectRejected(0, "indirect descriptor with a next flag");
}

TEST_F(IndirectQueueTest, RejectsTableLengthNotAMultipleOf16) {
  driver_.SetDescriptor(0, {0x8000, 20, kIndirect, 0});
  ExpectRejected(0, "not a multiple of 16");
}

TEST_F(IndirectQueueTest, RejectsHugeTable) {
  driver_.SetDescriptor(0, {0x8000, 16 * 4096, kIndirect, 0});
  ExpectRejected(0, "up to the queue size");
}

TEST_F(IndirectQueueTest, RejectsTableOutsideMemory) {
  driver_.SetDescriptor(0, {kMemorySize - 16, 32, kIndirect, 0});
  ExpectRejected(0, "outside guest RAM");
}

TEST_F(IndirectQueueTest, RejectsNestedIndirect) {
  WriteTable(0x8000, {{0x9000, 16, kIndirect, 0}});
  driver_.SetDescriptor(0, {0x8000, 16, kIndirect, 0});
  ExpectRejected(0, "nested indirect");
}

TEST_F(IndirectQueueTest, RejectsIndirectNextBeyondTable) {
  WriteTable(0x8000, {{0x10000, 16, kNext, 5}, {0x10000, 16, 0, 0}});
  driver_.SetDescriptor(0, {0x8000, 32, kIndirect, 0});
  ExpectRejected(0, "beyond the table");
}

TEST_F(IndirectQueueTest, RejectsIndirectLoop) {
  WriteTable(0x8000, {{0x10000, 16, kNext, 1}, {0x10000, 16, kNext, 0}});
  driver_.SetDescriptor(0, {0x8000, 32, kIndirect, 0});
  ExpectRejected(0, "loops");
}

TEST_F(QueueTest, AvailableIndexFarAheadBreaksTheRing) {
  driver_.SetAvailableIndex(100);  // more entries than the queue has
  auto popped = queue_.Pop(memory_);
  ASSERT_FALSE(popped.ok());
  EXPECT_NE(popped.status().message().find("ahead of the device"), std::string::npos);
}

TEST_F(QueueTest, ValidateChecksSizeAlignmentAndBounds) {
  queue_.size = 3;
  EXPECT_NE(queue_.Validate(memory_).message().find("power of two"), std::string::npos);
  queue_.size = 512;
  EXPECT_FALSE(queue_.Validate(memory_).ok());
  queue_.size = 0;
  EXPECT_FALSE(queue_.Validate(memory_).ok());
  queue_.size = 16;
  queue_.descriptor_table = 0x1008;
  EXPECT_NE(queue_.Validate(memory_).message().find("aligned"), std::string::npos);
  queue_.descriptor_table = kMemorySize - 16;
  EXPECT_NE(queue_.Validate(memory_).message().find("outside guest RAM"), std::string::npos);
  queue_.descriptor_table = QueueDriver::kDescriptors;
  queue_.used_ring = 0x4002;
  EXPECT_FALSE(queue_.Validate(memory_).ok());
}

TEST_F(QueueTest, CursorCopiesAcrossBuffersAndStopsAtTheEnd) {
  driver_.WriteBytes(0x10000, {1, 2, 3});
  driver_.WriteBytes(0x20000, {4, 5});
  driver_.SetChain(0, {{0x10000, 3, 0}, {0x20000, 2, 0}, {0x30000, 4, kWrite}});
  driver_.Publish(0);
  auto popped = queue_.Pop(memory_);
  ASSERT_TRUE(popped.ok() && popped->has_value() && (*popped)->chain);
  const DescriptorChain& chain = *(*popped)->chain;
  ChainCursor reader(memory_, chain, ChainCursor::Direction::kReadable);
  std::vector<uint8_t> out(8, 0);
  EXPECT_EQ(reader.CopyOut(out), 5u);
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 2, 3, 4, 5, 0, 0, 0}));
  EXPECT_FALSE(reader.Take(1).ok());
  ChainCursor writer(memory_, chain, ChainCursor::Direction::kWritable);
  const std::vector<uint8_t> data = {9, 9, 9, 9, 9, 9};
  EXPECT_EQ(writer.CopyIn(data), 4u);
  EXPECT_EQ(driver_.ReadBytes(0x30000, 5), (std::vector<uint8_t>{9, 9, 9, 9, 0}));
}

}  // namespace
}  // namespace sandbox::vmm
