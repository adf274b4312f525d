// One stream between a guest vsock socket and a host Unix socket (hybrid
// vsock), with the virtio-vsock credit accounting of both directions.
// It knows nothing about virtqueues; VsockDevice moves the bytes.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm {

class VsockConnection {
 public:
  enum class State {
    kConnecting,   // host-initiated: REQUEST sent, waiting for the guest's RESPONSE
    kEstablished,
  };
  // How much guest data we buffer for a slow host reader; advertised to the
  // guest as buf_alloc, so a well-behaved guest never exceeds it.
  static constexpr uint32_t kBufferSize = 256 * 1024;

  VsockConnection(UniqueFd socket, uint32_t host_port, uint32_t guest_port, State state)
      : socket_(std::move(socket)), host_port_(host_port), guest_port_(guest_port), state_(state) {}

  int fd() const { return socket_.get(); }
  uint32_t host_port() const { return host_port_; }
  uint32_t guest_port() const { return guest_port_; }
  State state() const { return state_; }
  void set_established() { state_ = State::kEstablished; }

  // Guest -> host: writes what the socket takes now and buffers the rest.
  // Fails when the host side is gone or the guest overran its credit.
  Status SendToHost(std::span<const uint8_t> data);
  // Writes buffered bytes after the socket became writable.
  Status FlushToHost();
  bool has_buffered_output() const { return !output_.empty(); }

  // Host -> guest credit: what the guest's socket can still take.
  uint32_t GuestCredit() const { return guest_buffer_ - (sent_to_guest_ - guest_forwarded_); }
  void UpdateGuestCredit(uint32_t buffer, uint32_t forwarded) {
    guest_buffer_ = buffer;
    guest_forwarded_ = forwarded;
  }
  void CountSentToGuest(uint32_t bytes) { sent_to_guest_ += bytes; }

  // Our side of the credit: bytes delivered to the host socket so far.
  uint32_t forwarded() const { return forwarded_; }
  // True once enough was forwarded since the last report that the guest may
  // be waiting for credit; marks it reported.
  bool TakeCreditUpdateDue();
  void MarkCreditReported() { reported_forwarded_ = forwarded_; }

  // Shutdown bookkeeping.
  bool host_eof = false;           // the host socket reached EOF (sent SHUTDOWN to guest)
  bool guest_sent_shutdown = false;  // the guest will send no more: shut the socket's write side when drained
  bool closing = false;            // drain output, then close and RST
  // Read from the host but not yet in a guest rx buffer (at most one read).
  std::vector<uint8_t> to_guest;
  size_t to_guest_offset = 0;

 private:
  UniqueFd socket_;
  uint32_t host_port_;
  uint32_t guest_port_;
  State state_;
  std::deque<std::vector<uint8_t>> output_;
  size_t output_offset_ = 0;  // into output_.front()
  uint64_t output_bytes_ = 0;
  uint32_t forwarded_ = 0;
  uint32_t reported_forwarded_ = 0;
  uint32_t guest_buffer_ = 0;
  uint32_t guest_forwarded_ = 0;
  uint32_t sent_to_guest_ = 0;
};

}  // namespace sandbox::vmm
