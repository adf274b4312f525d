#include "common/image/image_types.h"

#include "common/oci/json_mapping.h"

namespace sandbox::oci::json_detail {

#define SANDBOX_DESCRIBE(Type)                                      \
  template <class V, class S>                                       \
    requires std::same_as<std::remove_const_t<S>, image::Type>      \
  void Describe(V& v, S& s)

SANDBOX_DESCRIBE(Platform) {
  v.Required("architecture", s.architecture);
  v.Required("os", s.os);
  v.Optional("os.version", s.os_version);
  v.Optional("os.features", s.os_features);
  v.Optional("variant", s.variant);
}

SANDBOX_DESCRIBE(Descriptor) {
  v.Required("mediaType", s.media_type);
  v.Required("digest", s.digest);
  v.Required("size", s.size);
  v.Optional("urls", s.urls);
  v.Optional("annotations", s.annotations);
  v.Optional("data", s.data);
  v.Optional("platform", s.platform);
  v.Optional("artifactType", s.artifact_type);
}

SANDBOX_DESCRIBE(Index) {
  v.Required("schemaVersion", s.schema_version);
  v.Optional("mediaType", s.media_type);
  v.Required("manifests", s.manifests);
  v.Optional("annotations", s.annotations);
}

SANDBOX_DESCRIBE(Manifest) {
  v.Required("schemaVersion", s.schema_version);
  v.Optional("mediaType", s.media_type);
  v.Required("config", s.config);
  v.Required("layers", s.layers);
  v.Optional("annotations", s.annotations);
}

SANDBOX_DESCRIBE(EmptyObject) { (void)v, (void)s; }

SANDBOX_DESCRIBE(ContainerConfig) {
  v.Optional("User", s.user);
  v.Optional("ExposedPorts", s.exposed_ports);
  v.Optional("Env", s.env);
  v.Optional("Entrypoint", s.entrypoint);
  v.Optional("Cmd", s.cmd);
  v.Optional("Volumes", s.volumes);
  v.Optional("WorkingDir", s.working_dir);
  v.Optional("Labels", s.labels);
  v.Optional("StopSignal", s.stop_signal);
}

SANDBOX_DESCRIBE(RootFs) {
  v.Required("type", s.type);
  v.Required("diff_ids", s.diff_ids);
}

SANDBOX_DESCRIBE(ImageConfig) {
  v.Optional("created", s.created);
  v.Optional("author", s.author);
  v.Required("architecture", s.architecture);
  v.Required("os", s.os);
  v.Optional("os.version", s.os_version);
  v.Optional("os.features", s.os_features);
  v.Optional("variant", s.variant);
  v.Optional("config", s.config);
  v.Required("rootfs", s.rootfs);
}

SANDBOX_DESCRIBE(LayoutHeader) { v.Required("imageLayoutVersion", s.image_layout_version); }

#undef SANDBOX_DESCRIBE

}  // namespace sandbox::oci::json_detail

namespace sandbox::image {

namespace json = oci::json_detail;

oci::FieldErrors ParseIndex(std::string_view text, Index& out) { return json::ParseDocument(text, out = Index()); }
oci::FieldErrors ParseManifest(std::string_view text, Manifest& out) {
  return json::ParseDocument(text, out = Manifest());
}
oci::FieldErrors ParseImageConfig(std::string_view text, ImageConfig& out) {
  return json::ParseDocument(text, out = ImageConfig());
}
oci::FieldErrors ParseLayoutHeader(std::string_view text, LayoutHeader& out) {
  return json::ParseDocument(text, out = LayoutHeader());
}

std::string IndexToJson(const Index& index) { return json::Encode(index).dump(); }
std::string ManifestToJson(const Manifest& manifest) { return json::Encode(manifest).dump(); }
std::string ImageConfigToJson(const ImageConfig& config) { return json::Encode(config).dump(); }

}  // namespace sandbox::image
