// virtio-vsock (device type 19) in userspace, with Firecracker's hybrid host
// side: the host talks to the guest through one Unix socket.
//  - host -> guest: connect to uds_path, write "CONNECT <port>\n"; once the
//    guest accepts, the VMM answers "OK <host port>\n" and the socket carries
//    the stream. If the guest refuses, the socket is closed.
//  - guest -> host: a guest connection to host CID 2, port P is forwarded to
//    a new connection to the Unix socket "<uds_path>_P".
// Credit flow control in both directions; a slow host reader stops the guest
// (by credit), a full guest stops reading the host socket (nothing is lost).
#pragma once

#include <linux/virtio_vsock.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/base/unique_fd.h"
#include "vmm/event_loop.h"
#include "vmm/virtio/device.h"
#include "vmm/virtio/devices/vsock_connection.h"

namespace sandbox::vmm {

class VsockDevice : public VirtioDevice, public std::enable_shared_from_this<VsockDevice> {
 public:
  static constexpr uint64_t kHostCid = 2;
  static constexpr uint32_t kMaxPacketPayload = 64 * 1024;

  // Binds and listens on `uds_path` (which must not exist yet). A guest's
  // connection to host port P goes to "<listeners_base>_P"; an empty
  // listeners_base is uds_path (a jailed VMM sees that directory elsewhere).
  static Result<std::shared_ptr<VsockDevice>> Create(uint64_t guest_cid, const std::string& uds_path,
                                                     EventLoop& loop, const std::string& listeners_base = "");
  ~VsockDevice() override;

  uint32_t device_type() const override { return 19; }
  const char* name() const override { return "vsock"; }
  uint64_t offered_features() const override { return kVirtioFeatureVersion1 | kVirtioFeatureIndirectDescriptors; }
  size_t queue_count() const override { return 3; }  // rx, tx, event
  // Linux fills the whole receive queue with 4 KiB buffers, each an 8 KiB
  // slab object once its skb overhead is added: 2 MiB of every guest's RAM
  // (and of every template) at 256 entries. 64 keep 256 KiB in flight.
  static constexpr uint16_t kReceiveQueueSize = 64;
  uint16_t max_queue_size(size_t index) const override {
    return index == 0 ? kReceiveQueueSize : Virtqueue::kMaxSize;
  }
  Status Activate(const ActiveQueues& active) override;
  void ProcessQueue(size_t index) override;
  void Reset() override;
  // Only an idle device: no connection, no host client waiting, no control
  // packet owed to the guest (a restored VM has other host peers).
  Status CheckSnapshotable() const override;
  void SaveState(SnapshotWriter& out, const std::string& prefix) const override;
  Status RestoreState(const SnapshotReader& in, const std::string& prefix) override;

  // Control packets that wait for the guest's rx buffers: a guest that sends
  // packets to nowhere without posting any would grow the queue of resets
  // without end, so past this many queued packets new resets are dropped
  // (16 bytes each). RESPONSE, SHUTDOWN and credit updates belong to a
  // connection and are always queued.
  static constexpr size_t kMaxQueuedControl = 1024;
  size_t queued_control() {
    std::lock_guard lock(mutex());
    return control_.size();
  }

 protected:
  std::span<const uint8_t> config_bytes() const override {
    return {reinterpret_cast<const uint8_t*>(&guest_cid_), sizeof(guest_cid_)};
  }

 private:
  using Key = std::pair<uint32_t, uint32_t>;  // host port, guest port
  struct Control {
    uint16_t op;
    uint32_t host_port;
    uint32_t guest_port;
    uint32_t flags;
  };
  struct PendingClient {
    UniqueFd socket;
  };

  VsockDevice(uint64_t guest_cid, std::string uds_path, std::string listeners_base, EventLoop& loop)
      : guest_cid_(guest_cid), uds_path_(std::move(uds_path)), listeners_base_(std::move(listeners_base)), loop_(loop) {}

  // Event handlers (event-loop thread; they take the device mutex).
  void OnListenerReadable();
  void OnClientReadable(int fd);
  void OnConnectionEvent(Key key, uint32_t events);

  void ProcessTx();
  void HandleGuestPacket(const virtio_vsock_hdr& header, ChainCursor& payload);
  void ConnectToHost(const virtio_vsock_hdr& header);
  // Moves control packets and pending data into the guest's rx buffers.
  void DeliverToGuest();
  std::optional<DescriptorChain> PopRxChain(bool& used_any);
  void ReadFromHost(VsockConnection& connection);
  void UpdateInterest(VsockConnection& connection);
  void UpdateAllInterest();
  void Close(Key key, bool send_reset);
  void QueueControl(uint16_t op, uint32_t host_port, uint32_t guest_port, uint32_t flags = 0);
  virtio_vsock_hdr HeaderTo(uint32_t host_port, uint32_t guest_port, uint16_t op) const;
  uint32_t AllocateHostPort();

  const uint64_t guest_cid_;
  const std::string uds_path_;
  const std::string listeners_base_;
  EventLoop& loop_;
  UniqueFd listener_;
  std::map<Key, std::unique_ptr<VsockConnection>> connections_;
  std::map<int, PendingClient> clients_;
  std::deque<Control> control_;
  bool rx_starved_ = false;
  uint32_t next_host_port_ = 1u << 30;
};

}  // namespace sandbox::vmm
