// Test support for shim/network: a network namespace reachable by path (as
// a pod's is), and test frames to push through a mirror. Builds on
// common/net/netns_test_util.h, whose PrivateNetnsTest skips without root.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/net/address.h"
#include "common/net/link.h"
#include "common/net/netlink_socket.h"
#include "common/net/netns.h"

namespace sandbox::shim::testing {

// A thread parked in a new, empty network namespace, so tests can reach it
// through /proc/self/task/<tid>/ns/net like a pod's /var/run/netns/<name>.
// The namespace lives until the object is destroyed (unless something in it,
// an open socket or TAP fd, keeps it alive longer).
class ParkedNetns {
 public:
  ParkedNetns() {
    thread_ = std::thread([this] {
      const Status status =
          ::unshare(CLONE_NEWNET) == 0 ? Status::Ok() : ErrnoStatus("unshare", "CLONE_NEWNET");
      std::unique_lock lock(mutex_);
      status_ = status;
      path_ = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net";
      ready_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return done_; });
    });
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return ready_; });
  }
  ~ParkedNetns() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ParkedNetns(const ParkedNetns&) = delete;
  ParkedNetns& operator=(const ParkedNetns&) = delete;

  const Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool ready_ = false;
  bool done_ = false;
  Status status_;
  std::string path_;
  std::thread thread_;
};

// Runs `body` with a NetlinkSocket inside the namespace at `path`.
inline void InNetnsAt(const std::string& path,
                      const std::function<void(net::NetlinkSocket&)>& body) {
  const Status status = net::RunInNetns(path, [&]() -> Status {
    SANDBOX_ASSIGN_OR_RETURN(net::NetlinkSocket socket, net::NetlinkSocket::Open());
    body(socket);
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
}

inline void ExpectOk(const Status& status) { EXPECT_TRUE(status.ok()) << status.message(); }

// The index of link `name`, or 0 (with a test failure) when it is missing.
inline int LinkIndex(net::NetlinkSocket& socket, const std::string& name) {
  const Result<net::LinkInfo> link = net::FindLinkByName(socket, name);
  EXPECT_TRUE(link.ok()) << link.status().message();
  return link.ok() ? link->index : 0;
}

// A pod interface as a CNI plugin leaves it: veth `name` <-> `peer`, both
// up, `name` with `mtu` and `address`. Returns their indices.
inline std::pair<int, int> MakePodVeth(net::NetlinkSocket& socket, const std::string& name,
                                       const std::string& peer, uint32_t mtu,
                                       std::string_view address) {
  ExpectOk(net::CreateVethPair(socket, name, peer));
  const int index = LinkIndex(socket, name);
  const int peer_index = LinkIndex(socket, peer);
  ExpectOk(net::SetLinkMtu(socket, index, mtu));
  ExpectOk(net::SetLinkUp(socket, index));
  ExpectOk(net::SetLinkUp(socket, peer_index));
  if (!address.empty()) {
    const Result<net::IpPrefix> prefix = net::IpPrefix::Parse(address);
    EXPECT_TRUE(prefix.ok()) << address;
    if (prefix.ok()) ExpectOk(net::AddAddress(socket, index, *prefix));
  }
  return {index, peer_index};
}

// An experimental ethertype (IEEE 802 local): nothing else sends it.
inline constexpr uint16_t kTestEtherType = 0x88b5;
inline constexpr std::string_view kMarker = "sandbox-pod-mirror";

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

// Sends one test frame on the packet socket's link.
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
    if (size < 0 || static_cast<size_t>(size) < skip + 14 + kMarker.size()) continue;
    const uint8_t* frame = buffer + skip;
    if (frame[12] == (kTestEtherType >> 8) && frame[13] == (kTestEtherType & 0xff) &&
        std::memcmp(frame + 14, kMarker.data(), kMarker.size()) == 0) {
      return true;
    }
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

}  // namespace sandbox::shim::testing
