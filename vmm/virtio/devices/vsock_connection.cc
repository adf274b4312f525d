#include "vmm/virtio/devices/vsock_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

namespace sandbox::vmm {

Status VsockConnection::SendToHost(std::span<const uint8_t> data) {
  if (data.empty()) return Status::Ok();
  size_t written = 0;
  if (output_.empty()) {
    const ssize_t sent = ::send(fd(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoStatus("send", fmt::format("vsock host socket for port {}", host_port_));
    }
    if (sent > 0) {
      written = static_cast<size_t>(sent);
      forwarded_ += static_cast<uint32_t>(sent);
    }
  }
  if (written == data.size()) return Status::Ok();
  if (output_bytes_ + (data.size() - written) > 2ull * kBufferSize) {
    return Unavailable(fmt::format("vsock port {}: the guest overran its credit", guest_port_));
  }
  output_.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(written), data.end());
  output_bytes_ += data.size() - written;
  return Status::Ok();
}

Status VsockConnection::FlushToHost() {
  while (!output_.empty()) {
    const std::vector<uint8_t>& chunk = output_.front();
    const ssize_t sent =
        ::send(fd(), chunk.data() + output_offset_, chunk.size() - output_offset_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
      return ErrnoStatus("send", fmt::format("vsock host socket for port {}", host_port_));
    }
    forwarded_ += static_cast<uint32_t>(sent);
    output_bytes_ -= static_cast<uint64_t>(sent);
    output_offset_ += static_cast<size_t>(sent);
    if (output_offset_ == chunk.size()) {
      output_.pop_front();
      output_offset_ = 0;
    }
  }
  return Status::Ok();
}

bool VsockConnection::TakeCreditUpdateDue() {
  if (forwarded_ - reported_forwarded_ < kBufferSize / 4) return false;
  reported_forwarded_ = forwarded_;
  return true;
}

}  // namespace sandbox::vmm
