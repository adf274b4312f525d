#include "common/image/unpack.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "common/base/file_util.h"
#include "common/base/subprocess.h"
#include "common/base/temp_dir.h"
#include "common/image/convert.h"
#include "common/oci/spec_json.h"
#include "common/oci/validate.h"

namespace sandbox::image {
namespace {

// A temporary directory beside `target` (same file system, so it can be
// renamed into place), removed unless released.
Result<TempDir> MakeTempDirBeside(const std::string& target, const char* tag) {
  SANDBOX_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create(target + "." + tag + "-"));
  if (::chmod(dir.path().c_str(), 0755) != 0) return ErrnoStatus("chmod", dir.path());
  return dir;
}

const char* Extension(RootfsImageFormat format) { return format == RootfsImageFormat::kErofs ? "erofs" : "ext4"; }

uint64_t TreeBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    if (it->is_regular_file(error) && !it->is_symlink(error)) total += it->file_size(error);
    total += 4096;  // inode and directory overhead, roughly
  }
  return total;
}

Status BuildRootfsImage(RootfsImageFormat format, const std::string& tree, const std::string& image) {
  std::vector<std::string> argv;
  if (format == RootfsImageFormat::kErofs) {
    argv = {"mkfs.erofs", "--quiet", image, tree};
  } else {
    // ext4 needs a size: the tree plus a third, at least 16 MiB.
    uint64_t bytes = TreeBytes(tree);
    uint64_t kib = std::max<uint64_t>(16 * 1024, (bytes + bytes / 3) / 1024 + 4096);
    argv = {"mkfs.ext4", "-q", "-F", "-d", tree, image, std::to_string(kib) + "k"};
  }
  Result<CommandResult> result = RunCommand(argv);
  if (!result.ok()) {
    return result.status().Wrap(std::string("building the rootfs image (install ") +
                                (format == RootfsImageFormat::kErofs ? "erofs-utils" : "e2fsprogs") + ")");
  }
  if (result->exit_code != 0) {
    return Internal(argv[0] + " exited with " + std::to_string(result->exit_code) + ": " + result->output);
  }
  return Status::Ok();
}

Status CheckBundleTarget(const std::string& bundle) {
  if (!PathExists(bundle)) return Status::Ok();
  std::error_code error;
  if (!IsDirectory(bundle) || !std::filesystem::is_empty(bundle, error)) {
    return AlreadyExists("bundle " + bundle + " exists and is not an empty directory");
  }
  return Status::Ok();
}

Status Publish(const std::string& staging, const std::string& bundle) {
  if (IsDirectory(bundle) && ::rmdir(bundle.c_str()) != 0) return ErrnoStatus("rmdir", bundle);
  if (::rename(staging.c_str(), bundle.c_str()) != 0) return ErrnoStatus("rename", staging + " to " + bundle);
  return Status::Ok();
}

Status LinkOrCopy(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return Status::Ok();
  std::error_code error;
  std::filesystem::copy_file(from, to, error);
  if (error) return Internal("copy " + from + " to " + to + ": " + error.message());
  return Status::Ok();
}

// Unpacks every layer into `rootfs` and converts the config into a Spec.
Result<oci::Spec> BuildTree(const ImageLayout& layout, const ResolvedImage& image, const std::string& rootfs,
                            const LayerApplyOptions& options) {
  SANDBOX_RETURN_IF_ERROR(MakeDirs(rootfs, 0755));
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const Descriptor& layer = image.manifest.layers[i];
    SANDBOX_ASSIGN_OR_RETURN(std::string blob, layout.BlobPath(layer));
    SANDBOX_RETURN_IF_ERROR(ApplyLayer(rootfs, blob, layer, image.config.rootfs.diff_ids[i], options));
  }
  return ConvertImageConfig(image.config, rootfs);
}

Status WriteBundleConfig(const std::string& staging, oci::Spec spec) {
  spec.root->path = "rootfs";
  oci::FieldErrors errors = oci::ValidateSpec(spec, {.bundle_dir = staging, .host_arch = oci::HostOciArch()});
  if (!errors.empty()) return oci::FieldErrorsToStatus("the converted config.json is invalid", errors);
  return WriteFileAtomic(staging + "/config.json", oci::SpecToJson(spec) + "\n", 0644);
}

}  // namespace

Result<RootfsImageFormat> ParseRootfsImageFormat(const std::string& name) {
  if (name == "erofs") return RootfsImageFormat::kErofs;
  if (name == "ext4") return RootfsImageFormat::kExt4;
  return InvalidArgument("--rootfs-image: unknown format \"" + name + "\" (want erofs or ext4)");
}

