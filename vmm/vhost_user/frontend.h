// The front-end (VMM) side of the vhost-user protocol: the messages that hand
// a device's virtqueues to a back-end process (virtiofsd) over a Unix socket.
// Guest memory is shared by passing its memfd; ring addresses are given in
// this process's address space, which the back-end translates through the
// memory table.
//
// Every request that expects no answer asks for an acknowledgement when the
// back-end offers REPLY_ACK, so a refusal is reported where it happens
// instead of as a dead device later. A back-end that hangs is cut off by a
// receive timeout; one that closes the socket is an error naming the request.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "vmm/memory/guest_memory.h"

namespace sandbox::vmm {

namespace vhost_user {

// Request codes (vhost-user protocol, "Front-end message types").
enum Request : uint32_t {
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kSetMemTable = 5,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kSetVringEnable = 18,
};

inline constexpr uint32_t kVersion = 0x1;
inline constexpr uint32_t kFlagReply = 1u << 2;
inline constexpr uint32_t kFlagNeedReply = 1u << 3;
inline constexpr uint64_t kFeatureProtocolFeatures = 1ull << 30;
inline constexpr uint64_t kProtocolFeatureReplyAck = 1ull << 3;
inline constexpr size_t kMaxMemoryRegions = 8;

#pragma pack(push, 1)
struct Header {
  uint32_t request = 0;
  uint32_t flags = 0;
  uint32_t size = 0;  // of the payload that follows
};
struct VringState {
  uint32_t index = 0;
  uint32_t num = 0;
};
struct VringAddress {
  uint32_t index = 0;
  uint32_t flags = 0;
  uint64_t descriptor = 0;  // front-end virtual addresses
  uint64_t used = 0;
  uint64_t available = 0;
  uint64_t log = 0;
};
struct MemoryRegion {
  uint64_t guest_address = 0;
  uint64_t size = 0;
  uint64_t user_address = 0;
  uint64_t mmap_offset = 0;
};
struct MemoryTable {
  uint32_t region_count = 0;
  uint32_t padding = 0;
  MemoryRegion regions[kMaxMemoryRegions];
};
#pragma pack(pop)

}  // namespace vhost_user

// Where a virtqueue lives, in guest-physical addresses.
struct VringLayout {
  uint16_t size = 0;
  uint64_t descriptor_table = 0;
  uint64_t available_ring = 0;
  uint64_t used_ring = 0;
};

class VhostUserFrontend {
 public:
  static constexpr std::chrono::seconds kReplyTimeout{10};

  // Connects to the back-end's socket and does the session setup: features,
  // protocol features (REPLY_ACK when offered) and SET_OWNER.
  static Result<VhostUserFrontend> Connect(const std::string& socket_path);
  // The same over an already connected socket (tests).
  static Result<VhostUserFrontend> Start(UniqueFd socket, std::string name);

  // The back-end's virtio features, without the vhost-user-only bit.
  uint64_t backend_features() const { return backend_features_ & ~vhost_user::kFeatureProtocolFeatures; }
  int socket() const { return socket_.get(); }

  // The device's negotiated features (the protocol-features bit is added).
  Status SetFeatures(uint64_t features);
  Status SetMemoryTable(const GuestMemory& memory);
  // NUM, BASE (0), ADDR, KICK, CALL and ENABLE for one queue.
  Status StartVring(const GuestMemory& memory, uint32_t index, const VringLayout& layout, int kick_fd, int call_fd);
  // Stops a ring; returns the back-end's next available index.
  Result<uint32_t> StopVring(uint32_t index);

 private:
  VhostUserFrontend(UniqueFd socket, std::string name) : socket_(std::move(socket)), name_(std::move(name)) {}
  Status Send(uint32_t request, const void* payload, uint32_t size, std::span<const int> fds = {},
              bool expect_answer = false);
  // Reads the answer to `request` into `payload` (exactly `size` bytes).
  Status Receive(uint32_t request, void* payload, uint32_t size);
  Result<uint64_t> GetU64(uint32_t request);
  Status SetU64(uint32_t request, uint64_t value);
  Status SetVringState(uint32_t request, uint32_t index, uint32_t num);
  Status SetVringFd(uint32_t request, uint32_t index, int fd);
  Status Error(uint32_t request, const std::string& what) const;

  UniqueFd socket_;
  std::string name_;  // the socket path, for errors
  uint64_t backend_features_ = 0;
  bool reply_ack_ = false;
};

}  // namespace sandbox::vmm
