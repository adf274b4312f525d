#include "common/image/resolve.h"

#include "common/oci/validate.h"

namespace sandbox::image {
namespace {

constexpr int kMaxIndexDepth = 8;
constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

bool IsIndex(const std::string& media_type) {
  return media_type == media_type::kIndex || media_type == media_type::kDockerManifestList;
}
bool IsManifest(const std::string& media_type) {
  return media_type == media_type::kManifest || media_type == media_type::kDockerManifest;
}
bool IsConfig(const std::string& media_type) {
  return media_type == media_type::kConfig || media_type == media_type::kDockerConfig;
}

std::string Describe(const PlatformSelector& platform) {
  return platform.os + "/" + platform.architecture + (platform.variant ? "/" + *platform.variant : "");
}

bool Matches(const Descriptor& descriptor, const PlatformSelector& want) {
  if (!descriptor.platform) return false;
  const Platform& have = *descriptor.platform;
  if (have.os != want.os || have.architecture != want.architecture) return false;
  return !want.variant || have.variant == want.variant;
}

Result<ResolvedImage> LoadManifest(const ImageLayout& layout, const Descriptor& descriptor) {
  SANDBOX_ASSIGN_OR_RETURN(std::string text, layout.ReadBlob(descriptor));
  ResolvedImage image;
  image.manifest_descriptor = descriptor;
  oci::FieldErrors errors = ParseManifest(text, image.manifest);
  if (!errors.empty()) return oci::FieldErrorsToStatus("manifest " + descriptor.digest + " is invalid", errors);
  if (image.manifest.schema_version != 2) {
    return InvalidArgument("manifest " + descriptor.digest + ": schemaVersion must be 2");
  }
  const Descriptor& config = image.manifest.config;
  if (!IsConfig(config.media_type)) {
    return InvalidArgument("manifest " + descriptor.digest + ": config media type \"" + config.media_type +
                           "\" is not an image config");
  }
  SANDBOX_ASSIGN_OR_RETURN(std::string config_text, layout.ReadBlob(config));
  errors = ParseImageConfig(config_text, image.config);
  if (!errors.empty()) return oci::FieldErrorsToStatus("image config " + config.digest + " is invalid", errors);
  if (image.config.rootfs.type != "layers") {
    return InvalidArgument("image config " + config.digest + ": rootfs.type must be \"layers\"");
  }
  if (image.config.rootfs.diff_ids.size() != image.manifest.layers.size()) {
    return InvalidArgument("image config " + config.digest + " lists " +
                           std::to_string(image.config.rootfs.diff_ids.size()) + " diff_ids for " +
                           std::to_string(image.manifest.layers.size()) + " layers");
  }
  return image;
}

Result<ResolvedImage> Follow(const ImageLayout& layout, const Descriptor& descriptor,
                             const PlatformSelector& platform, int depth) {
  if (IsManifest(descriptor.media_type)) return LoadManifest(layout, descriptor);
  if (!IsIndex(descriptor.media_type)) {
    return InvalidArgument("descriptor " + descriptor.digest + ": unsupported media type \"" +
                           descriptor.media_type + "\"");
  }
  if (depth >= kMaxIndexDepth) {
    return InvalidArgument("index " + descriptor.digest + ": indexes nested deeper than " +
                           std::to_string(kMaxIndexDepth));
  }
  SANDBOX_ASSIGN_OR_RETURN(std::string text, layout.ReadBlob(descriptor));
  Index index;
  oci::FieldErrors errors = ParseIndex(text, index);
  if (!errors.empty()) return oci::FieldErrorsToStatus("index " + descriptor.digest + " is invalid", errors);
  for (const Descriptor& child : index.manifests) {
    if (IsIndex(child.media_type) && !child.platform) {
      // A nested index without a platform may hold our platform.
      Result<ResolvedImage> nested = Follow(layout, child, platform, depth + 1);
      if (nested.ok() || nested.status().code() != StatusCode::kNotFound) return nested;
      continue;
    }
    if (Matches(child, platform)) return Follow(layout, child, platform, depth + 1);
  }
  std::string available;
  for (const Descriptor& child : index.manifests) {
    if (child.platform) {
      available += (available.empty() ? "" : ", ") + child.platform->os + "/" + child.platform->architecture +
                   (child.platform->variant ? "/" + *child.platform->variant : "");
    }
  }
  return NotFound("index " + descriptor.digest + " has no image for platform " + Describe(platform) +
                  (available.empty() ? "" : " (available: " + available + ")"));
}

}  // namespace

Result<ImageReference> ParseImageReference(const std::string& text) {
  ImageReference reference;
  size_t at = text.rfind('@');
  if (at != std::string::npos) {
    reference.layout_dir = text.substr(0, at);
    reference.digest = text.substr(at + 1);
    SANDBOX_RETURN_IF_ERROR(ParseDigest(*reference.digest).status().Wrap("image reference " + text));
  } else {
    // A tag follows the last ':' unless that ':' is part of a directory name.
    size_t colon = text.rfind(':');
    size_t slash = text.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      reference.layout_dir = text.substr(0, colon);
      reference.tag = text.substr(colon + 1);
      if (reference.tag->empty()) return InvalidArgument("image reference " + text + ": empty tag");
    } else {
      reference.layout_dir = text;
    }
  }
  if (reference.layout_dir.empty()) return InvalidArgument("image reference " + text + ": no layout directory");
  return reference;
}

