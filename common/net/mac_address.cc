#include "common/net/mac_address.h"

#include <charconv>
#include <cstdio>
#include <cstring>

namespace sandbox::net {

Result<MacAddress> MacAddress::Parse(std::string_view text) {
  // "xx:" five times then "xx": exactly 17 characters.
  MacAddress mac;
  const auto invalid = [&] {
    return InvalidArgument("invalid MAC address \"" + std::string(text) + "\"");
  };
  if (text.size() != 17) return invalid();
  for (size_t i = 0; i < mac.bytes.size(); ++i) {
    const char* pair = text.data() + i * 3;
    if (i + 1 < mac.bytes.size() && pair[2] != ':') return invalid();
    const auto [end, error] = std::from_chars(pair, pair + 2, mac.bytes[i], 16);
    if (error != std::errc() || end != pair + 2) return invalid();
  }
  return mac;
}

Result<MacAddress> MacAddress::FromBytes(std::span<const uint8_t> bytes) {
  MacAddress mac;
  if (bytes.size() != mac.bytes.size()) {
    return InvalidArgument("MAC address of " + std::to_string(bytes.size()) + " bytes");
  }
  std::memcpy(mac.bytes.data(), bytes.data(), bytes.size());
  return mac;
}

std::string MacAddress::ToString() const {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

}  // namespace sandbox::net
