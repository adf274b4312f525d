#include "common/image/unpack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/image/test_layout_builder.h"

namespace sandbox::image {
namespace {

using namespace sandbox::image::testing;
using Json = nlohmann::json;

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override { layout_ = std::make_unique<LayoutBuilder>(dir_ + "/layout"); }

  Result<UnpackResult> Unpack(const std::string& reference_suffix = "", const std::string& bundle_name = "bundle",
                              std::optional<PlatformSelector> platform = std::nullopt) {
    return UnpackImage({.reference = layout_->dir() + reference_suffix,
                        .bundle = dir_ + "/" + bundle_name,
                        .platform = platform,
                        .rootfs_image = std::nullopt,
                        .cache_dir = dir_ + "/cache",
                        .layers = {}});
  }
  std::string Rootfs() const { return dir_ + "/bundle/rootfs"; }
  std::string Read(const std::string& relative) const { return ReadFile(Rootfs() + "/" + relative).value_or("<missing>"); }
  bool Exists(const std::string& relative) const { return PathExists(Rootfs() + "/" + relative); }
  Json Config() const { return Json::parse(ReadFile(dir_ + "/bundle/config.json").value()); }

  // Only the layout and the cache may remain beside a failed bundle.
  void ExpectNoBundleLeft() {
    EXPECT_FALSE(PathExists(dir_ + "/bundle"));
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      std::string name = entry.path().filename();
      EXPECT_TRUE(name == "layout" || name == "cache" || name == "outside") << "left behind: " << name;
    }
  }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-unpack-");
  const std::string dir_ = temp_.path();
  std::unique_ptr<LayoutBuilder> layout_;
};

