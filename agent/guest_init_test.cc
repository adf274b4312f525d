#include "agent/guest_init.h"

#include <gtest/gtest.h>

namespace sandbox::agent {
namespace {

TEST(SeedKernelRngTest, AMissingSourceIsNamed) {
  Result<size_t> seeded = SeedKernelRng("/nonexistent/hwrng");
  ASSERT_FALSE(seeded.ok());
  EXPECT_NE(seeded.status().message().find("/nonexistent/hwrng"), std::string::npos) << seeded.status().message();
}

TEST(SeedKernelRngTest, ASilentSourceIsAnErrorAfterItsBound) {
  // An empty file reads EOF forever: no bytes, so nothing is credited.
  Result<size_t> seeded = SeedKernelRng("/dev/null");
  ASSERT_FALSE(seeded.ok());
  EXPECT_NE(seeded.status().message().find("gave no bytes"), std::string::npos) << seeded.status().message();
}

// As root: the bytes are credited to this kernel's pool (mixing urandom's own
// output back in, which is harmless). The guest reads /dev/hwrng instead.
TEST(SeedKernelRngTest, CreditsWhatTheSourceGives) {
  Result<size_t> seeded = SeedKernelRng("/dev/urandom", 48);
  ASSERT_TRUE(seeded.ok()) << seeded.status().message();
  EXPECT_EQ(*seeded, 48u);
}

}  // namespace
}  // namespace sandbox::agent
