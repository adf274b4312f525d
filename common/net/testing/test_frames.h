// Test support: marked Ethernet test frames, and AF_PACKET / fd helpers to
// send them and wait for them, for tests that push traffic through veths,
// TAPs and tc mirrors. Shared by common/net and shim/network tests so there
// is one copy of the frame format.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include "common/base/unique_fd.h"

namespace sandbox::net::testing {

// An experimental ethertype (IEEE 802 local): nothing else sends it.
inline constexpr uint16_t kTestEtherType = 0x88b5;
inline constexpr std::string_view kMarker = "sandbox-net-test";

// A broadcast frame of kTestEtherType whose payload starts with kMarker.
inline std::vector<uint8_t> TestFrame() {
  std::vector<uint8_t> frame(60, 0);   // the Ethernet minimum, without FCS
  std::memset(frame.data(), 0xff, 6);  // broadcast
  const uint8_t source[6] = {2, 0, 0, 0, 0, 0x55};
  std::memcpy(frame.data() + 6, source, sizeof(source));
  frame[12] = kTestEtherType >> 8;
  frame[13] = kTestEtherType & 0xff;
  std::memcpy(frame.data() + 14, kMarker.data(), kMarker.size());
  return frame;
}

// Whether the `size` bytes at `frame` are a test frame.
inline bool HasMarker(const uint8_t* frame, size_t size) {
  return size >= 14 + kMarker.size() && frame[12] == (kTestEtherType >> 8) &&
         frame[13] == (kTestEtherType & 0xff) &&
         std::memcmp(frame + 14, kMarker.data(), kMarker.size()) == 0;
}

// An AF_PACKET socket on link `index` of the calling thread's namespace that
// sees only test frames. Call it inside the namespace; use it from anywhere.
inline UniqueFd TestPacketSocket(int index) {
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kTestEtherType)));
  EXPECT_TRUE(fd.valid()) << std::strerror(errno);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(kTestEtherType);
  address.sll_ifindex = index;
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);
  return fd;
}

// Sends one test frame on link `index` through the packet socket.
inline bool SendTestFrame(int packet_fd, int index) {
  const std::vector<uint8_t> frame = TestFrame();
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = index;
  to.sll_halen = 6;
  const ssize_t sent = ::sendto(packet_fd, frame.data(), frame.size(), 0,
                                reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  EXPECT_EQ(sent, static_cast<ssize_t>(frame.size())) << std::strerror(errno);
  return sent == static_cast<ssize_t>(frame.size());
}

// Reads frames from `fd` for up to `timeout_ms` until one carries the
// marker after `skip` leading bytes (the TAP's virtio-net header).
inline bool ReceiveMarked(int fd, size_t skip, int timeout_ms) {
  uint8_t buffer[2048];
  for (int frames = 0; frames < 100; ++frames) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, timeout_ms) != 1) return false;
    const ssize_t size = ::read(fd, buffer, sizeof(buffer));
    if (size < 0) return false;
    if (static_cast<size_t>(size) > skip && HasMarker(buffer + skip, size - skip)) return true;
  }
  return false;
}

// Sends with `send` until a marked frame arrives on `fd`, for up to 5 s: a
// link just set up drops what it transmits until the kernel's linkwatch
// work has activated its qdisc, which happens asynchronously.
inline bool SendUntilReceived(const std::function<bool()>& send, int fd, size_t skip) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (!send()) return false;
    if (ReceiveMarked(fd, skip, 100)) return true;
  }
  return false;
}

}  // namespace sandbox::net::testing
