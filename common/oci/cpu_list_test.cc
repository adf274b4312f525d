#include "common/oci/cpu_list.h"

#include <gtest/gtest.h>

namespace sandbox::oci {
namespace {

TEST(CpuListTest, CountsAndFindsTheHighest) {
  Result<CpuList> list = ParseCpuList("0-3,5,7-8");
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->count, 7u);
  EXPECT_EQ(list->highest, 8u);
  list = ParseCpuList("4");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->count, 1u);
  EXPECT_EQ(list->highest, 4u);
  list = ParseCpuList("0-65535");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->count, 65536u);
  // A CPU named twice is one CPU (the VM is sized by this count).
  list = ParseCpuList("0-3,2,0-1,3");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->count, 4u);
  EXPECT_EQ(list->highest, 3u);
}

struct BadList {
  const char* text;
  const char* reason;
};

class CpuListRefusesTest : public testing::TestWithParam<BadList> {};

TEST_P(CpuListRefusesTest, WithTheReason) {
  Result<CpuList> list = ParseCpuList(GetParam().text);
  ASSERT_FALSE(list.ok()) << GetParam().text;
  EXPECT_NE(list.status().message().find(GetParam().reason), std::string::npos) << list.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Lists, CpuListRefusesTest,
    testing::Values(BadList{"", "empty"}, BadList{"0-a", "\"a\" is not a number"}, BadList{"a", "not a number"},
                    BadList{"1,", "\"\" is not a number"}, BadList{",1", "\"\" is not a number"},
                    BadList{"0--1", "not a number"}, BadList{"-1", "not a number"}, BadList{"+1", "not a number"},
                    BadList{" 1", "not a number"}, BadList{"3-1", "runs backwards"},
                    // Once an uncaught std::out_of_range that aborted validate, create and update.
                    BadList{"0-99999999999999999999", "is above 65535"},
                    BadList{"99999999999999999999", "is above 65535"}, BadList{"65536", "is above 65535"},
                    BadList{"0-65535,0-65535,0-65535,0-65535,0-65535,0-65535,0-65535,0-65535,0-65535,0-65535,"
                            "0-65535,0-65535,0-65535,0-65535,0-65535,0-65535,0-65535",
                            "spans too many"}));

}  // namespace
}  // namespace sandbox::oci
