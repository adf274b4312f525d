#include "vmm/virtio/rate_limited_warnings.h"

namespace sandbox::vmm {

bool RateLimitedWarnings::Admit(uint64_t& suppressed) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (logged_any_ && now - last_ < interval_) {
    ++suppressed_;
    ++suppressed_total_;
    return false;
  }
  logged_any_ = true;
  last_ = now;
  suppressed = std::exchange(suppressed_, 0);
  return true;
}

void RateLimitedWarnings::Log(spdlog::level::level_enum level, const std::string& message,
                              uint64_t suppressed) const {
  if (suppressed > 0) {
    spdlog::log(level, "{}: {} ({} more warnings suppressed)", prefix_, message, suppressed);
  } else {
    spdlog::log(level, "{}: {}", prefix_, message);
  }
}

uint64_t RateLimitedWarnings::suppressed_total() const {
  std::lock_guard lock(mutex_);
  return suppressed_total_;
}

}  // namespace sandbox::vmm
