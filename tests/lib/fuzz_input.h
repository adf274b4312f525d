// Shared by the libFuzzer targets that play a peer or a driver from their
// input (vmm/fuzz, shim/microvm/fuzz): the input read as a stream of fields,
// with zeros once it runs out, and a blocking send of a whole answer.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace sandbox::fuzzing {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return used_ >= size_; }
  uint8_t Byte() { return used_ < size_ ? data_[used_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | (Byte() << 8)); }
  uint32_t U32() { return U16() | (static_cast<uint32_t>(U16()) << 16); }
  // Up to `wanted` bytes: fewer at the input's end.
  std::string Bytes(size_t wanted) {
    const size_t count = std::min(wanted, size_ - std::min(used_, size_));
    std::string bytes(reinterpret_cast<const char*>(data_) + used_, count);
    used_ += count;
    return bytes;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t used_ = 0;
};

// False once the peer is gone.
inline bool SendAll(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t sent = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    done += static_cast<size_t>(sent);
  }
  return true;
}

}  // namespace sandbox::fuzzing
