#include "common/net/netlink_message.h"

#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstddef>

namespace sandbox::net {
namespace {

// The rtattr/nlattr header: 2 bytes length (header included), 2 bytes type.
constexpr size_t kAttributeHeader = NLA_HDRLEN;

uint16_t ReadU16(const uint8_t* data) {
  uint16_t value;
  std::memcpy(&value, data, sizeof(value));
  return value;
}

// The extended-ack TLVs follow the nlmsgerr: right after it when the kernel
// capped the echoed request (NLM_F_CAPPED), after the whole echoed request
// otherwise. Returns an empty span when there are none or they don't fit.
Bytes ExtendedAckTlvs(const NetlinkMessageView& message, const nlmsgerr& error) {
  if ((message.header.nlmsg_flags & NLM_F_ACK_TLVS) == 0) return {};
  size_t offset = sizeof(nlmsgerr);
  if ((message.header.nlmsg_flags & NLM_F_CAPPED) == 0) {
    offset = sizeof(error.error) + NLMSG_ALIGN(size_t{error.msg.nlmsg_len});
  }
  if (offset > message.payload.size()) return {};
  return message.payload.subspan(offset);
}

}  // namespace

NetlinkMessage::NetlinkMessage(uint16_t type, uint16_t flags) {
  nlmsghdr header{};
  header.nlmsg_type = type;
  header.nlmsg_flags = NLM_F_REQUEST | flags;
  AppendPadded(&header, sizeof(header));
}

void NetlinkMessage::AppendPadded(const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  buffer_.insert(buffer_.end(), bytes, bytes + size);
  buffer_.resize(NLMSG_ALIGN(buffer_.size()), 0);
  SetLength(0, buffer_.size());
}

void NetlinkMessage::AddAttribute(uint16_t type, Bytes value) {
  const size_t begin = BeginNested(type);
  buffer_.insert(buffer_.end(), value.begin(), value.end());
  // The attribute's length excludes its padding; the message's includes it.
  SetLength(begin, buffer_.size() - begin);
  buffer_.resize(NLA_ALIGN(buffer_.size()), 0);
  SetLength(0, buffer_.size());
}

void NetlinkMessage::AddString(uint16_t type, std::string_view value) {
  std::vector<uint8_t> with_nul(value.begin(), value.end());
  with_nul.push_back(0);
  AddAttribute(type, with_nul);
}

size_t NetlinkMessage::BeginNested(uint16_t type) {
  const size_t begin = buffer_.size();
  buffer_.resize(begin + kAttributeHeader, 0);
  std::memcpy(buffer_.data() + begin + sizeof(uint16_t), &type, sizeof(type));
  SetLength(begin, kAttributeHeader);
  SetLength(0, buffer_.size());
  return begin;
}

void NetlinkMessage::EndNested(size_t begin) { SetLength(begin, buffer_.size() - begin); }

void NetlinkMessage::SetLength(size_t offset, size_t length) {
  // nlmsg_len is 32 bits at offset 0; an attribute's length 16 bits.
  if (offset == 0) {
    const auto length32 = static_cast<uint32_t>(length);
    std::memcpy(buffer_.data(), &length32, sizeof(length32));
    return;
  }
  const auto length16 = static_cast<uint16_t>(length);
  std::memcpy(buffer_.data() + offset, &length16, sizeof(length16));
}

void NetlinkMessage::AddFlags(uint16_t flags) {
  uint16_t current = ReadU16(buffer_.data() + offsetof(nlmsghdr, nlmsg_flags));
  current |= flags;
  std::memcpy(buffer_.data() + offsetof(nlmsghdr, nlmsg_flags), &current, sizeof(current));
}

void NetlinkMessage::set_sequence(uint32_t sequence) {
  std::memcpy(buffer_.data() + offsetof(nlmsghdr, nlmsg_seq), &sequence, sizeof(sequence));
}

uint16_t NetlinkMessage::type() const {
  return ReadU16(buffer_.data() + offsetof(nlmsghdr, nlmsg_type));
}

Result<std::vector<NetlinkMessageView>> SplitMessages(Bytes datagram) {
  std::vector<NetlinkMessageView> messages;
  while (!datagram.empty()) {
    if (datagram.size() < NLMSG_HDRLEN) {
      return InvalidArgument("netlink reply: " + std::to_string(datagram.size()) +
                             " trailing bytes are shorter than a message header");
    }
    NetlinkMessageView message;
    std::memcpy(&message.header, datagram.data(), sizeof(nlmsghdr));
    const size_t length = message.header.nlmsg_len;
    if (length < NLMSG_HDRLEN || length > datagram.size()) {
      return InvalidArgument("netlink reply: message length " + std::to_string(length) +
                             " outside [" + std::to_string(NLMSG_HDRLEN) + ", " +
                             std::to_string(datagram.size()) + "]");
    }
    message.payload = datagram.subspan(NLMSG_HDRLEN, length - NLMSG_HDRLEN);
    messages.push_back(message);
    // The last message may omit its padding.
    datagram = datagram.subspan(std::min(datagram.size(), size_t{NLMSG_ALIGN(length)}));
  }
  return messages;
}

Result<Attributes> Attributes::Parse(Bytes data) {
  Attributes attributes;
  while (!data.empty()) {
    if (data.size() < kAttributeHeader) {
      return InvalidArgument("netlink attribute: " + std::to_string(data.size()) +
                             " trailing bytes are shorter than an attribute header");
    }
    const size_t length = ReadU16(data.data());
    const uint16_t type = ReadU16(data.data() + sizeof(uint16_t)) & NLA_TYPE_MASK;
    if (length < kAttributeHeader || length > data.size()) {
      return InvalidArgument("netlink attribute " + std::to_string(type) + ": length " +
                             std::to_string(length) + " outside [" +
                             std::to_string(kAttributeHeader) + ", " + std::to_string(data.size()) +
                             "]");
    }
    attributes.entries_.emplace_back(type,
                                     data.subspan(kAttributeHeader, length - kAttributeHeader));
    data = data.subspan(std::min(data.size(), size_t{NLA_ALIGN(length)}));
  }
  return attributes;
}

const Bytes* Attributes::Find(uint16_t type) const {
  for (const auto& [entry_type, value] : entries_) {
    if (entry_type == type) return &value;
  }
  return nullptr;
}

Result<Bytes> Attributes::Get(uint16_t type) const {
  const Bytes* value = Find(type);
  if (value == nullptr) return NotFound("netlink attribute " + std::to_string(type) + " missing");
  return *value;
}

Result<Bytes> Attributes::SizedValue(uint16_t type, size_t size, bool at_least) const {
  SANDBOX_ASSIGN_OR_RETURN(Bytes value, Get(type));
  if (value.size() < size || (!at_least && value.size() != size)) {
    return InvalidArgument("netlink attribute " + std::to_string(type) + " has " +
                           std::to_string(value.size()) + " bytes, expected " +
                           std::to_string(size));
  }
  return value;
}

Result<uint8_t> Attributes::U8(uint16_t type) const {
  SANDBOX_ASSIGN_OR_RETURN(Bytes value, SizedValue(type, sizeof(uint8_t), /*at_least=*/false));
  return value[0];
}

Result<uint32_t> Attributes::U32(uint16_t type) const {
  SANDBOX_ASSIGN_OR_RETURN(Bytes value, SizedValue(type, sizeof(uint32_t), /*at_least=*/false));
  uint32_t out;
  std::memcpy(&out, value.data(), sizeof(out));
  return out;
}

Result<std::string> Attributes::String(uint16_t type) const {
  SANDBOX_ASSIGN_OR_RETURN(Bytes value, Get(type));
  const auto end = std::find(value.begin(), value.end(), uint8_t{0});
  return std::string(value.begin(), end);
}

Result<Attributes> Attributes::Nested(uint16_t type) const {
  SANDBOX_ASSIGN_OR_RETURN(Bytes value, Get(type));
  return Parse(value);
}

Status StatusFromError(const NetlinkMessageView& message, std::string_view what) {
  SANDBOX_ASSIGN_OR_RETURN(const nlmsgerr error, ReadHeader<nlmsgerr>(message.payload));
  if (error.error == 0) return Status::Ok();
  // Kernel errors are negative errno values; anything else is a broken reply.
  if (error.error > 0 || error.error < -4095) {
    return InvalidArgument(std::string(what) + ": netlink error code " +
                           std::to_string(error.error));
  }
  Status status = ErrnoStatus(what, "", -error.error);
  // "No such device": the interface named in the request does not exist.
  if (error.error == -ENODEV) status = NotFound(status.message());
  const Result<Attributes> tlvs = Attributes::Parse(ExtendedAckTlvs(message, error));
  if (!tlvs.ok() || !tlvs->Has(NLMSGERR_ATTR_MSG)) return status;
  const Result<std::string> text = tlvs->String(NLMSGERR_ATTR_MSG);
  if (!text.ok() || text->empty()) return status;
  return Status(status.code(), status.message() + " (kernel: " + *text + ")");
}

Status StatusFromDone(const NetlinkMessageView& message, std::string_view what) {
  // An NLMSG_DONE may carry no payload at all; an int error when it does.
  if (message.payload.size() < sizeof(int)) return Status::Ok();
  SANDBOX_ASSIGN_OR_RETURN(const int error, ReadHeader<int>(message.payload));
  if (error >= 0) return Status::Ok();
  if (error < -4095)
    return InvalidArgument(std::string(what) + ": dump error code " + std::to_string(error));
  return ErrnoStatus(what, "", -error);
}

}  // namespace sandbox::net
