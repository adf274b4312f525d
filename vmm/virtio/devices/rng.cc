#include "vmm/virtio/devices/rng.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>

namespace sandbox::vmm {

void RngDevice::ProcessQueue(size_t index) {
  if (!active_ || index != 0) return;
  DrainQueue(*active_, index, [this](const DescriptorChain& chain) { return Fill(chain); });
}

uint32_t RngDevice::Fill(const DescriptorChain& chain) {
  ChainCursor writer(*active_->memory, chain, ChainCursor::Direction::kWritable);
  auto spans = writer.Take(std::min<uint64_t>(writer.remaining(), kMaxBytesPerRequest));
  if (!spans.ok()) return 0;
  uint32_t filled = 0;
  for (std::span<uint8_t> span : *spans) {
    const ssize_t got = getrandom(span.data(), span.size(), 0);
    if (got < 0) {
      spdlog::warn("virtio-rng: getrandom failed: {}", errno);
      break;
    }
    filled += static_cast<uint32_t>(got);
    if (static_cast<size_t>(got) < span.size()) break;
  }
  return filled;
}

}  // namespace sandbox::vmm
