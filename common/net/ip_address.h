// IpAddress and IpPrefix: the IPv4/IPv6 values the netlink calls take and
// return, parsed and formatted with inet_pton/inet_ntop (no exceptions).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace sandbox::net {

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6; 0 for an unset address
  // Network byte order; IPv4 uses the first 4 bytes, the rest stay zero.
  std::array<uint8_t, 16> bytes{};

  // "10.0.0.2" or "fd00::1"; anything else is kInvalidArgument.
  static Result<IpAddress> Parse(std::string_view text);
  // Takes the 4 or 16 bytes of a netlink attribute; other lengths are an error.
  static Result<IpAddress> FromBytes(int family, std::span<const uint8_t> bytes);
  // The all-zero address of `family` (the destination of a default route).
  static IpAddress Any(int family);

  // 4 for IPv4, 16 for IPv6, 0 when unset.
  size_t size() const;
  std::span<const uint8_t> span() const { return {bytes.data(), size()}; }
  // fe80::/10: the kernel adds these itself; callers mirroring a
  // configuration usually skip them.
  bool IsLinkLocalV6() const;
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// An address with a prefix length: "10.0.0.2/24". Bits past the prefix are
// kept (an interface address keeps its host part).
struct IpPrefix {
  IpAddress address;
  uint8_t prefix_length = 0;

  // "10.0.0.2/24"; a bare address gets the full length (/32 or /128).
  static Result<IpPrefix> Parse(std::string_view text);
  std::string ToString() const;

  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

// Largest prefix length for `family`: 32 or 128 (0 for anything else).
uint8_t MaxPrefixLength(int family);

}  // namespace sandbox::net
