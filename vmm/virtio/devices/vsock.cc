#include "vmm/virtio/devices/vsock.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fmt/format.h>

#include "common/base/unix_socket.h"

namespace sandbox::vmm {
namespace {

constexpr size_t kRxQueue = 0;
constexpr size_t kTxQueue = 1;
constexpr size_t kMaxConnectLine = 64;

std::optional<uint32_t> ParseConnectLine(std::string_view line) {
  constexpr std::string_view kPrefix = "CONNECT ";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  uint32_t port = 0;
  auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), port);
  if (error != std::errc() || end != line.data() + line.size()) return std::nullopt;
  return port;
}

}  // namespace

Result<std::shared_ptr<VsockDevice>> VsockDevice::Create(uint64_t guest_cid, const std::string& uds_path,
                                                         EventLoop& loop, const std::string& listeners_base) {
  std::shared_ptr<VsockDevice> device(
      new VsockDevice(guest_cid, uds_path, listeners_base.empty() ? uds_path : listeners_base, loop));
  Result<UniqueFd> listener = ListenUnix(uds_path, 64, SOCK_NONBLOCK);
  if (!listener.ok()) return listener.status().Wrap("vsock.uds_path");
  device->listener_ = std::move(listener).value();
  std::weak_ptr<VsockDevice> weak = device;
  SANDBOX_RETURN_IF_ERROR(loop.Add(device->listener_.get(), EPOLLIN, [weak](uint32_t) {
    if (auto self = weak.lock()) self->OnListenerReadable();
  }));
  return device;
}

VsockDevice::~VsockDevice() {
  for (auto& [fd, client] : clients_) loop_.Remove(fd);
  for (auto& [key, connection] : connections_) loop_.Remove(connection->fd());
  if (listener_.valid()) {
    loop_.Remove(listener_.get());
    ::unlink(uds_path_.c_str());
  }
}

Status VsockDevice::Activate(const ActiveQueues& active) {
  rx_starved_ = false;
  return VirtioDevice::Activate(active);
}

void VsockDevice::Reset() {
  // A reset guest has forgotten every connection: the host sides see EOF.
  for (auto& [key, connection] : connections_) loop_.Remove(connection->fd());
  connections_.clear();
  control_.clear();
  VirtioDevice::Reset();
}

Status VsockDevice::CheckSnapshotable() const {
  if (!connections_.empty() || !clients_.empty() || !control_.empty()) {
    return FailedPrecondition(fmt::format("vsock: {} connection(s), {} host client(s) and {} control packet(s) pending; "
                                          "a snapshot needs an idle device",
                                          connections_.size(), clients_.size(), control_.size()));
  }
  return Status::Ok();
}

void VsockDevice::SaveState(SnapshotWriter& out, const std::string& prefix) const {
  out.AddU64(prefix + "/next_host_port", next_host_port_);
  out.AddU64(prefix + "/rx_starved", rx_starved_ ? 1 : 0);
}

Status VsockDevice::RestoreState(const SnapshotReader& in, const std::string& prefix) {
  SANDBOX_ASSIGN_OR_RETURN(uint64_t next_host_port, in.GetU64(prefix + "/next_host_port"));
  SANDBOX_ASSIGN_OR_RETURN(uint64_t rx_starved, in.GetU64(prefix + "/rx_starved"));
  next_host_port_ = static_cast<uint32_t>(next_host_port);
  rx_starved_ = rx_starved != 0;
  return Status::Ok();
}

void VsockDevice::ProcessQueue(size_t index) {
  if (!active_) return;
  if (index == kTxQueue) ProcessTx();
  // rx: new buffers; tx: replies to send. The event queue is never used.
  DeliverToGuest();
}

// ---- host side ----------------------------------------------------------

void VsockDevice::OnListenerReadable() {
  std::lock_guard lock(mutex());
  for (;;) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client.valid()) return;
    const int fd = client.get();
    std::weak_ptr<VsockDevice> weak = weak_from_this();
    if (!loop_.Add(fd, EPOLLIN, [weak, fd](uint32_t) {
           if (auto self = weak.lock()) self->OnClientReadable(fd);
         }).ok()) {
      continue;
    }
    clients_[fd] = PendingClient{std::move(client)};
  }
}

