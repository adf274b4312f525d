#include "vmm/config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <thread>

#include "common/base/unique_fd.h"
#include "vmm/virtio/testing/tap.h"

namespace sandbox::vmm {
namespace {

// A minimal valid document with `net` set to the given JSON.
std::string WithNet(const std::string& net) {
  return fmt::format(R"({{"kernel": "/vmlinux", "net": {}}})", net);
}

// The error ParseVmmConfig gives for `net`, or "" if it accepts it.
std::string NetError(const std::string& net) {
  Result<VmmConfig> config = ParseVmmConfig(WithNet(net));
  return config.ok() ? "" : config.status().message();
}

// A boolean key: `fallback` when absent, the other value when given it,
// and an error naming the key when given `wrong` (JSON of another type).
void ExpectBooleanKey(const std::string& key, bool VmmConfig::*field, bool fallback, const std::string& wrong) {
  EXPECT_EQ(ParseVmmConfig(R"({"kernel": "/vmlinux"})").value().*field, fallback) << key;
  const std::string flipped = fallback ? "false" : "true";
  EXPECT_EQ(ParseVmmConfig(R"({"kernel": "/vmlinux", ")" + key + "\": " + flipped + "}").value().*field, !fallback)
      << key;
  Result<VmmConfig> bad = ParseVmmConfig(R"({"kernel": "/vmlinux", ")" + key + "\": " + wrong + "}");
  ASSERT_FALSE(bad.ok()) << key;
  EXPECT_NE(bad.status().message().find(key), std::string::npos) << bad.status().message();
}

TEST(VmmConfigTest, SeccompIsOnUnlessTurnedOffAndMustBeABoolean) {
  ExpectBooleanKey("seccomp", &VmmConfig::seccomp, true, R"("off")");
}

TEST(VmmConfigTest, TheBalloonIsOffUnlessAskedForAndMustBeABoolean) {
  ExpectBooleanKey("balloon", &VmmConfig::balloon, false, R"({"amount_mib": 64})");
}

TEST(VmmConfigTest, ParsesAJailAndNamesEachBadField) {
  Result<VmmConfig> config = ParseVmmConfig(
      R"({"kernel": "/vmlinux", "vsock": {"guest_cid": 3, "uds_path": "/run/s/vm/vsock"},
          "jail": {"root": "/run/s/vm", "uid": 2000000000, "gid": 2000000001}})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->jail.has_value());
  EXPECT_EQ(config->jail->root, "/run/s/vm");
  EXPECT_EQ(config->jail->uid, 2000000000u);
  EXPECT_EQ(config->jail->gid, 2000000001u);
  EXPECT_EQ(config->jail->max_open_files, 1024u);
  EXPECT_FALSE(ParseVmmConfig(R"({"kernel": "/vmlinux"})")->jail.has_value());

  struct Case {
    const char* jail;
    const char* error_start;
  };
  const Case cases[] = {
      {R"("yes")", "jail: must be an object"},
      {R"({"uid": 5, "gid": 5})", "jail.root: required"},
      {R"({"root": "run/s/vm", "uid": 5, "gid": 5})", "jail.root: must be an absolute"},
      {R"({"root": "/run/s/vm/", "uid": 5, "gid": 5})", "jail.root: must be an absolute"},
      {R"({"root": "/run/s/vm", "gid": 5})", "jail.uid: required"},
      {R"({"root": "/run/s/vm", "uid": 0, "gid": 5})", "jail.uid: must be an integer from 1"},
      {R"({"root": "/run/s/vm", "uid": 5, "gid": 4294967295})", "jail.gid: must be an integer from 1"},
      {R"({"root": "/run/s/vm", "uid": 5, "gid": 5, "max_open_files": 3})", "jail.max_open_files: must be"},
      {R"({"root": "/run/s/vm", "uid": 5, "gid": 5, "chroot": true})", "jail.chroot: unknown key"},
      {R"({"root": "/run/other", "uid": 5, "gid": 5})", "vsock.uds_path: /run/s/vm/vsock must be directly in jail.root"},
  };
  for (const Case& c : cases) {
    Result<VmmConfig> bad = ParseVmmConfig(fmt::format(
        R"({{"kernel": "/vmlinux", "vsock": {{"guest_cid": 3, "uds_path": "/run/s/vm/vsock"}}, "jail": {}}})", c.jail));
    ASSERT_FALSE(bad.ok()) << c.jail;
    EXPECT_EQ(bad.status().message().rfind(c.error_start, 0), 0u) << c.jail << ": " << bad.status().message();
  }
}

