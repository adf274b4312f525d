#include "vmm/virtio/devices/net.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fmt/format.h>

namespace sandbox::vmm {
namespace {

constexpr size_t kRxQueue = 0;
constexpr size_t kTxQueue = 1;
constexpr uint16_t kLinkUp = 1;  // VIRTIO_NET_S_LINK_UP
constexpr uint64_t kNumBuffersOffset = 10;  // in virtio_net_hdr_v1
constexpr uint64_t kEthernetHeader = 14;
constexpr uint64_t kVlanTag = 4;
// Frames read per wake-up before the loop serves other fds (the TAP stays armed).
constexpr int kMaxFramesPerWake = 64;

std::vector<iovec> ToIovecs(const std::vector<std::span<uint8_t>>& spans) {
  std::vector<iovec> iov;
  iov.reserve(spans.size());
  for (std::span<uint8_t> span : spans) iov.push_back({span.data(), span.size()});
  return iov;
}

}  // namespace

uint32_t TapOffloadFlags(uint64_t negotiated_features) {
  // The kernel ignores TSO flags without TUN_F_CSUM; so does the spec (GUEST_TSO needs GUEST_CSUM).
  if (!(negotiated_features & kNetFeatureGuestCsum)) return 0;
  uint32_t flags = TUN_F_CSUM;
  if (negotiated_features & kNetFeatureGuestTso4) flags |= TUN_F_TSO4;
  if (negotiated_features & kNetFeatureGuestTso6) flags |= TUN_F_TSO6;
  if ((negotiated_features & kNetFeatureGuestEcn) && (flags & (TUN_F_TSO4 | TUN_F_TSO6))) flags |= TUN_F_TSO_ECN;
  return flags;
}

Status ConfigureTap(int tap_fd, uint64_t negotiated_features) {
  int header_size = NetDevice::kHeaderSize;
  if (::ioctl(tap_fd, TUNSETVNETHDRSZ, &header_size) != 0) return ErrnoStatus("ioctl TUNSETVNETHDRSZ", "net TAP");
  // TUNSETOFFLOAD takes the flags by value.
  if (::ioctl(tap_fd, TUNSETOFFLOAD, static_cast<unsigned long>(TapOffloadFlags(negotiated_features))) != 0) {
    return ErrnoStatus("ioctl TUNSETOFFLOAD", "net TAP");
  }
  return Status::Ok();
}

Result<std::shared_ptr<NetDevice>> NetDevice::Create(UniqueFd tap, const MacAddress& mac, uint16_t mtu,
                                                     EventLoop& loop, TapSetup setup) {
  if (mtu < 68) return InvalidArgument(fmt::format("net: mtu {} is below IPv4's minimum of 68", mtu));
  const int flags = ::fcntl(tap.get(), F_GETFL);
  // Reads stop at EAGAIN; an inherited fd must not leak into children either.
  if (flags < 0 || ::fcntl(tap.get(), F_SETFL, flags | O_NONBLOCK) != 0 ||
      ::fcntl(tap.get(), F_SETFD, FD_CLOEXEC) != 0) {
    return ErrnoStatus("fcntl", fmt::format("net TAP fd {}", tap.get()));
  }
  std::shared_ptr<NetDevice> device(new NetDevice(std::move(tap), loop, std::move(setup)));
  std::memcpy(device->config_.mac, mac.data(), mac.size());
  device->config_.status = kLinkUp;
  device->config_.max_virtqueue_pairs = 1;
  device->config_.mtu = mtu;
  std::weak_ptr<NetDevice> weak = device;
  // Registered disarmed (one-shot, no events): Receive() arms it when the guest has buffers.
  SANDBOX_RETURN_IF_ERROR(loop.Add(device->tap_.get(), EPOLLONESHOT, [weak](uint32_t) {
    if (auto self = weak.lock()) self->OnTapReadable();
  }));
  return device;
}

Result<std::shared_ptr<NetDevice>> NetDevice::CreateUnplugged(const MacAddress& mac, uint16_t mtu, EventLoop& loop) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus("socketpair", "an unplugged NIC");
  }
  UniqueFd tap(fds[0]);
  UniqueFd peer(fds[1]);
  // No TAP, so no vnet header size or offloads to set.
  SANDBOX_ASSIGN_OR_RETURN(std::shared_ptr<NetDevice> device,
                           Create(std::move(tap), mac, mtu, loop, [](int, uint64_t) { return Status::Ok(); }));
  device->unplugged_peer_ = std::move(peer);
  return device;
}

NetDevice::~NetDevice() { loop_.Remove(tap_.get()); }

uint64_t NetDevice::offered_features() const {
  return kVirtioFeatureVersion1 | kVirtioFeatureIndirectDescriptors | kNetFeatureCsum | kNetFeatureGuestCsum |
         kNetFeatureMtu | kNetFeatureMac | kNetFeatureGuestTso4 | kNetFeatureGuestTso6 | kNetFeatureGuestEcn |
         kNetFeatureHostTso4 | kNetFeatureHostTso6 | kNetFeatureHostEcn | kNetFeatureMergeableRxBuffers |
         kNetFeatureStatus;
}

