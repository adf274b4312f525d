// Warnings a guest can cause at will (malformed chains, bad register
// accesses, packets to nowhere): at most one per interval per source, the
// next one saying how many were suppressed, so a hostile guest cannot flood
// the host's logs (issue 17) while the first sign of trouble still shows.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

namespace sandbox::vmm {

class RateLimitedWarnings {
 public:
  static constexpr std::chrono::milliseconds kDefaultInterval{1000};

  // `prefix` starts every line ("virtio-net", "vsock").
  explicit RateLimitedWarnings(std::string prefix, std::chrono::milliseconds interval = kDefaultInterval)
      : prefix_(std::move(prefix)), interval_(interval) {}

  // Thread-safe; formats only what is logged. Warn and Error share the limit.
  template <typename... Args>
  void Warn(fmt::format_string<Args...> format, Args&&... args) {
    Emit(spdlog::level::warn, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Error(fmt::format_string<Args...> format, Args&&... args) {
    Emit(spdlog::level::err, format, std::forward<Args>(args)...);
  }

  uint64_t suppressed_total() const;

 private:
  template <typename... Args>
  void Emit(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
    uint64_t suppressed = 0;
    if (!Admit(suppressed)) return;
    Log(level, fmt::format(format, std::forward<Args>(args)...), suppressed);
  }
  // Whether this warning is logged; `suppressed`: how many were not since.
  bool Admit(uint64_t& suppressed);
  void Log(spdlog::level::level_enum level, const std::string& message, uint64_t suppressed) const;

  const std::string prefix_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point last_{};
  bool logged_any_ = false;
  uint64_t suppressed_ = 0;
  uint64_t suppressed_total_ = 0;
};

}  // namespace sandbox::vmm
