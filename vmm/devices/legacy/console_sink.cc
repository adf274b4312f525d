#include "vmm/devices/legacy/console_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace sandbox::vmm {

ConsoleSink::ConsoleSink(UniqueFd fd, Options options) : fd_(std::move(fd)), options_(options) {
  options_.block_bytes = std::max<size_t>(options_.block_bytes, 1);
  block_.reserve(options_.block_bytes);
}

ConsoleSink::~ConsoleSink() { Flush(); }

void ConsoleSink::Put(uint8_t byte) {
  if (!fd_.valid() || capped_) return;
  if (options_.limit_bytes != 0 && accepted_ >= options_.limit_bytes) {
    capped_ = true;
    block_ += "\n[sandbox-vmm: console output stopped at its limit of " + std::to_string(options_.limit_bytes) +
              " bytes]\n";
    Flush();
    return;
  }
  ++accepted_;
  block_.push_back(static_cast<char>(byte));
  if (byte == '\n' || block_.size() >= options_.block_bytes) Flush();
}

void ConsoleSink::Flush() {
  size_t done = 0;
  while (fd_.valid() && done < block_.size()) {
    const ssize_t written = ::write(fd_.get(), block_.data() + done, block_.size() - done);
    if (written < 0 && errno == EINTR) continue;
    // A console that cannot keep up (or a closed reader) loses output rather
    // than stalling a vCPU.
    if (written <= 0) break;
    done += static_cast<size_t>(written);
  }
  block_.clear();
}

}  // namespace sandbox::vmm
