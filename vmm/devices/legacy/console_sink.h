// Where the guest console's output goes: a file descriptor, written in
// blocks rather than one write(2) per byte, and bounded, because what the
// guest prints is the guest's to choose (issue 17: nothing the guest does
// grows host disk without limit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/base/unique_fd.h"

namespace sandbox::vmm {

class ConsoleSink {
 public:
  struct Options {
    // Bytes held before a write(2); 1 writes each byte as it comes (an
    // interactive terminal, where a prompt has no newline after it).
    size_t block_bytes = 4096;
    // Output accepted in total; past it the rest is dropped after one line
    // saying so. 0: no limit.
    uint64_t limit_bytes = 0;
  };
  // A log file's defaults: a block or a line at a time, at most 16 MiB (a
  // guest kernel's boot log is about 30 KiB).
  static constexpr size_t kFileBlockBytes = 4096;
  static constexpr uint64_t kFileLimitBytes = 16ull << 20;

  // An invalid `fd` discards everything.
  ConsoleSink(UniqueFd fd, Options options);
  ~ConsoleSink();
  ConsoleSink(const ConsoleSink&) = delete;
  ConsoleSink& operator=(const ConsoleSink&) = delete;

  // Takes one byte; writes the block out at a newline or when it is full.
  void Put(uint8_t byte);
  // Writes out what is held.
  void Flush();

  uint64_t accepted_bytes() const { return accepted_; }
  bool capped() const { return capped_; }

 private:
  UniqueFd fd_;
  Options options_;
  std::string block_;
  uint64_t accepted_ = 0;
  bool capped_ = false;
};

}  // namespace sandbox::vmm