void VsockDevice::OnClientReadable(int fd) {
  std::lock_guard lock(mutex());
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  // Peek so that bytes after the line stay in the socket for the guest.
  char buffer[kMaxConnectLine];
  const ssize_t peeked = ::recv(fd, buffer, sizeof(buffer), MSG_PEEK | MSG_DONTWAIT);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  const char* newline = peeked > 0 ? static_cast<const char*>(std::memchr(buffer, '\n', peeked)) : nullptr;
  if (newline == nullptr && peeked > 0 && peeked < static_cast<ssize_t>(sizeof(buffer))) return;  // wait for more
  UniqueFd socket = std::move(it->second.socket);
  loop_.Remove(fd);
  clients_.erase(it);
  if (newline == nullptr) return;  // EOF, error or no line within the limit: drop the client
  const size_t line_length = static_cast<size_t>(newline - buffer) + 1;
  [[maybe_unused]] ssize_t consumed = ::recv(fd, buffer, line_length, MSG_DONTWAIT);
  const auto port = ParseConnectLine(std::string_view(buffer, line_length - 1));
  if (!port) {
    guest_warnings_.Warn("vsock: host client sent a bad CONNECT line");
    return;
  }
  if (!active_) {
    spdlog::debug("vsock: CONNECT {} before the guest driver is ready; closing", *port);
    return;
  }
  const uint32_t host_port = AllocateHostPort();
  const Key key{host_port, *port};
  auto connection = std::make_unique<VsockConnection>(std::move(socket), host_port, *port,
                                                      VsockConnection::State::kConnecting);
  std::weak_ptr<VsockDevice> weak = weak_from_this();
  if (!loop_.Add(connection->fd(), EPOLLONESHOT, [weak, key](uint32_t events) {
         if (auto self = weak.lock()) self->OnConnectionEvent(key, events);
       }).ok()) {
    return;
  }
  connections_[key] = std::move(connection);
  QueueControl(VIRTIO_VSOCK_OP_REQUEST, host_port, *port);
  DeliverToGuest();
}