TEST_F(UnpackTest, SingleLayerTreeWithMetadata) {
  TarEntry script = File("usr/bin/run", "#!/bin/sh\necho hi\n", 04755);
  script.uid = 1000;
  script.gid = 1001;
  script.mtime = 1600000000;
  TarEntry tagged = File("etc/tagged", "x");
  tagged.xattrs["user.sandbox"] = "value";
  TarEntry fifo;
  fifo.path = "run/fifo";
  fifo.kind = TarEntry::Kind::kFifo;
  fifo.mode = 0640;
  TarEntry null_device;
  null_device.path = "dev/null";
  null_device.kind = TarEntry::Kind::kCharDevice;
  null_device.dev_major = 1;
  null_device.dev_minor = 3;
  null_device.mode = 0666;
  auto layer = layout_->AddLayer({Dir("usr"), Dir("usr/bin", 0711), script, Dir("etc"), tagged,
                                  Symlink("usr/bin/sh-link", "run"), Symlink("abs", "/etc/tagged"), Dir("run"), fifo,
                                  Dir("dev"), null_device});
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Read("usr/bin/run"), "#!/bin/sh\necho hi\n");
  struct stat st;
  ASSERT_EQ(::lstat((Rootfs() + "/usr/bin/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  ASSERT_EQ(::lstat((Rootfs() + "/usr/bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);  // set after its children
  EXPECT_EQ(std::filesystem::read_symlink(Rootfs() + "/usr/bin/sh-link"), "run");
  EXPECT_EQ(std::filesystem::read_symlink(Rootfs() + "/abs"), "/etc/tagged");
  char value[16] = {};
  ASSERT_EQ(::getxattr((Rootfs() + "/etc/tagged").c_str(), "user.sandbox", value, sizeof(value)), 5);
  EXPECT_STREQ(value, "value");
  ASSERT_EQ(::lstat((Rootfs() + "/run/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::lstat((Rootfs() + "/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
  Json config = Config();
  EXPECT_EQ(config["root"]["path"], "rootfs");
  EXPECT_EQ(config["process"]["args"], Json::array({"/bin/sh"}));
}

TEST_F(UnpackTest, PlainGzipAndZstdLayersGiveTheSameTree) {
  std::vector<TarEntry> entries = {Dir("a"), File("a/f", std::string(100000, 'z')), File("b", "bee")};
  auto plain = layout_->AddLayer(entries, LayerCompression::kNone);
  auto gzip = layout_->AddLayer({File("c", "gz")}, LayerCompression::kGzip);
  auto zstd = layout_->AddLayer({File("d", "zs")}, LayerCompression::kZstd);
  layout_->Finish({layout_->AddImage({plain, gzip, zstd})});
  Result<UnpackResult> result = Unpack();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Read("a/f"), std::string(100000, 'z'));
  EXPECT_EQ(Read("b"), "bee");
  EXPECT_EQ(Read("c"), "gz");
  EXPECT_EQ(Read("d"), "zs");
}

TEST_F(UnpackTest, WhiteoutsAndOpaqueDirectoriesAcrossThreeLayers) {
  auto base = layout_->AddLayer({Dir("etc"), File("etc/keep", "1"), File("etc/drop", "1"), Dir("opaque"),
                                 File("opaque/old", "1"), Dir("opaque/olddir"), File("opaque/olddir/x", "1"),
                                 Dir("gone"), File("gone/inner", "1")});
  auto middle = layout_->AddLayer({File("etc/.wh.drop", ""), File("gone/.wh..wh..opq", ""), File("gone/new", "2"),
                                   File("opaque/mid", "2")});
  // The opaque marker comes after this layer's own file: the file must survive.
  auto top = layout_->AddLayer({File("opaque/top", "3"), File("opaque/.wh..wh..opq", ""), File(".wh.gone", ""),
                                File("etc/keep", "3")});
  layout_->Finish({layout_->AddImage({base, middle, top})});
  Result<UnpackResult> result = Unpack();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Read("etc/keep"), "3");
  EXPECT_FALSE(Exists("etc/drop"));
  EXPECT_FALSE(Exists("etc/.wh.drop"));
  EXPECT_FALSE(Exists("gone"));
  EXPECT_EQ(Read("opaque/top"), "3");
  EXPECT_FALSE(Exists("opaque/old"));
  EXPECT_FALSE(Exists("opaque/olddir"));
  EXPECT_FALSE(Exists("opaque/mid"));
  EXPECT_FALSE(Exists("opaque/.wh..wh..opq"));
}

TEST_F(UnpackTest, HardLinksShareTheInode) {
  auto layer = layout_->AddLayer({Dir("bin"), File("bin/busybox", "bb", 0755), Hardlink("bin/ls", "bin/busybox"),
                                  Hardlink("bin/cat", "/bin/busybox")});
  layout_->Finish({layout_->AddImage({layer})});
  ASSERT_TRUE(Unpack().ok());
  struct stat a, b, c;
  ASSERT_EQ(::stat((Rootfs() + "/bin/busybox").c_str(), &a), 0);
  ASSERT_EQ(::stat((Rootfs() + "/bin/ls").c_str(), &b), 0);
  ASSERT_EQ(::stat((Rootfs() + "/bin/cat").c_str(), &c), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_ino, c.st_ino);
  EXPECT_EQ(a.st_nlink, 3u);
}

TEST_F(UnpackTest, DotDotEntriesFailAndWriteNothing) {
  ASSERT_TRUE(MakeDirs(dir_ + "/outside").ok());
  auto layer = layout_->AddLayer({File("ok", "1"), File("../outside/pwned", "x")});
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("\"..\" component"), std::string::npos) << result.status().ToString();
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/outside"));
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, AbsoluteSymlinkCannotCarryWritesOutside) {
  ASSERT_TRUE(MakeDirs(dir_ + "/outside").ok());
  auto first = layout_->AddLayer({Symlink("escape", dir_ + "/outside")});
  auto second = layout_->AddLayer({File("escape/pwned", "x")});
  layout_->Finish({layout_->AddImage({first, second})});
  Result<UnpackResult> result = Unpack();
  EXPECT_FALSE(result.ok());  // the link resolves inside the rootfs, where nothing is
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/outside"));
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, RelativeSymlinkClimbingOutIsClampedToTheRoot) {
  ASSERT_TRUE(MakeDirs(dir_ + "/outside").ok());
  auto layer = layout_->AddLayer({Dir("a"), Symlink("a/up", "../../../../../../.."), File("a/up/landed", "x")});
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Read("landed"), "x");  // "/" of the container is the rootfs
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/outside"));
  EXPECT_FALSE(PathExists(dir_ + "/landed"));
}

