#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/image/unpack.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {
namespace {

int RunUnpack(const UnpackArgs& args) {
  Result<image::UnpackResult> result = UnpackImageInto(args);
  if (!result.ok()) return Fail(result.status());
  std::printf("unpacked %s into %s%s\n", result->manifest_digest.c_str(), args.bundle.c_str(),
              result->rootfs_image.empty()
                  ? ""
                  : (" (rootfs image " + result->rootfs_image + (result->cache_hit ? ", from cache)" : ")")).c_str());
  return 0;
}

}  // namespace

std::string DefaultImageCacheDir() {
  const char* configured = std::getenv("SANDBOX_RT_CACHE_DIR");
  return configured != nullptr && *configured != '\0' ? configured : "/var/cache/sandbox-rt/images";
}

Result<image::UnpackResult> UnpackImageInto(const UnpackArgs& args) {
  image::UnpackOptions options;
  options.reference = args.reference;
  options.bundle = args.bundle;
  options.cache_dir = args.cache_dir.empty() ? DefaultImageCacheDir() : args.cache_dir;
  if (!args.platform.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(options.platform, image::ParsePlatform(args.platform));
  }
  if (!args.rootfs_image.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(options.rootfs_image, image::ParseRootfsImageFormat(args.rootfs_image));
  }
  // Owners and device nodes need root; without it files belong to the caller.
  const bool root = ::geteuid() == 0;
  options.layers = {.preserve_ownership = root, .create_devices = root};
  return image::UnpackImage(options);
}

// Our own verb group: OCI image layouts -> runtime bundles.
void AddImageCommand(CLI::App& app, CliContext& context) {
  CLI::App* image = app.add_subcommand("image", "work with OCI image layouts");
  image->require_subcommand(1);
  auto args = std::make_shared<UnpackArgs>();
  CLI::App* unpack = image->add_subcommand("unpack", "unpack <layout>[:<tag>|@<digest>] into a runtime bundle");
  unpack->add_option("image", args->reference, "<layout-dir>[:<tag>|@<digest>]")->required();
  unpack->add_option("bundle", args->bundle, "bundle directory to create (absent or empty)")->required();
  unpack->add_option("--platform", args->platform, "os/arch[/variant] (default: this host)");
  unpack->add_option("--rootfs-image", args->rootfs_image, "also build an erofs or ext4 image of the rootfs")
      ->check(CLI::IsMember({"erofs", "ext4"}));
  unpack->add_option("--cache-dir", args->cache_dir,
                     "rootfs image cache (default $SANDBOX_RT_CACHE_DIR or /var/cache/sandbox-rt/images)");
  unpack->callback([&context, args] { context.action = [args] { return RunUnpack(*args); }; });
}

}  // namespace sandbox::cli
