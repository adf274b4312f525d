#include "common/image/digest.h"

#include <gtest/gtest.h>

namespace sandbox::image {
namespace {

TEST(Digest, ParsesSha256AndSha512) {
  std::string hex(64, 'a');
  Result<Digest> digest = ParseDigest("sha256:" + hex);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->algorithm, "sha256");
  EXPECT_EQ(digest->ToString(), "sha256:" + hex);
  EXPECT_TRUE(ParseDigest("sha512:" + std::string(128, '0')).ok());
}

TEST(Digest, RejectsMalformed) {
  for (std::string text : {std::string("sha256"), "sha256:" + std::string(63, 'a'), "sha256:" + std::string(64, 'A'),
                           "md5:" + std::string(32, 'a'), "sha256:" + std::string(64, 'g'), std::string("")}) {
    EXPECT_FALSE(ParseDigest(text).ok()) << text;
  }
}

TEST(Digest, HasherMatchesKnownVectors) {
  Hasher sha256 = Hasher::Create("sha256").value();
  sha256.Update("abc", 3);
  EXPECT_EQ(sha256.Finish().hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Hasher sha512 = Hasher::Create("sha512").value();
  sha512.Update("abc", 3);
  EXPECT_EQ(sha512.Finish().hex,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_FALSE(Hasher::Create("sha1").ok());
}

}  // namespace
}  // namespace sandbox::image
