#include "common/net/ip_address.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/net/mac_address.h"

namespace sandbox::net {
namespace {

TEST(IpAddress, ParsesAndFormatsBothFamilies) {
  const Result<IpAddress> v4 = IpAddress::Parse("10.0.0.2");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->size(), 4u);
  EXPECT_EQ(v4->bytes[0], 10);
  EXPECT_EQ(v4->bytes[3], 2);
  EXPECT_EQ(v4->ToString(), "10.0.0.2");
  const Result<IpAddress> v6 = IpAddress::Parse("fd00::2");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->ToString(), "fd00::2");
  EXPECT_FALSE(v6->IsLinkLocalV6());
  EXPECT_TRUE(IpAddress::Parse("fe80::1")->IsLinkLocalV6());
  EXPECT_TRUE(IpAddress::Parse("febf::1")->IsLinkLocalV6());
  EXPECT_FALSE(IpAddress::Parse("fec0::1")->IsLinkLocalV6());
}

TEST(IpAddress, RejectsGarbage) {
  for (const char* text : {"", "10.0.0", "10.0.0.256", "fd00:::1", "eth0", "10.0.0.1 "}) {
    const Result<IpAddress> address = IpAddress::Parse(text);
    EXPECT_FALSE(address.ok()) << text;
    EXPECT_EQ(address.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(IpAddress, FromBytesChecksTheLength) {
  const uint8_t four[] = {192, 168, 1, 1};
  EXPECT_EQ(IpAddress::FromBytes(AF_INET, four)->ToString(), "192.168.1.1");
  EXPECT_FALSE(IpAddress::FromBytes(AF_INET6, four).ok());
  EXPECT_FALSE(IpAddress::FromBytes(AF_PACKET, four).ok());
}

TEST(IpPrefix, ParsesLengths) {
  EXPECT_EQ(IpPrefix::Parse("10.0.0.2/24")->prefix_length, 24);
  EXPECT_EQ(IpPrefix::Parse("10.0.0.2")->prefix_length, 32);
  EXPECT_EQ(IpPrefix::Parse("fd00::/64")->ToString(), "fd00::/64");
  EXPECT_EQ(IpPrefix::Parse("fd00::1")->prefix_length, 128);
  for (const char* text :
       {"10.0.0.2/33", "10.0.0.2/", "10.0.0.2/-1", "10.0.0.2/2x", "fd00::/129"}) {
    EXPECT_FALSE(IpPrefix::Parse(text).ok()) << text;
  }
}

TEST(MacAddress, ParsesAndFormats) {
  const Result<MacAddress> mac = MacAddress::Parse("02:42:AC:11:00:02");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->ToString(), "02:42:ac:11:00:02");
  for (const char* text : {"", "02:42:ac:11:00", "02:42:ac:11:00:02:", "02-42-ac-11-00-02",
                           "02:42:ac:11:00:0g", "02:42:ac:11:00:+2"}) {
    EXPECT_FALSE(MacAddress::Parse(text).ok()) << text;
  }
  const uint8_t five[] = {1, 2, 3, 4, 5};
  EXPECT_FALSE(MacAddress::FromBytes(five).ok());
}

}  // namespace
}  // namespace sandbox::net
