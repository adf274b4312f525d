// Test support: runs a test body in a private network namespace with an
// open NetlinkSocket, so tests never touch the host's network. Tests using
// it skip when the process may not create network namespaces.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "common/net/link.h"
#include "common/net/netlink_socket.h"
#include "common/net/netns.h"

namespace sandbox::net::testing {

class PrivateNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
    const Status probe = RunInNewNetns([] { return Status::Ok(); });
    if (!probe.ok()) GTEST_SKIP() << "cannot create a network namespace: " << probe.message();
  }

  // Runs `body` on a thread inside a new network namespace.
  static void InNetns(const std::function<void(NetlinkSocket&)>& body) {
    const Status status = RunInNewNetns([&]() -> Status {
      Result<NetlinkSocket> socket = NetlinkSocket::Open();
      if (!socket.ok()) return socket.status();
      body(*socket);
      return Status::Ok();
    });
    ASSERT_TRUE(status.ok()) << status.message();
  }

  // The index of link `name`, or 0 (with a test failure) when it is missing.
  static int IndexOf(NetlinkSocket& socket, const std::string& name) {
    const Result<LinkInfo> link = FindLinkByName(socket, name);
    EXPECT_TRUE(link.ok()) << link.status().message();
    return link.ok() ? link->index : 0;
  }

  // Creates veth pair `a` <-> `b` and returns their indices.
  static std::pair<int, int> MakeVeth(NetlinkSocket& socket, const std::string& a,
                                      const std::string& b) {
    const Status status = CreateVethPair(socket, a, b);
    EXPECT_TRUE(status.ok()) << status.message();
    return {IndexOf(socket, a), IndexOf(socket, b)};
  }
};

}  // namespace sandbox::net::testing
