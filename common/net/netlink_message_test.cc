#include "common/net/netlink_message.h"

#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <random>

#include "common/net/address.h"
#include "common/net/link.h"
#include "common/net/neighbour.h"
#include "common/net/route.h"

namespace sandbox::net {
namespace {

std::vector<uint8_t> Copy(Bytes bytes) { return {bytes.begin(), bytes.end()}; }

// One parsed message of `bytes`, which must hold exactly one.
NetlinkMessageView Single(Bytes bytes) {
  Result<std::vector<NetlinkMessageView>> messages = SplitMessages(bytes);
  EXPECT_TRUE(messages.ok()) << messages.status().message();
  EXPECT_EQ(messages.ok() ? messages->size() : 0u, 1u);
  return messages.ok() && !messages->empty() ? messages->front() : NetlinkMessageView{};
}

// An RTM_NEWLINK as the kernel sends it for a veth.
NetlinkMessage VethLinkMessage() {
  NetlinkMessage message(RTM_NEWLINK, 0);
  ifinfomsg header{};
  header.ifi_index = 7;
  header.ifi_flags = IFF_UP;
  message.AppendHeader(header);
  message.AddString(IFLA_IFNAME, "eth0");
  message.AddU32(IFLA_MTU, 9000);
  const uint8_t mac[] = {2, 0x42, 0xac, 0x11, 0, 2};
  message.AddAttribute(IFLA_ADDRESS, mac);
  const size_t link_info = message.BeginNested(IFLA_LINKINFO);
  message.AddString(IFLA_INFO_KIND, "veth");
  message.EndNested(link_info);
  return message;
}

TEST(NetlinkMessage, LaysOutHeadersAndPaddedAttributes) {
  NetlinkMessage message(RTM_NEWLINK, NLM_F_CREATE);
  message.AppendHeader(ifinfomsg{});
  message.AddString(IFLA_IFNAME, "a");  // 4 + 2 bytes, padded to 8
  const size_t nested = message.BeginNested(IFLA_LINKINFO);
  message.AddU32(IFLA_INFO_KIND, 5);
  message.EndNested(nested);
  message.AddFlags(NLM_F_ACK);
  const Bytes bytes = message.bytes();
  ASSERT_EQ(bytes.size(), NLMSG_HDRLEN + sizeof(ifinfomsg) + 8 + 4 + 8);
  nlmsghdr header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  EXPECT_EQ(header.nlmsg_len, bytes.size());
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK);
  const Bytes attributes = bytes.subspan(NLMSG_HDRLEN + sizeof(ifinfomsg));
  uint16_t name_length, nested_length;
  std::memcpy(&name_length, attributes.data(), 2);
  std::memcpy(&nested_length, attributes.data() + 8, 2);
  EXPECT_EQ(name_length, 6);  // unpadded: header + "a\0"
  EXPECT_EQ(nested_length, 12);
}

TEST(NetlinkMessage, LinkRoundTrip) {
  const NetlinkMessage message = VethLinkMessage();
  const Result<LinkInfo> link = ParseLinkMessage(Single(message.bytes()));
  ASSERT_TRUE(link.ok()) << link.status().message();
  EXPECT_EQ(link->index, 7);
  EXPECT_EQ(link->name, "eth0");
  EXPECT_EQ(link->kind, "veth");
  EXPECT_EQ(link->mtu, 9000u);
  ASSERT_TRUE(link->mac.has_value());
  EXPECT_EQ(link->mac->ToString(), "02:42:ac:11:00:02");
  EXPECT_TRUE(link->up);
}

TEST(NetlinkMessage, AddressRouteAndNeighbourRoundTrip) {
  NetlinkMessage address(RTM_NEWADDR, 0);
  address.AppendHeader(ifaddrmsg{AF_INET6, 64, 0, RT_SCOPE_LINK, 3});
  address.AddAttribute(IFA_ADDRESS, IpAddress::Parse("fe80::1")->span());
  const Result<AddressInfo> parsed_address = ParseAddressMessage(Single(address.bytes()));
  ASSERT_TRUE(parsed_address.ok()) << parsed_address.status().message();
  EXPECT_EQ(parsed_address->prefix.ToString(), "fe80::1/64");
  EXPECT_TRUE(parsed_address->link_local);
  EXPECT_EQ(parsed_address->index, 3);

  NetlinkMessage route(RTM_NEWROUTE, 0);
  rtmsg route_header{};
  route_header.rtm_family = AF_INET;
  route_header.rtm_table = RT_TABLE_MAIN;
  route_header.rtm_protocol = RTPROT_BOOT;
  route.AppendHeader(route_header);
  route.AddAttribute(RTA_GATEWAY, IpAddress::Parse("10.0.0.1")->span());
  route.AddU32(RTA_OIF, 4);
  const Result<RouteInfo> parsed_route = ParseRouteMessage(Single(route.bytes()));
  ASSERT_TRUE(parsed_route.ok()) << parsed_route.status().message();
  EXPECT_EQ(parsed_route->destination.ToString(), "0.0.0.0/0");
  EXPECT_EQ(parsed_route->gateway->ToString(), "10.0.0.1");
  EXPECT_EQ(parsed_route->output_index, 4);

  NetlinkMessage neighbour(RTM_NEWNEIGH, 0);
  ndmsg neighbour_header{};
  neighbour_header.ndm_family = AF_INET;
  neighbour_header.ndm_ifindex = 4;
  neighbour_header.ndm_state = NUD_PERMANENT;
  neighbour.AppendHeader(neighbour_header);
  neighbour.AddAttribute(NDA_DST, IpAddress::Parse("10.0.0.1")->span());
  const Result<NeighbourInfo> parsed_neighbour = ParseNeighbourMessage(Single(neighbour.bytes()));
  ASSERT_TRUE(parsed_neighbour.ok()) << parsed_neighbour.status().message();
  EXPECT_EQ(parsed_neighbour->state, NeighbourState::kPermanent);
  EXPECT_FALSE(parsed_neighbour->mac.has_value());
}

TEST(NetlinkMessage, MalformedDatagramsAreErrors) {
  const std::vector<uint8_t> valid = Copy(VethLinkMessage().bytes());
  const auto with_length = [&](uint32_t length) {
    std::vector<uint8_t> bytes = valid;
    std::memcpy(bytes.data(), &length, sizeof(length));
    return bytes;
  };
  const std::vector<std::vector<uint8_t>> bad = {
      {1, 2, 3},                                             // shorter than nlmsghdr
      with_length(0),                                        // length below the header
      with_length(NLMSG_HDRLEN - 1),                         //
      with_length(static_cast<uint32_t>(valid.size() + 1)),  // past the datagram
      with_length(0xffffffff),                               //
      [&] {
        auto b = valid;
        b.insert(b.end(), {1, 2});
        return b;
      }(),  // trailing junk
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_FALSE(SplitMessages(bad[i]).ok()) << "case " << i;
  }
}

TEST(NetlinkMessage, MalformedAttributesAreErrors) {
  const std::vector<std::vector<uint8_t>> bad = {
      {4, 0},              // shorter than an attribute header
      {3, 0, 1, 0},        // length below the header
      {9, 0, 1, 0, 1, 2},  // length past the data
      {0, 0, 1, 0},        // zero length: would loop forever if accepted
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_FALSE(Attributes::Parse(bad[i]).ok()) << "case " << i;
  }
  // Sizes of fixed values are checked; a nested attribute is parsed too.
  const std::vector<uint8_t> short_u32 = {6, 0, 1, 0, 1, 2, 0, 0, 7, 0, 2, 0, 4, 0, 0, 0};
  const Result<Attributes> attributes = Attributes::Parse(short_u32);
  ASSERT_TRUE(attributes.ok()) << attributes.status().message();
  EXPECT_FALSE(attributes->U32(1).ok());
  EXPECT_EQ(attributes->U32(9).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(attributes->Nested(2).ok());  // 3 bytes of "nested" data
}

TEST(NetlinkMessage, TruncatedFamilyHeaderIsAnError) {
  NetlinkMessage message(RTM_NEWLINK, 0);
  const uint8_t partial[4] = {};
  message.AppendPadded(partial, sizeof(partial));
  EXPECT_FALSE(ParseLinkMessage(Single(message.bytes())).ok());
  EXPECT_FALSE(ParseAddressMessage(Single(message.bytes())).ok());
  EXPECT_FALSE(ParseRouteMessage(Single(message.bytes())).ok());
  EXPECT_FALSE(ParseNeighbourMessage(Single(message.bytes())).ok());
}

NetlinkMessage ErrorMessage(int error, uint16_t flags) {
  NetlinkMessage message(NLMSG_ERROR, 0);
  nlmsgerr header{};
  header.error = error;
  header.msg.nlmsg_len = NLMSG_HDRLEN;
  message.AppendHeader(header);
  message.AddFlags(flags);
  return message;
}

TEST(NetlinkMessage, ErrorsCarryTheOperationAndKernelText) {
  EXPECT_TRUE(StatusFromError(Single(ErrorMessage(0, 0).bytes()), "op").ok());
  const Status exists =
      StatusFromError(Single(ErrorMessage(-EEXIST, 0).bytes()), "RTM_NEWADDR 10.0.0.2/24 on eth0");
  EXPECT_EQ(exists.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(exists.message(), "RTM_NEWADDR 10.0.0.2/24 on eth0: File exists");
  EXPECT_EQ(StatusFromError(Single(ErrorMessage(-ENODEV, 0).bytes()), "op").code(),
            StatusCode::kNotFound);

  NetlinkMessage with_text = ErrorMessage(-EINVAL, NLM_F_CAPPED | NLM_F_ACK_TLVS);
  with_text.AddString(NLMSGERR_ATTR_MSG, "TC classifier not found");
  EXPECT_EQ(StatusFromError(Single(with_text.bytes()), "op").message(),
            "op: Invalid argument (kernel: TC classifier not found)");

  // Not capped: the echoed request's length decides where the TLVs start;
  // one that claims to be longer than the message yields no text, no read.
  NetlinkMessage lying = ErrorMessage(-EINVAL, NLM_F_ACK_TLVS);
  lying.AddString(NLMSGERR_ATTR_MSG, "x");
  std::vector<uint8_t> bytes = Copy(lying.bytes());
  const uint32_t huge = 0xfffffff0;
  std::memcpy(bytes.data() + NLMSG_HDRLEN + offsetof(nlmsgerr, msg), &huge, sizeof(huge));
  EXPECT_EQ(StatusFromError(Single(bytes), "op").message(), "op: Invalid argument");

  EXPECT_FALSE(StatusFromError(Single(NetlinkMessage(NLMSG_ERROR, 0).bytes()), "op").ok());
  EXPECT_FALSE(StatusFromError(Single(ErrorMessage(5, 0).bytes()), "op").ok());
}

// Random corruption of valid messages never crashes the parsers (under the
// sanitizer build it would also catch any out-of-bounds read).
TEST(NetlinkMessage, SurvivesRandomCorruption) {
  std::vector<uint8_t> valid = Copy(VethLinkMessage().bytes());
  const NetlinkMessage second = VethLinkMessage();
  valid.insert(valid.end(), second.bytes().begin(), second.bytes().end());
  std::mt19937 random(42);
  size_t parsed = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> bytes = valid;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; ++i) bytes[random() % bytes.size()] = static_cast<uint8_t>(random());
    if (random() % 4 == 0) bytes.resize(random() % bytes.size());
    const Result<std::vector<NetlinkMessageView>> messages = SplitMessages(bytes);
    if (!messages.ok()) continue;
    for (const NetlinkMessageView& message : *messages) {
      parsed += ParseLinkMessage(message).ok();
      (void)ParseAddressMessage(message);
      (void)ParseRouteMessage(message);
      (void)ParseNeighbourMessage(message);
      (void)StatusFromError(message, "fuzz");
      (void)StatusFromDone(message, "fuzz");
    }
  }
  EXPECT_GT(parsed, 0u);  // the corruption did not make every input trivially invalid
}

}  // namespace
}  // namespace sandbox::net
