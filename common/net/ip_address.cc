#include "common/net/ip_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace sandbox::net {

uint8_t MaxPrefixLength(int family) {
  if (family == AF_INET) return 32;
  if (family == AF_INET6) return 128;
  return 0;
}

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string.
  const std::string copy(text);
  IpAddress address;
  if (::inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
    address.family = AF_INET;
    return address;
  }
  if (::inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
    address.family = AF_INET6;
    return address;
  }
  return InvalidArgument("invalid IP address \"" + copy + "\"");
}

Result<IpAddress> IpAddress::FromBytes(int family, std::span<const uint8_t> bytes) {
  IpAddress address;
  address.family = family;
  if (address.size() == 0 || bytes.size() != address.size()) {
    return InvalidArgument("IP address of family " + std::to_string(family) + " with " +
                           std::to_string(bytes.size()) + " bytes");
  }
  std::memcpy(address.bytes.data(), bytes.data(), bytes.size());
  return address;
}

IpAddress IpAddress::Any(int family) {
  IpAddress address;
  address.family = family;
  return address;
}

size_t IpAddress::size() const {
  if (family == AF_INET) return 4;
  if (family == AF_INET6) return 16;
  return 0;
}

bool IpAddress::IsLinkLocalV6() const {
  return family == AF_INET6 && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
}

std::string IpAddress::ToString() const {
  if (size() == 0) return "<unset>";
  char text[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(family, bytes.data(), text, sizeof(text)) == nullptr) return "<invalid>";
  return text;
}

Result<IpPrefix> IpPrefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  SANDBOX_ASSIGN_OR_RETURN(IpAddress address, IpAddress::Parse(text.substr(0, slash)));
  const uint8_t max_length = MaxPrefixLength(address.family);
  if (slash == std::string_view::npos) return IpPrefix{address, max_length};
  const std::string_view length_text = text.substr(slash + 1);
  unsigned length = 0;
  const auto [end, error] =
      std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (error != std::errc() || end != length_text.data() + length_text.size() ||
      length_text.empty() || length > max_length) {
    return InvalidArgument("invalid prefix length in \"" + std::string(text) + "\"");
  }
  return IpPrefix{address, static_cast<uint8_t>(length)};
}

std::string IpPrefix::ToString() const {
  return address.ToString() + "/" + std::to_string(prefix_length);
}

}  // namespace sandbox::net
