// `sandbox-rt image unpack`: an OCI image layout -> a runtime bundle
// (rootfs/ + config.json), optionally with an erofs/ext4 rootfs image cached
// by manifest digest. All or nothing: the bundle appears only when every blob
// verified and every layer applied.
#pragma once

#include <optional>
#include <string>

#include "common/base/status.h"
#include "common/image/layer_apply.h"
#include "common/image/resolve.h"

namespace sandbox::image {

enum class RootfsImageFormat { kErofs, kExt4 };

Result<RootfsImageFormat> ParseRootfsImageFormat(const std::string& name);

// Annotations a bundle with a rootfs image carries, for the microVM sandbox.
inline constexpr char kRootfsImageAnnotation[] = "io.github.sandbox-rt.rootfs-image";
inline constexpr char kRootfsImageFormatAnnotation[] = "io.github.sandbox-rt.rootfs-image.format";

struct UnpackOptions {
  std::string reference;  // <layout>[:<tag>|@<digest>]
  std::string bundle;     // must not exist, or be an empty directory
  std::optional<PlatformSelector> platform;  // default: this host
  std::optional<RootfsImageFormat> rootfs_image;
  std::string cache_dir;  // rootfs images, by manifest digest
  LayerApplyOptions layers;
};

struct UnpackResult {
  std::string manifest_digest;
  std::string rootfs_image;  // path inside the bundle, when built
  bool cache_hit = false;
};

Result<UnpackResult> UnpackImage(const UnpackOptions& options);

}  // namespace sandbox::image
