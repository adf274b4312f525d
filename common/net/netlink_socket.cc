#include "common/net/netlink_socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>

namespace sandbox::net {
namespace {

Status EnableOption(int fd, int option, std::string_view name) {
  const int on = 1;
  if (::setsockopt(fd, SOL_NETLINK, option, &on, sizeof(on)) != 0) {
    return ErrnoStatus("setsockopt", name);
  }
  return Status::Ok();
}

}  // namespace

Result<NetlinkSocket> NetlinkSocket::Open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return ErrnoStatus("socket", "AF_NETLINK NETLINK_ROUTE");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;  // nl_pid 0: the kernel picks our port id
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
    return ErrnoStatus("bind", "AF_NETLINK NETLINK_ROUTE");
  }
  // Extended acks explain EINVAL and friends; capping keeps acks small. Both
  // are best effort: older kernels answer plain errnos.
  (void)EnableOption(fd.get(), NETLINK_EXT_ACK, "NETLINK_EXT_ACK");
  (void)EnableOption(fd.get(), NETLINK_CAP_ACK, "NETLINK_CAP_ACK");
  return NetlinkSocket(std::move(fd));
}

Status NetlinkSocket::Send(NetlinkMessage& request, std::string_view what) {
  sequence_ = next_sequence_++;
  request.set_sequence(sequence_);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const Bytes bytes = request.bytes();
  for (;;) {
    const ssize_t sent = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                                  reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel));
    if (sent == static_cast<ssize_t>(bytes.size())) return Status::Ok();
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return ErrnoStatus("sendto", what);
    return Internal(std::string(what) + ": short netlink send");
  }
}

Result<Bytes> NetlinkSocket::Receive(std::string_view what) {
  for (;;) {
    // Peek with MSG_TRUNC for the datagram's size: a dump's datagrams can
    // exceed any fixed buffer, and a truncated one would lose messages.
    const ssize_t size = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
    if (size < 0 && errno == EINTR) continue;
    if (size < 0) return ErrnoStatus("recv", what);
    buffer_.resize(static_cast<size_t>(size));
    sockaddr_nl sender{};
    socklen_t sender_size = sizeof(sender);
    const ssize_t received = ::recvfrom(fd_.get(), buffer_.data(), buffer_.size(), 0,
                                        reinterpret_cast<sockaddr*>(&sender), &sender_size);
    if (received < 0 && errno == EINTR) continue;
    if (received < 0) return ErrnoStatus("recv", what);
    if (sender.nl_pid != 0) continue;  // only the kernel answers our requests
    return Bytes(buffer_.data(), static_cast<size_t>(received));
  }
}

Status NetlinkSocket::ReceiveUntilDone(
    std::string_view what,
    const std::function<Result<bool>(const NetlinkMessageView&)>& on_message) {
  for (;;) {
    SANDBOX_ASSIGN_OR_RETURN(const Bytes datagram, Receive(what));
    Result<std::vector<NetlinkMessageView>> messages = SplitMessages(datagram);
    if (!messages.ok()) return messages.status().Wrap(what);
    for (const NetlinkMessageView& message : *messages) {
      // A stale answer to an earlier request that gave up early.
      if (message.header.nlmsg_seq != sequence_) continue;
      SANDBOX_ASSIGN_OR_RETURN(const bool done, on_message(message));
      if (done) return Status::Ok();
    }
  }
}

Status NetlinkSocket::Request(NetlinkMessage& request, std::string_view what) {
  request.AddFlags(NLM_F_ACK);
  SANDBOX_RETURN_IF_ERROR(Send(request, what));
  Status result;
  const Status received =
      ReceiveUntilDone(what, [&](const NetlinkMessageView& message) -> Result<bool> {
        if (message.header.nlmsg_type != NLMSG_ERROR) return false;  // e.g. an echo
        result = StatusFromError(message, what);
        return true;
      });
  SANDBOX_RETURN_IF_ERROR(received);
  return result;
}

Status NetlinkSocket::Query(NetlinkMessage& request, std::string_view what,
                            const MessageHandler& on_message) {
  SANDBOX_RETURN_IF_ERROR(Send(request, what));
  Status result;
  const Status received =
      ReceiveUntilDone(what, [&](const NetlinkMessageView& message) -> Result<bool> {
        if (message.header.nlmsg_type == NLMSG_ERROR) {
          result = StatusFromError(message, what);
          // An error of 0 would be an ack, which a get without NLM_F_ACK never
          // gets: the answer is missing.
          if (result.ok()) result = Internal(std::string(what) + ": ack without an answer");
          return true;
        }
        if (message.header.nlmsg_type < NLMSG_MIN_TYPE) return false;
        result = on_message(message);
        return true;
      });
  SANDBOX_RETURN_IF_ERROR(received);
  return result;
}

Status NetlinkSocket::Dump(NetlinkMessage& request, std::string_view what,
                           const MessageHandler& on_message) {
  request.AddFlags(NLM_F_DUMP);
  SANDBOX_RETURN_IF_ERROR(Send(request, what));
  // Keep reading after a failure so the rest of the dump does not reach the
  // next request; report the first failure.
  Status result;
  bool interrupted = false;
  const Status received =
      ReceiveUntilDone(what, [&](const NetlinkMessageView& message) -> Result<bool> {
        if ((message.header.nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
        if (message.header.nlmsg_type == NLMSG_ERROR) {
          if (result.ok()) result = StatusFromError(message, what);
          return true;
        }
        if (message.header.nlmsg_type == NLMSG_DONE) {
          if (result.ok()) result = StatusFromDone(message, what);
          return true;
        }
        if (message.header.nlmsg_type < NLMSG_MIN_TYPE) return false;  // NLMSG_NOOP
        if (result.ok()) result = on_message(message);
        return false;
      });
  SANDBOX_RETURN_IF_ERROR(received);
  if (result.ok() && interrupted) {
    return Unavailable(std::string(what) + ": dump interrupted by a concurrent change; retry");
  }
  return result;
}

}  // namespace sandbox::net
