// Picks one image out of a layout: by tag or digest, then by platform through
// (possibly nested) indexes, and loads its manifest and config.
#pragma once

#include <optional>
#include <string>

#include "common/base/status.h"
#include "common/image/image_types.h"
#include "common/image/layout.h"

namespace sandbox::image {

// "<dir>", "<dir>:<tag>" or "<dir>@<digest>".
struct ImageReference {
  std::string layout_dir;
  std::optional<std::string> tag;
  std::optional<std::string> digest;
};

Result<ImageReference> ParseImageReference(const std::string& text);

struct PlatformSelector {
  std::string os;
  std::string architecture;
  std::optional<std::string> variant;
};

// "linux/amd64" or "linux/arm64/v8".
Result<PlatformSelector> ParsePlatform(const std::string& text);
PlatformSelector HostPlatform();

struct ResolvedImage {
  Descriptor manifest_descriptor;
  Manifest manifest;
  ImageConfig config;
};

Result<ResolvedImage> ResolveImage(const ImageLayout& layout, const ImageReference& reference,
                                   const PlatformSelector& platform);

}  // namespace sandbox::image