void VsockDevice::OnConnectionEvent(Key key, uint32_t events) {
  std::lock_guard lock(mutex());
  auto it = connections_.find(key);
  if (it == connections_.end() || !active_) return;
  VsockConnection& connection = *it->second;
  if (events & EPOLLOUT) {
    if (!connection.FlushToHost().ok()) {
      Close(key, true);
      DeliverToGuest();
      return;
    }
    if (connection.TakeCreditUpdateDue()) QueueControl(VIRTIO_VSOCK_OP_CREDIT_UPDATE, key.first, key.second);
    if (!connection.has_buffered_output()) {
      if (connection.closing) {
        Close(key, true);
        DeliverToGuest();
        return;
      }
      if (connection.guest_sent_shutdown) ::shutdown(connection.fd(), SHUT_WR);
    }
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadFromHost(connection);
  DeliverToGuest();
  if (connections_.contains(key)) UpdateInterest(connection);
}

void VsockDevice::ReadFromHost(VsockConnection& connection) {
  if (connection.state() != VsockConnection::State::kEstablished || connection.host_eof ||
      !connection.to_guest.empty()) {
    return;
  }
  const uint32_t credit = std::min(connection.GuestCredit(), kMaxPacketPayload);
  if (credit == 0) return;
  connection.to_guest.resize(credit);
  const ssize_t got = ::recv(connection.fd(), connection.to_guest.data(), credit, MSG_DONTWAIT);
  if (got > 0) {
    connection.to_guest.resize(static_cast<size_t>(got));
    connection.to_guest_offset = 0;
    return;
  }
  connection.to_guest.clear();
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  // EOF (or a dead socket): the host will send no more.
  connection.host_eof = true;
  if (connection.guest_sent_shutdown) {
    Close({connection.host_port(), connection.guest_port()}, true);
  } else {
    QueueControl(VIRTIO_VSOCK_OP_SHUTDOWN, connection.host_port(), connection.guest_port(),
                 VIRTIO_VSOCK_SHUTDOWN_SEND);
  }
}

void VsockDevice::UpdateInterest(VsockConnection& connection) {
  uint32_t events = 0;
  if (connection.state() == VsockConnection::State::kEstablished && !connection.host_eof &&
      connection.to_guest.empty() && connection.GuestCredit() > 0 && !rx_starved_) {
    events |= EPOLLIN;
  }
  if (connection.has_buffered_output()) events |= EPOLLOUT;
  // One-shot: a disarmed socket cannot spin the loop with EPOLLHUP while we
  // wait for guest credit or rx buffers; each handler run re-arms it.
  if (events != 0) (void)loop_.Modify(connection.fd(), events | EPOLLONESHOT);
}

void VsockDevice::UpdateAllInterest() {
  for (auto& [key, connection] : connections_) UpdateInterest(*connection);
}

uint32_t VsockDevice::AllocateHostPort() {
  for (;;) {
    const uint32_t port = next_host_port_++;
    if (next_host_port_ == 0) next_host_port_ = 1u << 30;
    bool used = false;
    for (const auto& [key, connection] : connections_) used = used || key.first == port;
    if (!used) return port;
  }
}

void VsockDevice::Close(Key key, bool send_reset) {
  auto it = connections_.find(key);
  if (it == connections_.end()) return;
  loop_.Remove(it->second->fd());
  connections_.erase(it);
  if (send_reset) QueueControl(VIRTIO_VSOCK_OP_RST, key.first, key.second);
}

// ---- guest side ---------------------------------------------------------

void VsockDevice::ProcessTx() {
  DrainQueue(*active_, kTxQueue, [this](const DescriptorChain& chain) -> uint32_t {
    ChainCursor reader(*active_->memory, chain, ChainCursor::Direction::kReadable);
    virtio_vsock_hdr header{};
    if (reader.CopyOut({reinterpret_cast<uint8_t*>(&header), sizeof(header)}) != sizeof(header)) {
      guest_warnings_.Warn("vsock: tx packet shorter than its header");
      return 0;
    }
    if (header.len > reader.remaining() || header.len > kMaxPacketPayload) {
      guest_warnings_.Warn("vsock: tx packet claims {} payload bytes, carries {}", uint32_t{header.len}, reader.remaining());
      return 0;
    }
    HandleGuestPacket(header, reader);
    return 0;
  });
}

void VsockDevice::HandleGuestPacket(const virtio_vsock_hdr& header, ChainCursor& payload) {
  if (header.src_cid != guest_cid_ || header.dst_cid != kHostCid) {
    guest_warnings_.Warn("vsock: dropping a packet from CID {} to CID {}", uint64_t{header.src_cid}, uint64_t{header.dst_cid});
    return;
  }
  const Key key{header.dst_port, header.src_port};
  if (header.type != VIRTIO_VSOCK_TYPE_STREAM) {
    QueueControl(VIRTIO_VSOCK_OP_RST, key.first, key.second);
    return;
  }
  auto it = connections_.find(key);
  if (header.op == VIRTIO_VSOCK_OP_REQUEST) {
    if (it != connections_.end()) {
      Close(key, true);
      return;
    }
    ConnectToHost(header);
    return;
  }
  if (it == connections_.end()) {
    if (header.op != VIRTIO_VSOCK_OP_RST) QueueControl(VIRTIO_VSOCK_OP_RST, key.first, key.second);
    return;
  }
  VsockConnection& connection = *it->second;
  connection.UpdateGuestCredit(header.buf_alloc, header.fwd_cnt);
  switch (header.op) {
    case VIRTIO_VSOCK_OP_RESPONSE: {
      if (connection.state() != VsockConnection::State::kConnecting) {
        Close(key, true);
        return;
      }
      connection.set_established();
      const std::string ok = fmt::format("OK {}\n", connection.host_port());
      if (::send(connection.fd(), ok.data(), ok.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
          static_cast<ssize_t>(ok.size())) {
        Close(key, true);
        return;
      }
      break;
    }
    case VIRTIO_VSOCK_OP_RW: {
      if (connection.state() != VsockConnection::State::kEstablished) {
        Close(key, true);
        return;
      }
      auto spans = payload.Take(header.len);
      if (!spans.ok()) return;
      for (std::span<uint8_t> span : *spans) {
        if (!connection.SendToHost(span).ok()) {
          Close(key, true);
          return;
        }
      }
      if (connection.TakeCreditUpdateDue()) QueueControl(VIRTIO_VSOCK_OP_CREDIT_UPDATE, key.first, key.second);
      break;
    }
    case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
      break;
    case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
      connection.MarkCreditReported();
      QueueControl(VIRTIO_VSOCK_OP_CREDIT_UPDATE, key.first, key.second);
      break;
    case VIRTIO_VSOCK_OP_SHUTDOWN:
      if (header.flags & VIRTIO_VSOCK_SHUTDOWN_SEND) connection.guest_sent_shutdown = true;
      if ((header.flags & VIRTIO_VSOCK_SHUTDOWN_RCV) && (header.flags & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
        connection.closing = true;
      }
      if (!connection.has_buffered_output()) {
        if (connection.closing || connection.host_eof) {
          Close(key, true);
          return;
        }
        ::shutdown(connection.fd(), SHUT_WR);
      }
      break;
    case VIRTIO_VSOCK_OP_RST:
      Close(key, false);
      return;
    default:
      Close(key, true);
      return;
  }
  UpdateInterest(connection);
}

void VsockDevice::ConnectToHost(const virtio_vsock_hdr& header) {
  const std::string path = fmt::format("{}_{}", listeners_base_, header.dst_port);
  Result<UniqueFd> connected = ConnectUnix(path, SOCK_NONBLOCK);
  if (!connected.ok()) {
    spdlog::debug("vsock: guest port {} -> host port {}: {}", uint32_t{header.src_port}, uint32_t{header.dst_port},
                  connected.status().message());
    QueueControl(VIRTIO_VSOCK_OP_RST, header.dst_port, header.src_port);
    return;
  }
  const Key key{header.dst_port, header.src_port};
  auto connection = std::make_unique<VsockConnection>(std::move(connected).value(), header.dst_port, header.src_port,
                                                      VsockConnection::State::kEstablished);
  connection->UpdateGuestCredit(header.buf_alloc, header.fwd_cnt);
  std::weak_ptr<VsockDevice> weak = weak_from_this();
  if (!loop_.Add(connection->fd(), EPOLLONESHOT, [weak, key](uint32_t events) {
         if (auto self = weak.lock()) self->OnConnectionEvent(key, events);
       }).ok()) {
    QueueControl(VIRTIO_VSOCK_OP_RST, key.first, key.second);
    return;
  }
  VsockConnection& added = *(connections_[key] = std::move(connection));
  QueueControl(VIRTIO_VSOCK_OP_RESPONSE, key.first, key.second);
  UpdateInterest(added);
}

// ---- rx -------------------------------------------------------------------

void VsockDevice::QueueControl(uint16_t op, uint32_t host_port, uint32_t guest_port, uint32_t flags) {
  // Only resets are dropped: the rest belong to a connection, whose number
  // bounds them, and dropping one would strand it (a RESPONSE, a SHUTDOWN).
  if (op == VIRTIO_VSOCK_OP_RST && control_.size() >= kMaxQueuedControl) {
    guest_warnings_.Warn("vsock: dropping a reset to guest port {}: {} control packets already wait for rx buffers",
                         guest_port, control_.size());
    return;
  }
  control_.push_back({op, host_port, guest_port, flags});
}

virtio_vsock_hdr VsockDevice::HeaderTo(uint32_t host_port, uint32_t guest_port, uint16_t op) const {
  virtio_vsock_hdr header{};
  header.src_cid = kHostCid;
  header.dst_cid = guest_cid_;
  header.src_port = host_port;
  header.dst_port = guest_port;
  header.type = VIRTIO_VSOCK_TYPE_STREAM;
  header.op = op;
  header.buf_alloc = VsockConnection::kBufferSize;
  auto it = connections_.find({host_port, guest_port});
  header.fwd_cnt = it == connections_.end() ? 0 : it->second->forwarded();
  return header;
}

std::optional<DescriptorChain> VsockDevice::PopRxChain(bool& used_any) {
  Virtqueue& rx = (*active_->queues)[kRxQueue];
  if (!rx.ready) return std::nullopt;
  for (;;) {
    auto popped = rx.Pop(*active_->memory);
    if (!popped.ok()) {
      active_->fail(popped.status());
      return std::nullopt;
    }
    if (!popped->has_value()) return std::nullopt;
    PoppedChain& entry = **popped;
    if (entry.chain && entry.chain->writable_bytes >= sizeof(virtio_vsock_hdr)) return std::move(entry.chain);
    guest_warnings_.Warn("vsock: dropping an unusable rx buffer: {}",
                 entry.chain ? "smaller than a packet header" : entry.error.message());
    (void)rx.PushUsed(*active_->memory, entry.head, 0);
    used_any = true;
  }
}

void VsockDevice::DeliverToGuest() {
  if (!active_) return;
  Virtqueue& rx = (*active_->queues)[kRxQueue];
  const GuestMemory& memory = *active_->memory;
  bool used_any = false;
  bool starved = false;
  while (!control_.empty()) {
    auto chain = PopRxChain(used_any);
    if (!chain) {
      starved = true;
      break;
    }
    const Control& control = control_.front();
    virtio_vsock_hdr header = HeaderTo(control.host_port, control.guest_port, control.op);
    header.flags = control.flags;
    ChainCursor writer(memory, *chain, ChainCursor::Direction::kWritable);
    writer.CopyIn({reinterpret_cast<const uint8_t*>(&header), sizeof(header)});
    (void)rx.PushUsed(memory, chain->head, sizeof(header));
    if (control.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE || control.op == VIRTIO_VSOCK_OP_RESPONSE) {
      if (auto it = connections_.find({control.host_port, control.guest_port}); it != connections_.end()) {
        it->second->MarkCreditReported();
      }
    }
    used_any = true;
    control_.pop_front();
  }
  for (auto& [key, connection] : connections_) {
    if (starved) break;
    while (connection->to_guest_offset < connection->to_guest.size()) {
      auto chain = PopRxChain(used_any);
      if (!chain) {
        starved = true;
        break;
      }
      const uint64_t room = chain->writable_bytes - sizeof(virtio_vsock_hdr);
      const uint32_t length = static_cast<uint32_t>(
          std::min<uint64_t>(room, connection->to_guest.size() - connection->to_guest_offset));
      virtio_vsock_hdr header = HeaderTo(key.first, key.second, VIRTIO_VSOCK_OP_RW);
      header.len = length;
      ChainCursor writer(memory, *chain, ChainCursor::Direction::kWritable);
      writer.CopyIn({reinterpret_cast<const uint8_t*>(&header), sizeof(header)});
      writer.CopyIn({connection->to_guest.data() + connection->to_guest_offset, length});
      (void)rx.PushUsed(memory, chain->head, static_cast<uint32_t>(sizeof(header) + length));
      connection->to_guest_offset += length;
      connection->CountSentToGuest(length);
      connection->MarkCreditReported();
      used_any = true;
    }
    if (connection->to_guest_offset == connection->to_guest.size()) {
      connection->to_guest.clear();
      connection->to_guest_offset = 0;
    }
  }
  if (used_any) active_->signal_used();
  rx_starved_ = starved;
  // Sockets whose pending data just went out (or that waited for rx buffers) read again.
  UpdateAllInterest();
}

}  // namespace sandbox::vmm
