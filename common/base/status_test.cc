#include "common/base/status.h"

#include <gtest/gtest.h>

namespace sandbox {
namespace {

Result<int> Half(int value) {
  if (value % 2 != 0) return InvalidArgument("odd value " + std::to_string(value));
  return value / 2;
}

Result<int> Quarter(int value) {
  SANDBOX_ASSIGN_OR_RETURN(int half, Half(value));
  return Half(half);
}

TEST(Status, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.ToString(), "OK");
}

TEST(Status, WrapAddsContextAndKeepsCode) {
  Status status = NotFound("open x: No such file").Wrap("loading bundle");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "loading bundle: open x: No such file");
}

TEST(Status, ErrnoStatusNamesSyscallObjectAndCause) {
  Status status = ErrnoStatus("open", "/nonexistent", ENOENT);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "open /nonexistent: No such file or directory");
  EXPECT_EQ(ErrnoStatus("mkdir", "/x", EEXIST).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoStatus("read", "/x", EIO).code(), StatusCode::kInternal);
}

TEST(Result, PropagatesErrorsThroughAssignOrReturn) {
  EXPECT_EQ(Quarter(8).value(), 2);
  Result<int> failed = Quarter(6);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "odd value 3");
  EXPECT_TRUE(Quarter(4).status().ok());
}

}  // namespace
}  // namespace sandbox
