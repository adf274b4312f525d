#include "shim/microvm/guest_network.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "vmm/config.h"

namespace sandbox::shim {
namespace {

oci::Spec SpecWithNamespaces(std::vector<oci::Namespace> namespaces) {
  oci::Spec spec;
  spec.linux.emplace();
  spec.linux->namespaces = std::move(namespaces);
  return spec;
}

PodTaps TwoTaps() {
  PodTaps taps(2);
  taps[0].interface = {.name = "eth0", .mac = net::MacAddress::Parse("02:aa:bb:cc:dd:01").value(), .mtu = 1400};
  taps[1].interface = {.name = "eth1", .mac = net::MacAddress::Parse("02:aa:bb:cc:dd:02").value(), .mtu = 9000};
  return taps;
}

TEST(GuestNetworkTest, TheNetworkPathIsFoundAndLeftOutOfTheGuestsSpec) {
  const oci::Spec spec = SpecWithNamespaces(
      {{.type = "pid"}, {.type = "network", .path = "/var/run/netns/pod"}, {.type = "mount"}});
  EXPECT_EQ(NetworkNamespacePathOf(spec), "/var/run/netns/pod");
  const oci::Spec guest = WithoutNetworkNamespacePath(spec);
  ASSERT_EQ(guest.linux->namespaces->size(), 2u);
  EXPECT_EQ((*guest.linux->namespaces)[0].type, "pid");
  EXPECT_EQ((*guest.linux->namespaces)[1].type, "mount");
  // A new network namespace (no path) stays: the container gets its own, with loopback only.
  const oci::Spec isolated = SpecWithNamespaces({{.type = "network"}});
  EXPECT_EQ(NetworkNamespacePathOf(isolated), "");
  EXPECT_EQ(WithoutNetworkNamespacePath(isolated).linux->namespaces->size(), 1u);
  EXPECT_EQ(NetworkNamespacePathOf(oci::Spec{}), "");
}

TEST(GuestNetworkTest, EachTapIsANicSandboxVmmAccepts) {
  const std::string nics = NicsJson(TwoTaps());
  EXPECT_EQ(nics, R"([{"mac":"02:aa:bb:cc:dd:01","mtu":1400,"tap_fd":3},{"mac":"02:aa:bb:cc:dd:02","mtu":9000,"tap_fd":4}])");
  // The same shape through sandbox-vmm's own config parser (its host checks, the TAP fds, come at start).
  const std::string config = R"({"kernel": "/k", "cmdline": "", "net": )" + nics + "}";
  Result<vmm::VmmConfig> parsed = vmm::ParseVmmConfig(config);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->net.size(), 2u);
  EXPECT_EQ(parsed->net[1].tap_fd, 4);
  EXPECT_EQ(parsed->net[1].mtu, 9000u);
}

TEST(GuestNetworkTest, AMacOrMtuANicCannotTakeIsRefusedByInterface) {
  net::NetworkConfig config;
  config.interfaces.push_back({.name = "eth0", .mac = net::MacAddress::Parse("02:aa:bb:cc:dd:01").value(), .mtu = 1500});
  EXPECT_TRUE(CheckMirrorable(config).ok());
  config.interfaces[0].mtu = 65535;
  Status refused = CheckMirrorable(config);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("eth0: MTU 65535"), std::string::npos) << refused.message();
  config.interfaces[0].mtu = 1500;
  config.interfaces[0].mac = net::MacAddress::Parse("01:00:5e:00:00:01").value();
  refused = CheckMirrorable(config);
  EXPECT_NE(refused.message().find("eth0: its MAC 01:00:5e:00:00:01"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("multicast"), std::string::npos) << refused.message();
  config.interfaces[0].mac = net::MacAddress::Parse("02:aa:bb:cc:dd:01").value();
  config.interfaces.resize(kMaxNics + 1, config.interfaces[0]);
  refused = CheckMirrorable(config);
  EXPECT_NE(refused.message().find("at most 8"), std::string::npos) << refused.message();
}

TEST(GuestNetworkTest, NothingRecordedIsNothingToDisconnect) {
  TempDir dir = TempDir::CreateOrDie("/tmp/guest-network-");
  EXPECT_TRUE(DisconnectGuestNetwork(SandboxFiles(dir.path())).ok());
}

TEST(GuestNetworkTest, AMalformedRecordIsAnErrorNamingIt) {
  TempDir dir = TempDir::CreateOrDie("/tmp/guest-network-");
  const SandboxFiles files(dir.path());
  ASSERT_TRUE(WriteFileAtomic(files.network, R"({"netns": 7})", 0600).ok());
  const Status status = DisconnectGuestNetwork(files);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(files.network), std::string::npos) << status.message();
}

TEST(GuestNetworkTest, ARecordOfAGoneNamespaceIsRemoved) {
  TempDir dir = TempDir::CreateOrDie("/tmp/guest-network-");
  const SandboxFiles files(dir.path());
  ASSERT_TRUE(WriteFileAtomic(files.network, R"({"netns": "/nonexistent/netns", "interfaces": ["eth0"]})", 0600).ok());
  const Status status = DisconnectGuestNetwork(files);
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_FALSE(PathExists(files.network));
}

// The TAP fds reach a child at 3, 4, ... even when one of them sits at a
// target number already (here the second TAP's fd is 3).
TEST(GuestNetworkTest, TapFdsArePlacedAtTheirNumbersForExec) {
  PodTaps taps = TwoTaps();
  int pipe_a[2], pipe_b[2];
  ASSERT_EQ(::pipe2(pipe_a, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(pipe_b, O_CLOEXEC), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The pipes themselves may be at 3 and 4: move them out of the way first.
    for (int* end : {&pipe_a[0], &pipe_a[1], &pipe_b[0], &pipe_b[1]}) *end = ::fcntl(*end, F_DUPFD_CLOEXEC, 100);
    // The second TAP sits at fd 3, the first TAP's target: moving the first
    // one there without parking would lose it.
    if (::dup2(pipe_b[0], 3) != 3) ::_exit(6);
    taps[1].fd.Reset(3);
    taps[0].fd.Reset(::fcntl(pipe_a[0], F_DUPFD_CLOEXEC, 10));
    if (!PlaceTapFdsForExec(taps)) ::_exit(2);
    // Inheritable, and each the right pipe: a byte on pipe A reads on 3, on B on 4.
    if ((::fcntl(3, F_GETFD) & FD_CLOEXEC) != 0 || (::fcntl(4, F_GETFD) & FD_CLOEXEC) != 0) ::_exit(3);
    char byte = 0;
    if (::write(pipe_a[1], "a", 1) != 1 || ::read(3, &byte, 1) != 1 || byte != 'a') ::_exit(4);
    if (::write(pipe_b[1], "b", 1) != 1 || ::read(4, &byte, 1) != 1 || byte != 'b') ::_exit(5);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace sandbox::shim
