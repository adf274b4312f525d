#include "common/image/convert.h"

#include <gtest/gtest.h>

namespace sandbox::image {
namespace {

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n"
    "nobody:x:65534:65534::/:/bin/false\n";
const char kGroup[] =
    "root:x:0:\n"
    "app:x:1001:\n"
    "audio:x:29:app,other\n"
    "video:x:44:other\n"
    "staff:x:50:app\n";

TEST(ResolveImageUser, NameGivesUidGidAndGroups) {
  ResolvedUser user = ResolveImageUser("app", kPasswd, kGroup).value();
  EXPECT_EQ(user.uid, 1000u);
  EXPECT_EQ(user.gid, 1001u);
  EXPECT_TRUE(user.set_additional_gids);
  EXPECT_EQ(user.additional_gids, (std::vector<uint32_t>{29, 50}));
}

TEST(ResolveImageUser, NumericIsVerbatim) {
  ResolvedUser user = ResolveImageUser("1234:5678", kPasswd, kGroup).value();
  EXPECT_EQ(user.uid, 1234u);
  EXPECT_EQ(user.gid, 5678u);
  EXPECT_FALSE(user.set_additional_gids);
  // A known numeric uid takes its primary group from passwd.
  EXPECT_EQ(ResolveImageUser("1000", kPasswd, kGroup)->gid, 1001u);
  EXPECT_EQ(ResolveImageUser("4242", "", "")->gid, 0u);
}

TEST(ResolveImageUser, NamedGroup) {
  ResolvedUser user = ResolveImageUser("app:video", kPasswd, kGroup).value();
  EXPECT_EQ(user.gid, 44u);
  EXPECT_FALSE(user.set_additional_gids);
  EXPECT_EQ(ResolveImageUser("0:staff", kPasswd, kGroup)->gid, 50u);
}

TEST(ResolveImageUser, UnknownNamesAreErrors) {
  Result<ResolvedUser> user = ResolveImageUser("ghost", kPasswd, kGroup);
  ASSERT_FALSE(user.ok());
  EXPECT_NE(user.status().message().find("no user \"ghost\""), std::string::npos);
  Result<ResolvedUser> group = ResolveImageUser("app:ghosts", kPasswd, kGroup);
  ASSERT_FALSE(group.ok());
  EXPECT_NE(group.status().message().find("no group \"ghosts\""), std::string::npos);
  EXPECT_FALSE(ResolveImageUser("app", "", "").ok());
}

TEST(ConvertImageConfig, FollowsTheConversionRules) {
  ImageConfig image;
  image.os = "linux";
  image.architecture = "amd64";
  image.author = "someone";
  image.created = "2026-01-01T00:00:00Z";
  ContainerConfig config;
  config.entrypoint = StringList{"/entry", "-x"};
  config.cmd = StringList{"arg"};
  config.env = StringList{"FOO=bar"};
  config.working_dir = "/work";
  config.stop_signal = "SIGQUIT";
  config.exposed_ports = std::map<std::string, EmptyObject>{{"80/tcp", {}}, {"53/udp", {}}};
  config.volumes = std::map<std::string, EmptyObject>{{"/data", {}}};
  config.labels = StringMap{{"org.opencontainers.image.author", "label-wins"}, {"x", "y"}};
  image.config = config;
  oci::Spec spec = ConvertImageConfig(image, "/nonexistent").value();
  EXPECT_EQ(*spec.process->args, (StringList{"/entry", "-x", "arg"}));
  ASSERT_EQ(spec.process->env->size(), 2u);
  EXPECT_TRUE(spec.process->env->at(0).starts_with("PATH="));
  EXPECT_EQ(spec.process->env->at(1), "FOO=bar");
  EXPECT_EQ(spec.process->cwd, "/work");
  const StringMap& annotations = *spec.annotations;
  EXPECT_EQ(annotations.at("org.opencontainers.image.os"), "linux");
  EXPECT_EQ(annotations.at("org.opencontainers.image.architecture"), "amd64");
  EXPECT_EQ(annotations.at("org.opencontainers.image.author"), "label-wins");
  EXPECT_EQ(annotations.at("org.opencontainers.image.created"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(annotations.at("org.opencontainers.image.stopSignal"), "SIGQUIT");
  EXPECT_EQ(annotations.at("org.opencontainers.image.exposedPorts"), "53/udp,80/tcp");
  EXPECT_EQ(annotations.at(kVolumesAnnotation), "/data");
  EXPECT_EQ(annotations.at("x"), "y");
  EXPECT_FALSE(spec.process->terminal.value_or(true));
}

TEST(ConvertImageConfig, EnvWithPathIsKeptVerbatim) {
  ImageConfig image;
  image.config = ContainerConfig{};
  image.config->cmd = StringList{"sh"};
  image.config->env = StringList{"PATH=/custom"};
  oci::Spec spec = ConvertImageConfig(image, "/nonexistent").value();
  EXPECT_EQ(*spec.process->env, (StringList{"PATH=/custom"}));
}

TEST(ConvertImageConfig, NothingToRunFallsBackToTheDefaultShell) {
  ImageConfig image;
  oci::Spec spec = ConvertImageConfig(image, "/nonexistent").value();
  EXPECT_EQ(*spec.process->args, (StringList{"sh"}));
}

}  // namespace
}  // namespace sandbox::image