Status NetDevice::Activate(const ActiveQueues& active) {
  SANDBOX_RETURN_IF_ERROR(setup_(tap_.get(), active.features));
  rx_chains_.clear();
  rx_bytes_held_ = 0;
  rx_popped_ = 0;
  failed_ = false;
  ActiveQueues guarded = active;
  guarded.fail = [this, fail = active.fail](const Status& why) {
    failed_ = true;
    fail(why);
  };
  SANDBOX_RETURN_IF_ERROR(VirtioDevice::Activate(guarded));
  Receive();  // the driver may have posted rx buffers already
  return Status::Ok();
}

void NetDevice::Reset() {
  // The armed TAP (if it is) fires once more, finds no active queues and stays quiet.
  rx_chains_.clear();
  rx_bytes_held_ = 0;
  rx_popped_ = 0;
  VirtioDevice::Reset();
}

Status NetDevice::CheckSnapshotable() const {
  // The held chains are saved as not popped, which is right only if they
  // are the last ones popped: an unusable buffer posted after the oldest
  // held one was returned already, and would be returned again.
  if (!rx_chains_.empty() && rx_popped_ - rx_chains_.front().popped_at != rx_chains_.size()) {
    return FailedPrecondition(
        "virtio-net: the guest posted an unusable rx buffer after buffers the device still holds; try again once "
        "frames have filled them");
  }
  return Status::Ok();
}

uint16_t NetDevice::ChainsHeld(size_t index) const {
  // At most a queue's size (256) of them.
  return index == kRxQueue ? static_cast<uint16_t>(rx_chains_.size()) : 0;
}

void NetDevice::ProcessQueue(size_t index) {
  if (!active_ || failed_) return;
  if (index == kTxQueue) {
    DrainQueue(*active_, kTxQueue, [this](const DescriptorChain& chain) { return Transmit(chain); });
  } else if (index == kRxQueue) {
    Receive();  // new buffers: frames may be waiting
  }
}

void NetDevice::OnTapReadable() {
  std::lock_guard lock(mutex());
  if (!active_ || failed_) return;
  Receive();
}

void NetDevice::ArmTap() { (void)loop_.Modify(tap_.get(), EPOLLIN | EPOLLONESHOT); }

// ---- tx -------------------------------------------------------------------

uint32_t NetDevice::Transmit(const DescriptorChain& chain) {
  if (chain.writable_bytes > 0) {
    guest_warnings_.Warn("net: tx: dropping a chain with a device-writable buffer");
    return 0;
  }
  if (chain.readable_bytes < kHeaderSize || chain.readable_bytes - kHeaderSize > kMaxFrameSize) {
    guest_warnings_.Warn("net: tx: dropping a chain of {} bytes (want a {}-byte header and at most {} frame bytes)",
                   chain.readable_bytes, kHeaderSize, kMaxFrameSize);
    return 0;
  }
  if (unplugged_peer_.valid()) {
    // Nothing on the far end of the link: no warning, the guest did nothing wrong.
    ++unplugged_tx_dropped_;
    return 0;
  }
  ChainCursor reader(*active_->memory, chain, ChainCursor::Direction::kReadable);
  auto spans = reader.Take(chain.readable_bytes);
  if (!spans.ok()) {
    guest_warnings_.Warn("net: tx: {}", spans.status().message());
    return 0;
  }
  // The chain is at most a queue long (or one indirect table of that size), far below IOV_MAX.
  const std::vector<iovec> iov = ToIovecs(*spans);
  ssize_t sent;
  do {
    sent = ::writev(tap_.get(), iov.data(), static_cast<int>(iov.size()));
  } while (sent < 0 && errno == EINTR);
  // A full TAP queue drops the frame, as a NIC would; TCP resends.
  if (sent < 0) guest_warnings_.Warn("net: tx: writev to the TAP failed: {}", std::strerror(errno));
  return 0;  // the device writes nothing into tx buffers
}

// ---- rx -------------------------------------------------------------------

void NetDevice::Receive() {
  bool used_any = false;
  bool keep_polling = true;
  for (int frame = 0; frame < kMaxFramesPerWake && keep_polling; ++frame) {
    HoldRxChains(used_any);
    if (failed_ || !CanTakeFrame()) {
      keep_polling = false;  // the guest's next rx kick brings buffers and resumes
      break;
    }
    const ReadOutcome outcome = ReadFrame(used_any);
    if (outcome == ReadOutcome::kWouldBlock) break;
    if (outcome == ReadOutcome::kTapDown) keep_polling = false;
  }
  if (used_any) active_->signal_used();
  if (keep_polling && !failed_) ArmTap();
}

Status NetDevice::ReturnUnusable(uint16_t head, const std::string& why, bool& used_any) {
  guest_warnings_.Warn("net: rx: returning an unusable buffer: {}", why);
  used_any = true;
  return (*active_->queues)[kRxQueue].PushUsed(*active_->memory, head, 0);
}

