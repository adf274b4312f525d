#include "common/oci/version.h"

#include <gtest/gtest.h>

namespace sandbox::oci {
namespace {

TEST(Version, ParsesSemVer) {
  std::optional<SemVer> version = ParseSemVer("1.2.3-rc.1+build.5");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->major, 1u);
  EXPECT_EQ(version->minor, 2u);
  EXPECT_EQ(version->patch, 3u);
  EXPECT_EQ(version->prerelease, "rc.1");
  EXPECT_EQ(version->build, "build.5");
}

TEST(Version, RejectsMalformed) {
  for (const char* text : {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "1.2.3-", "1.2.3+", "v1.2.3",
                           "1.2.3-a..b", "1.2.3-é"}) {
    EXPECT_FALSE(ParseSemVer(text)) << text;
  }
}

TEST(Version, SupportedRange) {
  for (const char* text : {"1.0.0", "1.0.2", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.7", "1.3.0-rc.1"}) {
    EXPECT_TRUE(IsSupportedOciVersion(*ParseSemVer(text))) << text;
  }
  for (const char* text : {"0.6.0", "1.0.0-rc5", "1.4.0", "2.0.0"}) {
    EXPECT_FALSE(IsSupportedOciVersion(*ParseSemVer(text))) << text;
  }
}

}  // namespace
}  // namespace sandbox::oci
