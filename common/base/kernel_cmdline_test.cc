#include "common/base/kernel_cmdline.h"

#include <gtest/gtest.h>

namespace sandbox {
namespace {

TEST(KernelCmdlineTest, TheLastWordThatSetsTheParameterCounts) {
  EXPECT_EQ(LastKernelParameter("console=ttyS0 percpu_alloc=page quiet", "percpu_alloc"), "page");
  EXPECT_EQ(LastKernelParameter("percpu_alloc=page percpu_alloc=embed", "percpu_alloc"), "embed");
  EXPECT_EQ(LastKernelParameter("quiet", "quiet"), "");
}

TEST(KernelCmdlineTest, OtherWordsDoNotSetIt) {
  EXPECT_EQ(LastKernelParameter("", "percpu_alloc"), std::nullopt);
  EXPECT_EQ(LastKernelParameter("xpercpu_alloc=page percpu_allocx=page", "percpu_alloc"), std::nullopt);
  EXPECT_EQ(LastKernelParameter("  console=ttyS0  ", "percpu_alloc"), std::nullopt);
}

TEST(KernelCmdlineTest, SpacesInsideQuotesDoNotSplit) {
  EXPECT_EQ(LastKernelParameter("foo=\"a percpu_alloc=page\" quiet", "percpu_alloc"), std::nullopt);
  EXPECT_EQ(LastKernelParameter("foo=\"a b\" bar", "foo"), "a b");
  EXPECT_EQ(LastKernelParameter("\"percpu_alloc=page\"", "percpu_alloc"), "page");
}

}  // namespace
}  // namespace sandbox