TEST(VmmConfigNetTest, ParsesNicsWithTheDefaultMtu) {
  Result<VmmConfig> config = ParseVmmConfig(WithNet(
      R"([{"tap_fd": 3, "mac": "02:00:00:00:00:01"}, {"tap_fd": 7, "mac": "0A:bc:DE:f0:12:34", "mtu": 9000}])"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->net.size(), 2u);
  EXPECT_EQ(config->net[0].tap_fd, 3);
  EXPECT_EQ(config->net[0].mac, (std::array<uint8_t, 6>{0x02, 0, 0, 0, 0, 0x01}));
  EXPECT_EQ(config->net[0].mtu, 1500);
  EXPECT_EQ(config->net[1].tap_fd, 7);
  EXPECT_EQ(config->net[1].mac, (std::array<uint8_t, 6>{0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34}));
  EXPECT_EQ(config->net[1].mtu, 9000);
  EXPECT_TRUE(ParseVmmConfig(R"({"kernel": "/vmlinux"})")->net.empty());
}

TEST(VmmConfigNetTest, ErrorsNameTheField) {
  struct Case {
    const char* net;
    const char* error_start;
  };
  const Case cases[] = {
      {R"({"tap_fd": 3})", "net: must be an array"},
      {R"([7])", "net[0]: must be an object"},
      {R"([{"mac": "02:00:00:00:00:01"}])", "net[0].tap_fd: required"},
      {R"([{"tap_fd": 2, "mac": "02:00:00:00:00:01"}])", "net[0].tap_fd: must be an integer from 3"},
      {R"([{"tap_fd": -4, "mac": "02:00:00:00:00:01"}])", "net[0].tap_fd: must be an integer from 3"},
      {R"([{"tap_fd": "3", "mac": "02:00:00:00:00:01"}])", "net[0].tap_fd: must be an integer from 3"},
      {R"([{"tap_fd": 3}])", "net[0].mac: required"},
      {R"([{"tap_fd": 3, "mac": 5}])", "net[0].mac: must be a string"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00"}])", "net[0].mac: \"02:00:00:00:00\" is not a MAC address"},
      {R"([{"tap_fd": 3, "mac": "02-00-00-00-00-01"}])", "net[0].mac: \"02-00-00-00-00-01\" is not a MAC address"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00:0g"}])", "net[0].mac: \"02:00:00:00:00:0g\" is not a MAC address"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:+1:01"}])", "net[0].mac: \"02:00:00:00:+1:01\" is not a MAC address"},
      {R"([{"tap_fd": 3, "mac": "01:00:5e:00:00:01"}])", "net[0].mac: 01:00:5e:00:00:01 is not a unicast address"},
      {R"([{"tap_fd": 3, "mac": "00:00:00:00:00:00"}])", "net[0].mac: 00:00:00:00:00:00 is not a unicast address"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00:01", "mtu": 67}])", "net[0].mtu: must be an integer from 68 to 65521"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00:01", "mtu": 65522}])", "net[0].mtu: must be an integer from 68"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00:01", "mtu": true}])", "net[0].mtu: must be an integer from 68"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00:01", "name": "eth0"}])", "net[0].name: unknown key"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00:01"}, {"tap_fd": 3, "mac": "02:00:00:00:00:02"}])",
       "net[1].tap_fd: 3 is used twice"},
      {R"([{"tap_fd": 3, "mac": "02:00:00:00:00:01"}, {"tap_fd": 4, "mac": "02:00:00:00:00:01"}])",
       "net[1].mac: used twice"},
  };
  for (const Case& test : cases) {
    const std::string error = NetError(test.net);
    EXPECT_TRUE(error.starts_with(test.error_start)) << test.net << " -> " << error;
  }
}

TEST(VmmConfigNetTest, ParsesUnpluggedNicsWithoutATap) {
  Result<VmmConfig> config = ParseVmmConfig(WithNet(
      R"([{"unplugged": true, "mac": "02:00:00:00:00:01", "mtu": 9000}, {"unplugged": true, "mac": "02:00:00:00:00:02"},
          {"tap_fd": 3, "mac": "02:00:00:00:00:03", "unplugged": false}])"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->net.size(), 3u);
  EXPECT_TRUE(config->net[0].unplugged);
  EXPECT_EQ(config->net[0].tap_fd, -1);
  EXPECT_EQ(config->net[0].mtu, 9000);
  EXPECT_TRUE(config->net[1].unplugged) << "two NICs without a fd are no fd used twice";
  EXPECT_EQ(config->net[1].mtu, 1500);
  EXPECT_FALSE(config->net[2].unplugged);
  EXPECT_EQ(config->net[2].tap_fd, 3);
}

TEST(VmmConfigNetTest, AnUnpluggedNicTakesNoTap) {
  struct Case {
    const char* net;
    const char* error;
  };
  const Case cases[] = {
      {R"([{"unplugged": true, "tap_fd": 3, "mac": "02:00:00:00:00:01"}])",
       "net[0].tap_fd: not used with unplugged (the NIC has no TAP)"},
      {R"([{"unplugged": false, "mac": "02:00:00:00:00:01"}])", "net[0].tap_fd: required (or \"unplugged\": true)"},
      {R"([{"unplugged": "yes", "mac": "02:00:00:00:00:01"}])", "net[0].unplugged: must be true or false"},
      {R"([{"unplugged": true}])", "net[0].mac: required"},
      {R"([{"unplugged": true, "mac": "02:00:00:00:00:01"}, {"unplugged": true, "mac": "02:00:00:00:00:01"}])",
       "net[1].mac: used twice"},
  };
  for (const Case& test : cases) EXPECT_EQ(NetError(test.net), test.error) << test.net;
}

TEST(VmmConfigRestoreTest, NicsAreRestoredButNotBlockDevices) {
  constexpr char kRestore[] = R"("restore": {"state": "/t/vm.state", "memory": "/t/vm.mem"})";
  Result<VmmConfig> config = ParseVmmConfig(fmt::format(
      R"({{{}, "net": [{{"tap_fd": 3, "mac": "02:00:00:00:00:01"}}, {{"unplugged": true, "mac": "02:00:00:00:00:02"}}]}})",
      kRestore));
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->restore.has_value());
  EXPECT_EQ(config->net.size(), 2u);
  Result<VmmConfig> block = ParseVmmConfig(fmt::format(R"({{{}, "block": []}})", kRestore));
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.status().message(), "block: virtio devices cannot be restored from a snapshot yet");
}

