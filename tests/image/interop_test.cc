// Interoperability with the OCI tools Debian ships: a layout umoci made from a
// rootfs unpacks to the same tree with umoci and with us; skopeo can copy our
// layouts, and what it writes unpacks to the same tree again.
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/base/file_util.h"
#include "common/base/subprocess.h"
#include "common/base/temp_dir.h"
#include "common/image/test_layout_builder.h"
#include "common/image/unpack.h"
#include "tests/image/tree_compare.h"

namespace sandbox::image {
namespace {

using namespace sandbox::image::testing;

class InteropTest : public ::testing::Test {
 protected:

  void Run(const std::vector<std::string>& argv) {
    Result<CommandResult> result = RunCommand(argv);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->exit_code, 0) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ":\n" << result->output;
  }

  void UnpackOurs(const std::string& reference, const std::string& bundle) {
    Result<UnpackResult> result = UnpackImage({.reference = reference,
                                               .bundle = bundle,
                                               .platform = std::nullopt,
                                               .rootfs_image = std::nullopt,
                                               .cache_dir = dir_ + "/cache",
                                               .layers = {}});
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-interop-");
  const std::string dir_ = temp_.path();
};

TEST_F(InteropTest, UmociLayoutUnpacksToTheSameTreeAsUmociUnpack) {
  std::string layout = dir_ + "/layout";
  Run({"umoci", "init", "--layout", layout});
  Run({"umoci", "new", "--image", layout + ":base"});
  Run({"umoci", "unpack", "--image", layout + ":base", dir_ + "/work"});
  // Two layers: a tree with every kind of entry, then deletions and changes.
  std::string rootfs = dir_ + "/work/rootfs";
  ASSERT_TRUE(MakeDirs(rootfs + "/etc").ok());
  ASSERT_TRUE(MakeDirs(rootfs + "/usr/bin").ok());
  ASSERT_TRUE(MakeDirs(rootfs + "/var/lib/app").ok());
  ASSERT_TRUE(WriteFileAtomic(rootfs + "/etc/hostname", "umoci\n").ok());
  ASSERT_TRUE(WriteFileAtomic(rootfs + "/etc/secret", "s", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(rootfs + "/usr/bin/tool", "#!/bin/sh\n", 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(rootfs + "/var/lib/app/old", "old").ok());
  ASSERT_EQ(::symlink("tool", (rootfs + "/usr/bin/alias").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/hostname", (rootfs + "/etc/abs-link").c_str()), 0);
  ASSERT_EQ(::link((rootfs + "/usr/bin/tool").c_str(), (rootfs + "/usr/bin/hard").c_str()), 0);
  ASSERT_EQ(::chown((rootfs + "/var/lib/app").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chmod((rootfs + "/etc/secret").c_str(), 0600), 0);
  Run({"umoci", "repack", "--image", layout + ":base", dir_ + "/work"});
  ASSERT_EQ(::unlink((rootfs + "/var/lib/app/old").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(rootfs + "/var/lib/app/new", "new").ok());
  ASSERT_TRUE(WriteFileAtomic(rootfs + "/etc/hostname", "changed\n").ok());
  Run({"umoci", "repack", "--image", layout + ":base", dir_ + "/work"});

  Run({"umoci", "unpack", "--image", layout + ":base", dir_ + "/theirs"});
  UnpackOurs(layout + ":base", dir_ + "/ours");
  auto theirs = sandbox::testing::DescribeTree(dir_ + "/theirs/rootfs");
  auto ours = sandbox::testing::DescribeTree(dir_ + "/ours/rootfs");
  EXPECT_EQ(ours, theirs);
  EXPECT_EQ(ours.count("/var/lib/app/old"), 0u);
  EXPECT_NE(ours["/etc/hostname"].find("changed"), std::string::npos);
}

TEST_F(InteropTest, SkopeoCopiesOurLayoutAndTheCopyUnpacksTheSame) {
  LayoutBuilder builder(dir_ + "/ours-layout");
  auto base = builder.AddLayer({Dir("app"), File("app/data", "payload"), Symlink("app/link", "data"),
                                Hardlink("app/hard", "app/data")});
  // gzip: Debian's umoci 0.4.7 predates zstd layers (our zstd path is covered by image_test).
  auto top = builder.AddLayer({File("app/.wh.link", ""), File("app/more", "more")}, LayerCompression::kGzip);
  builder.Finish({LayoutBuilder::WithTag(builder.AddImage({base, top}), "v1")});
  Run({"skopeo", "--insecure-policy", "copy", "oci:" + builder.dir() + ":v1", "oci:" + dir_ + "/copied:v1"});
  UnpackOurs(builder.dir() + ":v1", dir_ + "/from-ours");
  UnpackOurs(dir_ + "/copied:v1", dir_ + "/from-copy");
  Run({"umoci", "unpack", "--image", dir_ + "/copied:v1", dir_ + "/umoci-copy"});
  auto original = sandbox::testing::DescribeTree(dir_ + "/from-ours/rootfs");
  EXPECT_EQ(sandbox::testing::DescribeTree(dir_ + "/from-copy/rootfs"), original);
  EXPECT_EQ(sandbox::testing::DescribeTree(dir_ + "/umoci-copy/rootfs"), original);
  EXPECT_EQ(original.count("/app/link"), 0u);
}

}  // namespace
}  // namespace sandbox::image
