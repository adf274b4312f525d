#include <algorithm>

#include "common/image/resolve.h"

#include "common/base/file_util.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {
namespace {

// run --image: the image is unpacked once into a bundle cached by its
// manifest digest (<cache>/bundles/<algorithm>-<hex>), then run from there.
// Sharing the bundle is safe: it is created with private_rootfs, so the
// microVM backend copies the rootfs into an image of its own at create and
// the container never writes the bundle (its default shares root.path).
Result<int> RunImage(CliContext& context, shim::CreateOptions options, UnpackArgs unpack, bool detach) {
  SANDBOX_ASSIGN_OR_RETURN(image::ImageReference reference, image::ParseImageReference(unpack.reference));
  image::PlatformSelector platform = image::HostPlatform();
  if (!unpack.platform.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(platform, image::ParsePlatform(unpack.platform));
  }
  SANDBOX_ASSIGN_OR_RETURN(image::ImageLayout layout, image::ImageLayout::Open(reference.layout_dir));
  SANDBOX_ASSIGN_OR_RETURN(image::ResolvedImage resolved, image::ResolveImage(layout, reference, platform));
  std::string key = resolved.manifest_descriptor.digest;
  std::replace(key.begin(), key.end(), ':', '-');
  const std::string cache = (unpack.cache_dir.empty() ? DefaultImageCacheDir() : unpack.cache_dir) + "/bundles";
  SANDBOX_RETURN_IF_ERROR(MakeDirs(cache, 0700));
  unpack.bundle = cache + "/" + key;
  if (!PathExists(unpack.bundle + "/config.json")) {
    Result<image::UnpackResult> unpacked = UnpackImageInto(unpack);
    // A concurrent run may have published the same bundle first.
    if (!unpacked.ok() && !PathExists(unpack.bundle + "/config.json")) return unpacked.status();
  }
  options.bundle = unpack.bundle;
  options.private_rootfs = true;
  return context.runtime().Run(options, detach);
}

}  // namespace

void AddRunCommand(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<shim::CreateOptions>();
  auto detach = std::make_shared<bool>(false);
  auto unpack = std::make_shared<UnpackArgs>();
  CLI::App* command = app.add_subcommand("run", "create and start a container, wait for it, return its exit code");
  AddIdArgument(*command, options->id);
  AddCreateFlags(*command, *options);
  command->add_flag("-d,--detach", *detach, "return once the container has started");
  CLI::Option* image = command->add_option(
      "--image", unpack->reference,
      "run an OCI image layout <layout>[:<tag>|@<digest>] instead of a bundle (unpacked once into a bundle "
      "cached by manifest digest under $SANDBOX_RT_CACHE_DIR/bundles)");
  command->add_option("--platform", unpack->platform, "with --image: os/arch[/variant] (default: this host)")
      ->needs(image);
  command->callback([&context, options, detach, unpack, command] {
    context.action = [&context, options, detach, unpack, command] {
      if (unpack->reference.empty()) {
        Result<int> code = context.runtime().Run(*options, *detach);
        return code.ok() ? *code : Fail(code.status());
      }
      if (command->count("--bundle") > 0) return Fail(InvalidArgument("--image and --bundle: give one of them"));
      Result<int> code = RunImage(context, *options, *unpack, *detach);
      return code.ok() ? *code : Fail(code.status());
    };
  });
}

}  // namespace sandbox::cli