TEST(VmmConfigNetTest, HostCheckSkipsUnpluggedNics) {
  VmmConfig config;
  config.kernel = "/proc/self/exe";  // any readable file
  config.memory_mib = kMinMemoryMib;
  config.serial = "none";
  config.net.push_back({.mac = {0x02, 0, 0, 0, 0, 1}, .unplugged = true});
  const Status checked = CheckVmmConfigOnHost(config);
  EXPECT_TRUE(checked.ok()) << checked.message();
}

TEST(VmmConfigNetTest, AtMostEightNics) {
  std::vector<std::string> nics;
  for (int i = 0; i < 9; ++i) nics.push_back(fmt::format(R"({{"tap_fd": {}, "mac": "02:00:00:00:00:{:02x}"}})", 3 + i, i + 1));
  EXPECT_EQ(NetError(fmt::format("[{}]", fmt::join(nics.begin(), nics.end() - 1, ","))), "") << "eight are fine";
  EXPECT_EQ(NetError(fmt::format("[{}]", fmt::join(nics, ","))), "net: at most 8 NICs");
}

// ---- the host check on a real TAP -------------------------------------------



// The host check's answer for a config whose only NIC uses `fd`.
std::string HostCheckError(int fd) {
  VmmConfig config;
  config.kernel = "/proc/self/exe";  // any readable file
  config.memory_mib = kMinMemoryMib;
  config.serial = "none";
  config.net.push_back({.tap_fd = fd, .mac = {0x02, 0, 0, 0, 0, 1}});
  const Status checked = CheckVmmConfigOnHost(config);
  return checked.ok() ? "" : checked.message();
}

TEST(VmmConfigNetTest, HostCheckAcceptsOnlyOpenVnetTaps) {
  const std::string outside = testing::InFreshNetworkNamespace([] {
    Result<UniqueFd> tap = testing::OpenTap("sbnet0", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
    ASSERT_TRUE(tap.ok()) << tap.status().message();
    EXPECT_EQ(HostCheckError(tap->get()), "");
    Result<UniqueFd> plain = testing::OpenTap("sbnet1", IFF_TAP | IFF_NO_PI);
    ASSERT_TRUE(plain.ok()) << plain.status().message();
    EXPECT_TRUE(HostCheckError(plain->get()).starts_with("net[0].tap_fd: ")) << HostCheckError(plain->get());
    EXPECT_NE(HostCheckError(plain->get()).find("IFF_VNET_HDR"), std::string::npos);
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    const UniqueFd reader(pipe_fds[0]), writer(pipe_fds[1]);
    EXPECT_NE(HostCheckError(reader.get()).find("net[0].tap_fd: "), std::string::npos) << "a pipe";
    EXPECT_NE(HostCheckError(reader.get()).find("TUNGETIFF"), std::string::npos);
    const int closed = ::dup(reader.get());
    ::close(closed);
    EXPECT_NE(HostCheckError(closed).find("net[0].tap_fd: "), std::string::npos) << "a closed fd";
  });
  EXPECT_EQ(outside, "") << "a network namespace of its own (needs root)";
}

}  // namespace
}  // namespace sandbox::vmm
