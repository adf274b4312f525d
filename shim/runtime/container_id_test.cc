#include "shim/runtime/container_id.h"

#include <gtest/gtest.h>

namespace sandbox::shim {
namespace {

TEST(ContainerId, AcceptsRuncStyleIds) {
  for (const char* id : {"a", "my-container_1", "x.y+z", "0123456789abcdef", "..a", "a.."}) {
    EXPECT_TRUE(ValidateContainerId(id).ok()) << id;
  }
  EXPECT_TRUE(ValidateContainerId(std::string(1024, 'a')).ok());
}

TEST(ContainerId, RejectsPathsAndOddCharacters) {
  for (const char* id : {"", ".", "..", "a/b", "../etc", "/abs", "a b", "a\nb", "a:b", "ü", "a*"}) {
    Status status = ValidateContainerId(id);
    EXPECT_FALSE(status.ok()) << id;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << id;
  }
  Status too_long = ValidateContainerId(std::string(1025, 'a'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.message().find("1025"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::shim
