#include "vmm/vcpu_report.h"

#include <gtest/gtest.h>

namespace sandbox::vmm {
namespace {

TEST(VcpuReportTest, KernelTextIsTheTopTwoGibibytesBelowModules) {
  EXPECT_TRUE(LooksLikeKernelText(0xffffffff81003e36ULL));
  EXPECT_TRUE(LooksLikeKernelText(0xffffffff80000000ULL));
  EXPECT_FALSE(LooksLikeKernelText(0xffffffffc0000000ULL)) << "modules start here";
  EXPECT_FALSE(LooksLikeKernelText(0xffff888000000000ULL)) << "the direct map";
  EXPECT_FALSE(LooksLikeKernelText(0x7ffd12345678ULL)) << "user space";
  EXPECT_FALSE(LooksLikeKernelText(0));
}

}  // namespace
}  // namespace sandbox::vmm