TEST_F(UnpackTest, HardLinkOutOfTheRootFails) {
  auto layer = layout_->AddLayer({Hardlink("passwd", "../../../../etc/passwd")});
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("\"..\""), std::string::npos);
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, CorruptBlobIsRejectedWithItsDigest) {
  auto layer = layout_->AddLayer({File("f", "original")}, LayerCompression::kNone);
  layout_->Finish({layout_->AddImage({layer})});
  std::string blob = ReadFile(layout_->BlobPath(layer.descriptor)).value();
  blob[blob.find("original")] = 'O';  // same size, different bytes
  ASSERT_TRUE(WriteFileAtomic(layout_->BlobPath(layer.descriptor), blob).ok());
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("layer " + layer.descriptor.digest), std::string::npos);
  EXPECT_NE(result.status().message().find("blob digest is"), std::string::npos) << result.status().ToString();
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, SizeMismatchIsRejected) {
  auto layer = layout_->AddLayer({File("f", "data")});
  layer.descriptor.size += 1;
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("descriptor says"), std::string::npos) << result.status().ToString();
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, DiffIdMismatchIsRejected) {
  auto layer = layout_->AddLayer({File("f", "data")});
  auto other = layout_->AddLayer({File("g", "other")});
  layer.diff_id = other.diff_id;
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("does not match diff_id"), std::string::npos) << result.status().ToString();
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, ManifestDigestMismatchIsRejected) {
  auto layer = layout_->AddLayer({File("f", "data")});
  Descriptor manifest = layout_->AddImage({layer});
  std::string text = ReadFile(layout_->BlobPath(manifest)).value();
  text[text.size() - 1] = ' ';  // still valid JSON? no matter: the digest fails first
  ASSERT_TRUE(WriteFileAtomic(layout_->BlobPath(manifest), text).ok());
  layout_->Finish({manifest});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("blob " + manifest.digest + ": content digest is"), std::string::npos)
      << result.status().ToString();
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, UnknownLayerMediaTypeIsRejected) {
  auto layer = layout_->AddLayer({File("f", "data")});
  layer.descriptor.media_type = "application/vnd.example.layer.v1.tar+lz4";
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("unsupported layer media type \"application/vnd.example.layer.v1.tar+lz4\""),
            std::string::npos)
      << result.status().ToString();
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, GzipMediaTypeOnPlainBlobIsRejected) {
  auto layer = layout_->AddLayer({File("f", "data")}, LayerCompression::kNone);
  layer.descriptor.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  layout_->Finish({layout_->AddImage({layer})});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("not compressed"), std::string::npos) << result.status().ToString();
}

TEST_F(UnpackTest, NondistributableAndDockerMediaTypesAreAccepted) {
  auto first = layout_->AddLayer({File("a", "1")}, LayerCompression::kGzip);
  first.descriptor.media_type = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  auto second = layout_->AddLayer({File("b", "2")}, LayerCompression::kNone);
  second.descriptor.media_type = "application/vnd.oci.image.layer.nondistributable.v1.tar";
  layout_->Finish({layout_->AddImage({first, second})});
  Result<UnpackResult> result = Unpack();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Read("a") + Read("b"), "12");
}

