#include "vmm/virtio/rate_limited_warnings.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <thread>

namespace sandbox::vmm {
namespace {

// Routes spdlog's default logger into a string for the test's lifetime.
class RateLimitedWarningsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(RateLimitedWarningsTest, AFloodLogsOneLineAndTheNextSaysHowManyWereSuppressed) {
  RateLimitedWarnings warnings("virtio", std::chrono::milliseconds(200));
  for (int i = 0; i < 10000; ++i) warnings.Warn("net: bad chain {}", i);
  EXPECT_EQ(out_.str(), "virtio: net: bad chain 0\n");
  EXPECT_EQ(warnings.suppressed_total(), 9999u);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // past the interval, not a synchronisation
  warnings.Warn("net: bad chain {}", 10000);
  EXPECT_EQ(out_.str(), "virtio: net: bad chain 0\nvirtio: net: bad chain 10000 (9999 more warnings suppressed)\n");
}

TEST_F(RateLimitedWarningsTest, EachSourceHasItsOwnLimit) {
  RateLimitedWarnings net("virtio");
  RateLimitedWarnings vsock("virtio");
  net.Warn("net: one");
  net.Warn("net: two");
  vsock.Warn("vsock: one");
  EXPECT_EQ(out_.str(), "virtio: net: one\nvirtio: vsock: one\n");
}

}  // namespace
}  // namespace sandbox::vmm
