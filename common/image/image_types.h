// The OCI image-spec documents (and their Docker v2 equivalents) as plain
// structs, parsed with the same mapping rules as config.json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/oci/field_error.h"
#include "common/oci/spec.h"

namespace sandbox::image {

using oci::StringList;
using oci::StringMap;
using oci::UnknownFields;

namespace media_type {
inline constexpr std::string_view kLayout = "application/vnd.oci.layout.header.v1+json";
inline constexpr std::string_view kIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
}  // namespace media_type

struct Platform {
  std::string architecture;
  std::string os;
  std::optional<std::string> os_version;  // "os.version"
  std::optional<StringList> os_features;  // "os.features"
  std::optional<std::string> variant;
  UnknownFields unknown;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::optional<StringList> urls;
  std::optional<StringMap> annotations;
  std::optional<std::string> data;
  std::optional<Platform> platform;
  std::optional<std::string> artifact_type;
  UnknownFields unknown;
};

struct Index {
  int32_t schema_version = 0;
  std::optional<std::string> media_type;
  std::vector<Descriptor> manifests;
  std::optional<StringMap> annotations;
  UnknownFields unknown;
};

struct Manifest {
  int32_t schema_version = 0;
  std::optional<std::string> media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<StringMap> annotations;
  UnknownFields unknown;
};

// `{}` values of ExposedPorts and Volumes.
struct EmptyObject {
  UnknownFields unknown;
};

struct ContainerConfig {
  std::optional<std::string> user;
  std::optional<std::map<std::string, EmptyObject>> exposed_ports;
  std::optional<StringList> env;
  std::optional<StringList> entrypoint;
  std::optional<StringList> cmd;
  std::optional<std::map<std::string, EmptyObject>> volumes;
  std::optional<std::string> working_dir;
  std::optional<StringMap> labels;
  std::optional<std::string> stop_signal;
  UnknownFields unknown;
};

struct RootFs {
  std::string type;
  StringList diff_ids;
  UnknownFields unknown;
};

struct ImageConfig {
  std::optional<std::string> created;
  std::optional<std::string> author;
  std::string architecture;
  std::string os;
  std::optional<std::string> os_version;
  std::optional<StringList> os_features;
  std::optional<std::string> variant;
  std::optional<ContainerConfig> config;
  RootFs rootfs;
  UnknownFields unknown;  // history and others
};

struct LayoutHeader {
  std::string image_layout_version;
  UnknownFields unknown;
};

oci::FieldErrors ParseIndex(std::string_view text, Index& out);
oci::FieldErrors ParseManifest(std::string_view text, Manifest& out);
oci::FieldErrors ParseImageConfig(std::string_view text, ImageConfig& out);
oci::FieldErrors ParseLayoutHeader(std::string_view text, LayoutHeader& out);

std::string IndexToJson(const Index& index);
std::string ManifestToJson(const Manifest& manifest);
std::string ImageConfigToJson(const ImageConfig& config);

}  // namespace sandbox::image