void NetDevice::HoldRxChains(bool& used_any) {
  Virtqueue& rx = (*active_->queues)[kRxQueue];
  if (!rx.ready) return;
  while (!failed_) {
    auto popped = rx.Pop(*active_->memory);
    if (!popped.ok()) {
      active_->fail(popped.status());
      return;
    }
    if (!popped->has_value()) return;
    const uint64_t popped_at = rx_popped_++;
    PoppedChain& entry = **popped;
    Status returned = Status::Ok();
    if (!entry.chain) {
      returned = ReturnUnusable(entry.head, entry.error.message(), used_any);
    } else if (entry.chain->readable_bytes > 0 || entry.chain->writable_bytes < kHeaderSize) {
      returned = ReturnUnusable(entry.head, "not a writable buffer of at least 12 bytes", used_any);
    } else {
      ChainCursor writer(*active_->memory, *entry.chain, ChainCursor::Direction::kWritable);
      auto buffers = writer.Take(entry.chain->writable_bytes);
      if (!buffers.ok()) {
        returned = ReturnUnusable(entry.head, buffers.status().message(), used_any);
      } else {
        rx_bytes_held_ += entry.chain->writable_bytes;
        rx_chains_.push_back({std::move(*entry.chain), std::move(buffers).value(), popped_at});
      }
    }
    if (!returned.ok()) active_->fail(returned);
  }
}

uint64_t NetDevice::MaxRxFrame() const {
  // Without guest TSO the TAP hands over frames of at most the MTU (5.1.6.3.1).
  if (active_->features & (kNetFeatureGuestTso4 | kNetFeatureGuestTso6)) return kMaxFrameSize;
  return config_.mtu + kEthernetHeader + kVlanTag;
}

bool NetDevice::CanTakeFrame() const {
  if (rx_chains_.empty()) return false;
  // Without mergeable buffers a frame goes into one chain, which the driver sized for it.
  if (!(active_->features & kNetFeatureMergeableRxBuffers)) return true;
  return rx_bytes_held_ >= kHeaderSize + MaxRxFrame();
}

NetDevice::ReadOutcome NetDevice::ReadFrame(bool& used_any) {
  const bool mergeable = active_->features & kNetFeatureMergeableRxBuffers;
  const uint64_t wanted = kHeaderSize + MaxRxFrame();
  std::vector<iovec> iov;
  uint64_t offered = 0;
  for (const HeldChain& held : rx_chains_) {
    for (std::span<uint8_t> buffer : held.buffers) {
      if (iov.size() == IOV_MAX) break;  // a guest's many tiny buffers: read what fits
      iov.push_back({buffer.data(), buffer.size()});
    }
    offered += held.chain.writable_bytes;
    if (!mergeable || offered >= wanted || iov.size() == IOV_MAX) break;
  }
  const ssize_t got = ::readv(tap_.get(), iov.data(), static_cast<int>(iov.size()));
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return ReadOutcome::kWouldBlock;
  if (got <= 0) {
    if (got == 0) {
      guest_warnings_.Warn("net: rx: the TAP was closed");
    } else {
      guest_warnings_.Warn("net: rx: readv from the TAP failed: {}", std::strerror(errno));
    }
    return ReadOutcome::kTapDown;
  }
  if (static_cast<uint64_t>(got) < kHeaderSize) {
    guest_warnings_.Warn("net: rx: dropping a {}-byte read from the TAP (shorter than the vnet header)", got);
    return ReadOutcome::kDropped;  // the buffers stay held for the next frame
  }
  const Status completed = CompleteFrame(static_cast<uint64_t>(got), used_any);
  if (!completed.ok()) active_->fail(completed);
  return ReadOutcome::kDelivered;
}

Status NetDevice::CompleteFrame(uint64_t length, bool& used_any) {
  const GuestMemory& memory = *active_->memory;
  // Count the chains the frame filled first: num_buffers must be in place
  // before the guest can see any of them in the used ring.
  uint16_t chains = 0;
  for (uint64_t left = length; left > 0 && chains < rx_chains_.size(); ++chains) {
    left -= std::min(left, rx_chains_[chains].chain.writable_bytes);
  }
  ChainCursor header(memory, rx_chains_.front().chain, ChainCursor::Direction::kWritable);
  SANDBOX_RETURN_IF_ERROR(header.Take(kNumBuffersOffset).status());
  // The TAP skips num_buffers (it writes 10 bytes of a 12-byte header); without MRG_RXBUF it is 1.
  header.CopyIn({reinterpret_cast<const uint8_t*>(&chains), sizeof(chains)});
  Virtqueue& rx = (*active_->queues)[kRxQueue];
  uint64_t left = length;
  for (uint16_t i = 0; i < chains; ++i) {
    HeldChain held = std::move(rx_chains_.front());
    rx_chains_.pop_front();
    rx_bytes_held_ -= held.chain.writable_bytes;
    // At most the frame's length, so it fits in 32 bits.
    const auto used = static_cast<uint32_t>(std::min(left, held.chain.writable_bytes));
    left -= used;
    used_any = true;
    SANDBOX_RETURN_IF_ERROR(rx.PushUsed(memory, held.chain.head, used));
  }
  return Status::Ok();
}

}  // namespace sandbox::vmm
