// NetlinkSocket: an RAII NETLINK_ROUTE socket that sends requests and waits
// for the kernel's answer.
//
// A netlink socket acts on the network namespace of the thread that opened
// it, for its whole life: open it inside RunInNetns to act on another
// namespace. Not thread-safe: one socket serves one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/net/netlink_message.h"

namespace sandbox::net {

class NetlinkSocket {
 public:
  // Opens and binds the socket and asks for extended acks, so errors carry
  // the kernel's explanation.
  static Result<NetlinkSocket> Open();

  NetlinkSocket(NetlinkSocket&&) = default;
  NetlinkSocket& operator=(NetlinkSocket&&) = default;

  // Sends `request` with NLM_F_ACK and waits for the ack. `what` names the
  // operation and its object in errors: "RTM_NEWADDR 10.0.0.2/24 on eth0".
  Status Request(NetlinkMessage& request, std::string_view what);

  using MessageHandler = std::function<Status(const NetlinkMessageView&)>;
  // Sends a plain get (one object, e.g. RTM_GETLINK by index) and calls
  // `on_message` with the kernel's single answer.
  Status Query(NetlinkMessage& request, std::string_view what, const MessageHandler& on_message);
  // Sends `request` with NLM_F_DUMP and calls `on_message` for every reply
  // message until NLMSG_DONE. The first error (the kernel's, a malformed
  // reply, or the handler's) ends the dump; the rest of it is drained so the
  // socket stays usable. A dump the kernel marks interrupted
  // (NLM_F_DUMP_INTR, a concurrent change) is kUnavailable: retry it.
  Status Dump(NetlinkMessage& request, std::string_view what, const MessageHandler& on_message);

 private:
  explicit NetlinkSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  Status Send(NetlinkMessage& request, std::string_view what);
  // Receives one datagram from the kernel into buffer_, sized to fit it.
  Result<Bytes> Receive(std::string_view what);
  // Calls `on_message` for each message of our sequence until it says done.
  Status ReceiveUntilDone(std::string_view what,
                          const std::function<Result<bool>(const NetlinkMessageView&)>& on_message);

  UniqueFd fd_;
  uint32_t next_sequence_ = 1;
  uint32_t sequence_ = 0;  // of the request in flight
  std::vector<uint8_t> buffer_;
};

}  // namespace sandbox::net