Result<UnpackResult> UnpackImage(const UnpackOptions& options) {
  SANDBOX_ASSIGN_OR_RETURN(ImageReference reference, ParseImageReference(options.reference));
  SANDBOX_ASSIGN_OR_RETURN(ImageLayout layout, ImageLayout::Open(reference.layout_dir));
  PlatformSelector platform = options.platform.value_or(HostPlatform());
  SANDBOX_ASSIGN_OR_RETURN(ResolvedImage image, ResolveImage(layout, reference, platform));
  std::string bundle = std::filesystem::absolute(options.bundle).lexically_normal().string();
  if (!bundle.empty() && bundle.size() > 1 && bundle.back() == '/') bundle.pop_back();
  SANDBOX_RETURN_IF_ERROR(CheckBundleTarget(bundle));

  SANDBOX_ASSIGN_OR_RETURN(TempDir staging, MakeTempDirBeside(bundle, "partial"));
  UnpackResult result;
  result.manifest_digest = image.manifest_descriptor.digest;

  if (!options.rootfs_image) {
    SANDBOX_ASSIGN_OR_RETURN(oci::Spec spec, BuildTree(layout, image, staging.path() + "/rootfs", options.layers));
    SANDBOX_RETURN_IF_ERROR(WriteBundleConfig(staging.path(), std::move(spec)));
    SANDBOX_RETURN_IF_ERROR(Publish(staging.path(), bundle));
    staging.Release();
    return result;
  }

  // With a rootfs image the bundle holds the image, an empty rootfs/ (the
  // mount point root.path names) and config.json; the tree and the converted
  // config are cached together under the manifest digest.
  RootfsImageFormat format = *options.rootfs_image;
  if (options.cache_dir.empty()) return InvalidArgument("--rootfs-image needs a cache directory");
  SANDBOX_RETURN_IF_ERROR(MakeDirs(options.cache_dir, 0700));
  SANDBOX_ASSIGN_OR_RETURN(Digest manifest_digest, ParseDigest(image.manifest_descriptor.digest));
  std::string cache_base = options.cache_dir + "/" + manifest_digest.algorithm + "-" + manifest_digest.hex;
  std::string cached_image = cache_base + "." + Extension(format);
  std::string cached_config = cache_base + "." + Extension(format) + ".config.json";
  result.cache_hit = PathExists(cached_image) && PathExists(cached_config);
  if (!result.cache_hit) {
    SANDBOX_ASSIGN_OR_RETURN(TempDir scratch, MakeTempDirBeside(cache_base, "tree"));
    SANDBOX_ASSIGN_OR_RETURN(oci::Spec spec, BuildTree(layout, image, scratch.path() + "/rootfs", options.layers));
    std::string temp_image = scratch.path() + "/image";
    SANDBOX_RETURN_IF_ERROR(BuildRootfsImage(format, scratch.path() + "/rootfs", temp_image));
    spec.annotations = spec.annotations.value_or(oci::StringMap{});
    (*spec.annotations)[kRootfsImageFormatAnnotation] = Extension(format);
    SANDBOX_RETURN_IF_ERROR(WriteFileAtomic(cached_config, oci::SpecToJson(spec), 0644));
    if (::rename(temp_image.c_str(), cached_image.c_str()) != 0) return ErrnoStatus("rename", cached_image);
  }
  std::string image_name = std::string("rootfs.") + Extension(format);
  SANDBOX_RETURN_IF_ERROR(LinkOrCopy(cached_image, staging.path() + "/" + image_name));
  SANDBOX_RETURN_IF_ERROR(MakeDirs(staging.path() + "/rootfs", 0755));
  SANDBOX_ASSIGN_OR_RETURN(std::string config_text, ReadFile(cached_config));
  oci::Spec spec;
  oci::FieldErrors errors = oci::ParseSpec(config_text, spec);
  if (!errors.empty()) return oci::FieldErrorsToStatus(cached_config + " is corrupt", errors);
  (*spec.annotations)[kRootfsImageAnnotation] = image_name;
  SANDBOX_RETURN_IF_ERROR(WriteBundleConfig(staging.path(), std::move(spec)));
  SANDBOX_RETURN_IF_ERROR(Publish(staging.path(), bundle));
  staging.Release();
  result.rootfs_image = bundle + "/" + image_name;
  return result;
}

}  // namespace sandbox::image