TEST_F(UnpackTest, MultiPlatformIndexSelection) {
  auto amd = layout_->AddLayer({File("arch", "amd64")});
  auto arm = layout_->AddLayer({File("arch", "arm64")});
  Descriptor index = layout_->AddIndex({layout_->AddImage({arm}, "{}", "arm64"), layout_->AddImage({amd}, "{}", "amd64")});
  layout_->Finish({LayoutBuilder::WithTag(index, "multi")});
  ASSERT_TRUE(Unpack(":multi", "bundle", PlatformSelector{"linux", "amd64", std::nullopt}).ok());
  EXPECT_EQ(Read("arch"), "amd64");
  Result<UnpackResult> arm_result = Unpack(":multi", "arm-bundle", PlatformSelector{"linux", "arm64", std::nullopt});
  ASSERT_TRUE(arm_result.ok()) << arm_result.status().ToString();
  EXPECT_EQ(ReadFile(dir_ + "/arm-bundle/rootfs/arch").value(), "arm64");
  Result<UnpackResult> missing = Unpack(":multi", "s390x", PlatformSelector{"linux", "s390x", std::nullopt});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no image for platform linux/s390x"), std::string::npos);
  EXPECT_NE(missing.status().message().find("available: linux/arm64, linux/amd64"), std::string::npos)
      << missing.status().ToString();
}

TEST_F(UnpackTest, NestedIndexIsFollowed) {
  auto amd = layout_->AddLayer({File("nested", "yes")});
  Descriptor inner = layout_->AddIndex({layout_->AddImage({amd}, "{}", "amd64")});
  Descriptor outer = layout_->AddIndex({inner});
  layout_->Finish({LayoutBuilder::WithTag(outer, "nested")});
  Result<UnpackResult> result = Unpack(":nested", "bundle", PlatformSelector{"linux", "amd64", std::nullopt});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Read("nested"), "yes");
}

TEST_F(UnpackTest, TagAndDigestReferences) {
  auto one = layout_->AddLayer({File("which", "one")});
  auto two = layout_->AddLayer({File("which", "two")});
  Descriptor first = LayoutBuilder::WithTag(layout_->AddImage({one}), "one");
  Descriptor second = LayoutBuilder::WithTag(layout_->AddImage({two}), "two");
  layout_->Finish({first, second});
  ASSERT_TRUE(Unpack(":two").ok());
  EXPECT_EQ(Read("which"), "two");
  Result<UnpackResult> by_digest = Unpack("@" + first.digest, "by-digest");
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();
  EXPECT_EQ(by_digest->manifest_digest, first.digest);
  EXPECT_EQ(ReadFile(dir_ + "/by-digest/rootfs/which").value(), "one");
  Result<UnpackResult> unknown = Unpack(":three", "none");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("has no tag \"three\""), std::string::npos);
  Result<UnpackResult> ambiguous = Unpack("", "none");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find("holds 2 images"), std::string::npos) << ambiguous.status().ToString();
}

TEST_F(UnpackTest, UserByNameIsResolvedAgainstTheImage) {
  auto layer = layout_->AddLayer({Dir("etc"), File("etc/passwd", "root:x:0:0::/root:/bin/sh\nweb:x:33:34::/:/bin/sh\n"),
                                  File("etc/group", "root:x:0:\nwww:x:34:\nlog:x:4:web\n")});
  layout_->Finish({layout_->AddImage(
      {layer}, R"({"config":{"User":"web","Entrypoint":["/srv"],"Cmd":["-v"],"Env":["A=1"],"WorkingDir":"/srv"}})")});
  Result<UnpackResult> result = Unpack();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  Json config = Config();
  EXPECT_EQ(config["process"]["user"]["uid"], 33);
  EXPECT_EQ(config["process"]["user"]["gid"], 34);
  EXPECT_EQ(config["process"]["user"]["additionalGids"], Json::array({4}));
  EXPECT_EQ(config["process"]["args"], Json::array({"/srv", "-v"}));
  EXPECT_EQ(config["process"]["cwd"], "/srv");
  EXPECT_EQ(config["annotations"]["org.opencontainers.image.architecture"], "amd64");
}

