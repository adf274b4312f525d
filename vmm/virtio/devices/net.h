// virtio-net (device type 1) over a host TAP fd that the VMM's caller opened
// with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (in the pod's network namespace).
// One rx and one tx queue, no control queue. Frames carry the 12-byte
// virtio_net_hdr_v1 both ways and the TAP takes and gives that header as is,
// so checksum and TSO offloads pass through without the VMM touching them.
//  - tx: each chain (header + frame) goes to the TAP in one writev.
//  - rx: frames are read straight into the guest's buffers (readv). The
//    device holds the rx chains it popped and reads only when they can take a
//    whole frame; without buffers it stops polling the TAP until the guest
//    kicks rx, so no frame is dropped for want of room and the loop never spins.
// An unplugged NIC (CreateUnplugged) has nothing behind it: its link is up,
// what the guest sends is dropped and nothing arrives. It is what a VM
// template's NIC is; the template's clones get real TAPs when restored.
// Snapshots: tx holds nothing (each chain is sent as it is popped); the rx
// chains the device holds are saved as not popped (ChainsHeld), and the
// restored device, activated on its own TAP, pops them again.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/base/unique_fd.h"
#include "vmm/event_loop.h"
#include "vmm/virtio/device.h"

namespace sandbox::vmm {

using MacAddress = std::array<uint8_t, 6>;

// Feature bits (virtio 1.2, 5.1.3); <linux/virtio_net.h> does not compile as C++.
inline constexpr uint64_t kNetFeatureCsum = 1ull << 0;
inline constexpr uint64_t kNetFeatureGuestCsum = 1ull << 1;
inline constexpr uint64_t kNetFeatureMtu = 1ull << 3;
inline constexpr uint64_t kNetFeatureMac = 1ull << 5;
inline constexpr uint64_t kNetFeatureGuestTso4 = 1ull << 7;
inline constexpr uint64_t kNetFeatureGuestTso6 = 1ull << 8;
inline constexpr uint64_t kNetFeatureGuestEcn = 1ull << 9;
inline constexpr uint64_t kNetFeatureHostTso4 = 1ull << 11;
inline constexpr uint64_t kNetFeatureHostTso6 = 1ull << 12;
inline constexpr uint64_t kNetFeatureHostEcn = 1ull << 13;
inline constexpr uint64_t kNetFeatureMergeableRxBuffers = 1ull << 15;
inline constexpr uint64_t kNetFeatureStatus = 1ull << 16;

// The TUNSETOFFLOAD flags for what the guest said it can receive: partial
// checksums, TSO (only with checksums, as the kernel requires) and ECN.
uint32_t TapOffloadFlags(uint64_t negotiated_features);
// Sets the TAP's vnet header size to 12 and its offloads to the above.
Status ConfigureTap(int tap_fd, uint64_t negotiated_features);

class NetDevice : public VirtioDevice, public std::enable_shared_from_this<NetDevice> {
 public:
  static constexpr uint32_t kHeaderSize = 12;  // virtio_net_hdr_v1
  // The largest frame a driver may send (5.1.6.2), and what rx must take
  // when the guest accepts TSO.
  static constexpr uint32_t kMaxFrameSize = 65550;
  static constexpr uint16_t kDefaultMtu = 1500;

  // Applies the negotiated features to the TAP at DRIVER_OK; tests swap it
  // out when a socketpair stands in for the TAP.
  using TapSetup = std::function<Status(int tap_fd, uint64_t negotiated_features)>;

  // Takes `tap` (made non-blocking and close-on-exec here) and watches it on
  // `loop` from activation on.
  static Result<std::shared_ptr<NetDevice>> Create(UniqueFd tap, const MacAddress& mac, uint16_t mtu,
                                                   EventLoop& loop, TapSetup setup = ConfigureTap);
  // A NIC with no TAP: one end of a socketpair of its own stands in for it,
  // and nothing is ever written to the other.
  static Result<std::shared_ptr<NetDevice>> CreateUnplugged(const MacAddress& mac, uint16_t mtu, EventLoop& loop);
  ~NetDevice() override;

  uint32_t device_type() const override { return 1; }
  const char* name() const override { return "net"; }
  uint64_t offered_features() const override;
  size_t queue_count() const override { return 2; }  // rx, tx
  Status Activate(const ActiveQueues& active) override;
  void ProcessQueue(size_t index) override;
  void Reset() override;
  // Refused only when an rx buffer the device returned unused was posted
  // after one it still holds: popped again, it would be returned twice.
  Status CheckSnapshotable() const override;
  uint16_t ChainsHeld(size_t index) const override;

  // The tx frames an unplugged NIC dropped; with mutex() held.
  uint64_t unplugged_tx_dropped() const { return unplugged_tx_dropped_; }

 protected:
  std::span<const uint8_t> config_bytes() const override {
    return {reinterpret_cast<const uint8_t*>(&config_), sizeof(config_)};
  }

 private:
  // virtio_net_config up to mtu; read-only for the guest.
  struct ConfigSpace {
    uint8_t mac[6];
    uint16_t status;
    uint16_t max_virtqueue_pairs;
    uint16_t mtu;
  } __attribute__((packed));
  // An rx chain taken from the ring, with its writable buffers translated once.
  struct HeldChain {
    DescriptorChain chain;
    std::vector<std::span<uint8_t>> buffers;
    uint64_t popped_at = 0;  // rx_popped_ before it was taken
  };

  NetDevice(UniqueFd tap, EventLoop& loop, TapSetup setup)
      : tap_(std::move(tap)), loop_(loop), setup_(std::move(setup)) {}

  void OnTapReadable();
  uint32_t Transmit(const DescriptorChain& chain);
  // Moves frames from the TAP into the guest while its buffers last.
  void Receive();
  void HoldRxChains(bool& used_any);
  Status ReturnUnusable(uint16_t head, const std::string& why, bool& used_any);
  bool CanTakeFrame() const;
  uint64_t MaxRxFrame() const;
  enum class ReadOutcome { kDelivered, kDropped, kWouldBlock, kTapDown };
  ReadOutcome ReadFrame(bool& used_any);
  Status CompleteFrame(uint64_t length, bool& used_any);
  void ArmTap();

  UniqueFd tap_;
  EventLoop& loop_;
  TapSetup setup_;
  ConfigSpace config_{};
  // rx chains taken from the ring but not yet filled, oldest first.
  std::deque<HeldChain> rx_chains_;
  uint64_t rx_bytes_held_ = 0;
  // rx chains popped since activation, held or returned.
  uint64_t rx_popped_ = 0;
  // An unplugged NIC's other end of the socketpair, open so that reads of
  // tap_ find nothing (EAGAIN) rather than a closed peer; invalid for a TAP.
  UniqueFd unplugged_peer_;
  uint64_t unplugged_tx_dropped_ = 0;
  // Set once this device asked for a reset: its rings are not touched again.
  bool failed_ = false;
};

}  // namespace sandbox::vmm
