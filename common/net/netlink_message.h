// Building and parsing NETLINK_ROUTE messages without libnl.
//
// NetlinkMessage builds one request: an nlmsghdr, a family header (ifinfomsg,
// ifaddrmsg, ...) and attributes, nested ones included, each padded to
// NLA_ALIGNTO. The parsing half treats every reply as untrusted bytes: each
// length is checked against what is left of its buffer before anything is
// read, so a malformed reply yields a Status, never an out-of-bounds read.
// Values are copied out with memcpy: nothing here depends on the buffer's
// alignment.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/base/status.h"

namespace sandbox::net {

using Bytes = std::span<const uint8_t>;

class NetlinkMessage {
 public:
  // `flags` adds to NLM_F_REQUEST (e.g. NLM_F_CREATE | NLM_F_EXCL).
  NetlinkMessage(uint16_t type, uint16_t flags);

  // Appends the family header; call once, before any attribute.
  template <class Header>
  void AppendHeader(const Header& header) {
    static_assert(std::is_trivially_copyable_v<Header>);
    AppendPadded(&header, sizeof(header));
  }

  void AddAttribute(uint16_t type, Bytes value);
  void AddU32(uint16_t type, uint32_t value) { AddRaw(type, value); }
  // Adds the string with its terminating NUL, as the kernel expects for names.
  void AddString(uint16_t type, std::string_view value);
  template <class T>
  void AddRaw(uint16_t type, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    AddAttribute(type, Bytes(reinterpret_cast<const uint8_t*>(&value), sizeof(value)));
  }

  // Opens a nested attribute; everything added until EndNested goes inside.
  size_t BeginNested(uint16_t type);
  void EndNested(size_t begin);
  // Appends raw bytes (a family header inside a nested attribute, as
  // VETH_INFO_PEER carries an ifinfomsg), padded.
  void AppendPadded(const void* data, size_t size);

  // Adds nlmsg_flags bits (NLM_F_ACK, NLM_F_DUMP) after construction.
  void AddFlags(uint16_t flags);
  void set_sequence(uint32_t sequence);
  uint16_t type() const;
  // The finished message, its nlmsg_len up to date.
  Bytes bytes() const { return buffer_; }

 private:
  void SetLength(size_t offset, size_t length);

  std::vector<uint8_t> buffer_;
};

// One message of a reply, pointing into the receive buffer.
struct NetlinkMessageView {
  nlmsghdr header{};
  Bytes payload;  // after the nlmsghdr, nlmsg_len - NLMSG_HDRLEN bytes
};

// Splits a datagram into messages, checking every nlmsg_len.
Result<std::vector<NetlinkMessageView>> SplitMessages(Bytes datagram);

// Reads the family header at the start of `payload`; `rest` gets what follows
// it (at its aligned end). A payload shorter than the header is an error.
template <class Header>
Result<Header> ReadHeader(Bytes payload, Bytes* rest = nullptr) {
  static_assert(std::is_trivially_copyable_v<Header>);
  if (payload.size() < sizeof(Header)) {
    return InvalidArgument("netlink payload of " + std::to_string(payload.size()) +
                           " bytes is shorter than its " + std::to_string(sizeof(Header)) +
                           "-byte header");
  }
  Header header;
  std::memcpy(&header, payload.data(), sizeof(Header));
  if (rest != nullptr) {
    *rest = payload.subspan(std::min(payload.size(), size_t{NLMSG_ALIGN(sizeof(Header))}));
  }
  return header;
}

// The attributes of one level (rtattr/nlattr share a layout), by type. The
// NLA_F_NESTED and NLA_F_NET_BYTEORDER bits are masked off the type.
class Attributes {
 public:
  static Result<Attributes> Parse(Bytes data);

  bool Has(uint16_t type) const { return Find(type) != nullptr; }
  // The first attribute of `type`; kNotFound when absent.
  Result<Bytes> Get(uint16_t type) const;
  // Fixed-size values: a size mismatch is kInvalidArgument.
  Result<uint8_t> U8(uint16_t type) const;
  Result<uint32_t> U32(uint16_t type) const;
  // Up to the first NUL (or the whole value when it has none).
  Result<std::string> String(uint16_t type) const;
  Result<Attributes> Nested(uint16_t type) const;
  template <class T>
  Result<T> Raw(uint16_t type) const {
    static_assert(std::is_trivially_copyable_v<T>);
    SANDBOX_ASSIGN_OR_RETURN(Bytes value, SizedValue(type, sizeof(T), /*at_least=*/true));
    T out;
    std::memcpy(&out, value.data(), sizeof(T));
    return out;
  }
  // Every attribute in order, for arrays of nested entries.
  const std::vector<std::pair<uint16_t, Bytes>>& all() const { return entries_; }

 private:
  const Bytes* Find(uint16_t type) const;
  Result<Bytes> SizedValue(uint16_t type, size_t size, bool at_least) const;

  std::vector<std::pair<uint16_t, Bytes>> entries_;
};

// Turns an NLMSG_ERROR message into a Status: Ok for an ACK (error 0), else
// "<what>: <strerror>", with the kernel's extended-ack text appended when it
// sent one ("...: Invalid argument (kernel: TC classifier not found)").
Status StatusFromError(const NetlinkMessageView& message, std::string_view what);

// Checks the NLMSG_DONE of a dump: some families put an error code in it.
Status StatusFromDone(const NetlinkMessageView& message, std::string_view what);

}  // namespace sandbox::net