Result<PlatformSelector> ParsePlatform(const std::string& text) {
  PlatformSelector platform;
  size_t first = text.find('/');
  if (first == std::string::npos) return InvalidArgument("--platform \"" + text + "\": want os/arch[/variant]");
  platform.os = text.substr(0, first);
  std::string rest = text.substr(first + 1);
  size_t second = rest.find('/');
  platform.architecture = rest.substr(0, second);
  if (second != std::string::npos) platform.variant = rest.substr(second + 1);
  if (platform.os.empty() || platform.architecture.empty() || (platform.variant && platform.variant->empty()) ||
      (platform.variant && platform.variant->find('/') != std::string::npos)) {
    return InvalidArgument("--platform \"" + text + "\": want os/arch[/variant]");
  }
  return platform;
}

PlatformSelector HostPlatform() { return PlatformSelector{"linux", oci::HostOciArch(), std::nullopt}; }

Result<ResolvedImage> ResolveImage(const ImageLayout& layout, const ImageReference& reference,
                                   const PlatformSelector& platform) {
  const std::vector<Descriptor>& top = layout.index().manifests;
  std::vector<const Descriptor*> candidates;
  for (const Descriptor& descriptor : top) {
    if (reference.digest) {
      if (descriptor.digest == *reference.digest) candidates.push_back(&descriptor);
    } else if (reference.tag) {
      if (descriptor.annotations && descriptor.annotations->count(kRefNameAnnotation) &&
          descriptor.annotations->at(kRefNameAnnotation) == *reference.tag) {
        candidates.push_back(&descriptor);
      }
    } else {
      candidates.push_back(&descriptor);
    }
  }
  if (candidates.empty()) {
    std::string what = reference.digest ? "digest " + *reference.digest
                       : reference.tag  ? "tag \"" + *reference.tag + "\""
                                        : std::string("any image");
    return NotFound("image layout " + layout.dir() + " has no " + what);
  }
  if (!reference.digest && !reference.tag && candidates.size() > 1) {
    // Several images and no reference: the platform decides, among those that say.
    std::vector<const Descriptor*> matching;
    for (const Descriptor* candidate : candidates) {
      if (Matches(*candidate, platform)) matching.push_back(candidate);
    }
    if (matching.size() != 1) {
      return InvalidArgument("image layout " + layout.dir() + " holds " + std::to_string(candidates.size()) +
                             " images; name one with <dir>:<tag> or <dir>@<digest>");
    }
    candidates = matching;
  }
  if (candidates.size() > 1) {
    // Several manifests under one tag: pick by platform.
    for (const Descriptor* candidate : candidates) {
      if (Matches(*candidate, platform)) return Follow(layout, *candidate, platform, 0);
    }
    return NotFound("no image for platform " + Describe(platform) + " under that reference");
  }
  return Follow(layout, *candidates.front(), platform, 0);
}

}  // namespace sandbox::image
