// Test support for shim/network: pod-specific helpers for a network
// namespace reachable by path (net::testing::ParkedNetns, as a pod's is).
// Builds on common/net/netns_test_util.h, whose PrivateNetnsTest skips
// without root; test frames come from common/net/testing/test_frames.h.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "common/base/status.h"
#include "common/net/address.h"
#include "common/net/ip_address.h"
#include "common/net/link.h"
#include "common/net/netlink_socket.h"
#include "common/net/netns.h"

namespace sandbox::shim::testing {

// Runs `body` with a NetlinkSocket inside the namespace at `path`.
inline void InNetnsAt(const std::string& path,
                      const std::function<void(net::NetlinkSocket&)>& body) {
  const Status status = net::RunInNetns(path, [&]() -> Status {
    SANDBOX_ASSIGN_OR_RETURN(net::NetlinkSocket socket, net::NetlinkSocket::Open());
    body(socket);
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
}

inline void ExpectOk(const Status& status) { EXPECT_TRUE(status.ok()) << status.message(); }

// The index of link `name`, or 0 (with a test failure) when it is missing.
inline int LinkIndex(net::NetlinkSocket& socket, const std::string& name) {
  const Result<net::LinkInfo> link = net::FindLinkByName(socket, name);
  EXPECT_TRUE(link.ok()) << link.status().message();
  return link.ok() ? link->index : 0;
}

// A pod interface as a CNI plugin leaves it: veth `name` <-> `peer`, both
// up, `name` with `mtu` and `address`. Returns their indices.
inline std::pair<int, int> MakePodVeth(net::NetlinkSocket& socket, const std::string& name,
                                       const std::string& peer, uint32_t mtu,
                                       std::string_view address) {
  ExpectOk(net::CreateVethPair(socket, name, peer));
  const int index = LinkIndex(socket, name);
  const int peer_index = LinkIndex(socket, peer);
  ExpectOk(net::SetLinkMtu(socket, index, mtu));
  ExpectOk(net::SetLinkUp(socket, index));
  ExpectOk(net::SetLinkUp(socket, peer_index));
  if (!address.empty()) {
    const Result<net::IpPrefix> prefix = net::IpPrefix::Parse(address);
    EXPECT_TRUE(prefix.ok()) << address;
    if (prefix.ok()) ExpectOk(net::AddAddress(socket, index, *prefix));
  }
  return {index, peer_index};
}

}  // namespace sandbox::shim::testing
