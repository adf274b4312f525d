#include "vmm/virtio/device.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace sandbox::vmm {

void VirtioDevice::ReadConfig(uint64_t offset, std::span<uint8_t> data) {
  const std::span<const uint8_t> config = config_bytes();
  std::fill(data.begin(), data.end(), 0);
  if (offset >= config.size()) return;
  std::memcpy(data.data(), config.data() + offset, std::min<uint64_t>(data.size(), config.size() - offset));
}

bool VirtioDevice::DrainQueue(const ActiveQueues& active, size_t index,
                              const std::function<uint32_t(const DescriptorChain&)>& handle) {
  Virtqueue& queue = (*active.queues)[index];
  bool used_any = false;
  bool healthy = true;
  for (;;) {
    auto popped = queue.Pop(*active.memory);
    if (!popped.ok()) {
      active.fail(popped.status());
      healthy = false;
      break;
    }
    if (!popped->has_value()) break;
    PoppedChain& entry = **popped;
    uint32_t written = 0;
    if (entry.chain) {
      written = handle(*entry.chain);
    } else {
      guest_warnings_.Warn("{}: queue {}: dropping a malformed chain: {}", name(), index, entry.error.message());
    }
    const Status pushed = queue.PushUsed(*active.memory, entry.head, written);
    if (!pushed.ok()) {
      active.fail(pushed);
      healthy = false;
      break;
    }
    used_any = true;
  }
  if (used_any) active.signal_used();
  return healthy;
}

}  // namespace sandbox::vmm
