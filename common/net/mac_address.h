// MacAddress: a 6-byte Ethernet address, parsed from and formatted as
// "02:42:ac:11:00:02".
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace sandbox::net {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  // Six colon-separated hex pairs; anything else is kInvalidArgument.
  static Result<MacAddress> Parse(std::string_view text);
  // Takes a netlink attribute's bytes; a length other than 6 is an error.
  static Result<MacAddress> FromBytes(std::span<const uint8_t> bytes);
  std::string ToString() const;

  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

}  // namespace sandbox::net