TEST_F(UnpackTest, UnknownUserFailsTheUnpack) {
  auto layer = layout_->AddLayer({Dir("etc"), File("etc/passwd", "root:x:0:0::/root:/bin/sh\n")});
  layout_->Finish({layout_->AddImage({layer}, R"({"config":{"User":"nobody-here"}})")});
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("no user \"nobody-here\""), std::string::npos);
  ExpectNoBundleLeft();
}

TEST_F(UnpackTest, ExistingNonEmptyBundleIsRefused) {
  layout_->Finish({layout_->AddImage({layout_->AddLayer({File("f", "1")})})});
  ASSERT_TRUE(MakeDirs(dir_ + "/bundle").ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/bundle/precious", "keep").ok());
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(dir_ + "/bundle/precious").value(), "keep");
  ASSERT_TRUE(RemoveTree(dir_ + "/bundle").ok());
  ASSERT_TRUE(MakeDirs(dir_ + "/bundle").ok());  // an empty directory is fine
  EXPECT_TRUE(Unpack().ok());
}

TEST_F(UnpackTest, MissingLayoutPiecesAreNamed) {
  Result<UnpackResult> result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("oci-layout"), std::string::npos) << result.status().ToString();
  ASSERT_TRUE(WriteFileAtomic(layout_->dir() + "/oci-layout", R"({"imageLayoutVersion":"2.0.0"})").ok());
  ASSERT_TRUE(WriteFileAtomic(layout_->dir() + "/index.json", R"({"schemaVersion":2,"manifests":[]})").ok());
  result = Unpack();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("unsupported imageLayoutVersion"), std::string::npos);
}

TEST_F(UnpackTest, ErofsRootfsImageIsCachedByManifestDigest) {
  layout_->Finish({layout_->AddImage({layout_->AddLayer({Dir("etc"), File("etc/hostname", "erofs\n")})})});
  UnpackOptions options{.reference = layout_->dir(),
                        .bundle = dir_ + "/bundle",
                        .platform = std::nullopt,
                        .rootfs_image = RootfsImageFormat::kErofs,
                        .cache_dir = dir_ + "/cache",
                        .layers = {}};
  Result<UnpackResult> first = UnpackImage(options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->cache_hit);
  EXPECT_EQ(first->rootfs_image, dir_ + "/bundle/rootfs.erofs");
  std::string image = ReadFile(first->rootfs_image).value();
  ASSERT_GT(image.size(), 1024u + 4);
  // The erofs superblock magic 0xE0F5E1E2 sits at offset 1024, little endian.
  EXPECT_EQ(static_cast<unsigned char>(image[1024]), 0xE2);
  EXPECT_EQ(static_cast<unsigned char>(image[1027]), 0xE0);
  Json config = Config();
  EXPECT_EQ(config["annotations"]["io.github.sandbox-rt.rootfs-image"], "rootfs.erofs");
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/bundle/rootfs"));

  options.bundle = dir_ + "/second";
  Result<UnpackResult> second = UnpackImage(options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(ReadFile(second->rootfs_image).value(), image);
}

TEST_F(UnpackTest, Ext4RootfsImage) {
  layout_->Finish({layout_->AddImage({layout_->AddLayer({File("hello", "ext4")})})});
  Result<UnpackResult> result = UnpackImage({.reference = layout_->dir(),
                                             .bundle = dir_ + "/bundle",
                                             .platform = std::nullopt,
                                             .rootfs_image = RootfsImageFormat::kExt4,
                                             .cache_dir = dir_ + "/cache",
                                             .layers = {}});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::string image = ReadFile(result->rootfs_image).value();
  // ext4 superblock magic 0xEF53 at offset 1024 + 56.
  ASSERT_GT(image.size(), 1100u);
  EXPECT_EQ(static_cast<unsigned char>(image[1024 + 56]), 0x53);
  EXPECT_EQ(static_cast<unsigned char>(image[1024 + 57]), 0xEF);
}

}  // namespace
}  // namespace sandbox::image
