#include "common/net/netns.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/net/link.h"
#include "common/net/netlink_socket.h"
#include "common/net/netns_test_util.h"
#include "common/net/testing/parked_netns.h"

namespace sandbox::net {
namespace {

using NetnsTest = testing::PrivateNetnsTest;

std::string CurrentNetns() {
  return std::filesystem::read_symlink("/proc/thread-self/ns/net").string();
}

TEST_F(NetnsTest, RunsInTheNamedNamespaceOnly) {
  testing::ParkedNetns parked;
  ASSERT_TRUE(parked.status().ok()) << parked.status().message();
  // A veth "probe0" in the parked namespace, to look for from inside it.
  const Status probe = RunInNetns(parked.path(), []() -> Status {
    SANDBOX_ASSIGN_OR_RETURN(NetlinkSocket socket, NetlinkSocket::Open());
    return CreateVethPair(socket, "probe0", "probe1");
  });
  ASSERT_TRUE(probe.ok()) << probe.message();
  const std::string before = CurrentNetns();
  std::string inside;
  const Status status = RunInNetns(parked.path(), [&]() -> Status {
    inside = CurrentNetns();
    SANDBOX_ASSIGN_OR_RETURN(NetlinkSocket socket, NetlinkSocket::Open());
    return FindLinkByName(socket, "probe0").status();
  });
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_NE(inside, before);
  EXPECT_EQ(CurrentNetns(), before);
}

TEST_F(NetnsTest, ReturnsTheWorksStatus) {
  const Status status = RunInNewNetns([] { return InvalidArgument("from inside"); });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "from inside");
}

TEST(Netns, ErrorsNameThePath) {
  bool ran = false;
  const Status missing = RunInNetns("/nonexistent/netns", [&] {
    ran = true;
    return Status::Ok();
  });
  EXPECT_FALSE(ran);
  EXPECT_EQ(missing.message(), "open /nonexistent/netns: No such file or directory");
  // A file that is not a namespace: setns refuses it.
  const Status not_netns = RunInNetns("/proc/self/exe", [&] {
    ran = true;
    return Status::Ok();
  });
  EXPECT_FALSE(ran);
  EXPECT_EQ(not_netns.message().rfind("setns /proc/self/exe: ", 0), 0u) << not_netns.message();
}

}  // namespace
}  // namespace sandbox::net
