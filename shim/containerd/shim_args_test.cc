#include "shim/containerd/shim_args.h"

#include <gtest/gtest.h>

namespace sandbox::shim::containerd {
namespace {

TEST(ShimArgs, ParsesContainerdsStartCommandLine) {
  // As containerd 1.6 runs a shim: Go flags, then the action.
  Result<ShimArgs> args = ParseShimArgs({"-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock",
                                         "-publish-binary", "/usr/bin/containerd", "-id", "abc", "-debug", "start"});
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_EQ(args->namespace_name, "k8s.io");
  EXPECT_EQ(args->address, "/run/containerd/containerd.sock");
  EXPECT_EQ(args->publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(args->id, "abc");
  EXPECT_TRUE(args->debug);
  EXPECT_EQ(args->action, "start");
}

TEST(ShimArgs, TakesEqualsAndDoubleDashFormsAsGoDoes) {
  Result<ShimArgs> args = ParseShimArgs({"--namespace=default", "-bundle=/b", "--id", "x", "-debug=false", "delete"});
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_EQ(args->namespace_name, "default");
  EXPECT_EQ(args->bundle, "/b");
  EXPECT_EQ(args->id, "x");
  EXPECT_FALSE(args->debug);
  EXPECT_EQ(args->action, "delete");
}

TEST(ShimArgs, RefusesWhatItDoesNotKnowByName) {
  EXPECT_EQ(ParseShimArgs({"-colour", "x"}).status().message(), "unknown flag -colour");
  EXPECT_EQ(ParseShimArgs({"-id"}).status().message(), "flag -id needs a value");
  EXPECT_EQ(ParseShimArgs({"-id", "x", "stop"}).status().message(), "unknown action \"stop\" (want start or delete)");
  EXPECT_FALSE(ParseShimArgs({"start", "delete"}).ok());
}

TEST(ShimArgs, TheServersArgumentsParseBackWithItsSocket) {
  ShimArgs start{.namespace_name = "ns", .address = "/a", .publish_binary = "/p", .id = "i", .debug = true,
                 .action = "start"};
  Result<ShimArgs> serve = ParseShimArgs(ServeArgs(start, "/run/x/shim.sock"));
  ASSERT_TRUE(serve.ok()) << serve.status().message();
  EXPECT_EQ(serve->socket, "/run/x/shim.sock");
  EXPECT_EQ(serve->action, "");
  EXPECT_EQ(serve->namespace_name, "ns");
  EXPECT_EQ(serve->publish_binary, "/p");
  EXPECT_TRUE(serve->debug);
}

}  // namespace
}  // namespace sandbox::shim::containerd
